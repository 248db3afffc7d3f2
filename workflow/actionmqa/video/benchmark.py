"""Clip-decoding speed of each backend, as ratios against baselines timed in the same run.

Absolute clips/s depend on the machine; ratios do not (much). Two baselines:
``full_decode`` decodes every frame of every needed file once (no RGB conversion), which
gives the machine's decode rate; ``floor`` is what no reader can beat, the frames from the
keyframe before each clip's first frame to its last, priced at that rate (DESIGN,
Conventions). ``x_floor`` near 1 means a backend wastes nothing. Both backends' frames are
hashed, so the run also proves they returned identical pixels.

Run: ``python -m actionmqa.video.benchmark --video-root DIR --segments CSV --frames 8 --out perf.json``
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # only the standard library at import: the CLI imports this module
    from actionmqa.video.decoders import Backend
    from actionmqa.video.layout import VideoLayout
    from actionmqa.video.readers import ClipRequest

#: (video, first frame id, last frame id) of one clip
Span = tuple[tuple[str, str], int, int]
#: reader name in the report -> (backend, open a fresh reader per clip)
READERS: dict[str, tuple[Backend, bool]] = {
    "pyav": ("pyav", False),
    "decord": ("decord", False),
    "decord_per_clip": ("decord", True),
}


@dataclass
class FullDecode:
    """Every frame of every file decoded once: the time, the count, and keyframe ids per video."""

    seconds: float = 0.0
    frames: int = 0
    keyframes: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    @property
    def frames_per_sec(self) -> float:
        return self.frames / self.seconds


@dataclass(frozen=True)
class ReaderRun:
    """One timed pass of a reader over all clips; the digest covers every frame, by clip key."""

    seconds: float
    digest: str
    frame_spans: list[Span]


Timed = TypeVar("Timed", FullDecode, ReaderRun)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--video-root", type=Path, required=True)
    parser.add_argument("--layout", choices=("whole", "chunks"), default="whole")
    parser.add_argument("--chunk-sec", type=int, default=15)
    parser.add_argument("--segments", type=Path, nargs="+", required=True, metavar="CSV")
    parser.add_argument("--frames", type=int, default=8, help="frames per clip")
    parser.add_argument("--limit", type=int, default=None, help="first N segments only")
    parser.add_argument("--per-clip", action="store_true", help="also time decord opened once per clip")
    parser.add_argument("--repeats", type=int, default=3, help="time each reader N times, keep the best")
    parser.add_argument("--out", type=Path, required=True, metavar="PERF.json")


def run(args: argparse.Namespace) -> dict:
    from actionmqa.io import write_json
    from actionmqa.video.layout import make_layout
    from actionmqa.video.segments import clip_requests, read_segments

    segments = [segment for path in args.segments for segment in read_segments(path)][: args.limit]
    requests = clip_requests(segments, args.frames)
    layout = make_layout(args.layout, args.video_root, args.chunk_sec)
    videos = sorted({(r.participant_id, r.video_id) for r in requests})
    names = [*READERS][: None if args.per_clip else 2]
    full: FullDecode | None = None
    runs: dict[str, ReaderRun] = {}
    # Interleaved repeats, best of each: background load then hits every measurement alike.
    for _ in range(args.repeats):
        full = _faster(full, time_full_decode(layout, videos))
        for name in names:
            backend, per_clip = READERS[name]
            runs[name] = _faster(runs.get(name), time_reader(layout, backend, requests, per_clip))
    floor_frames = count_floor_frames(runs["pyav"].frame_spans, full.keyframes)
    floor_seconds = floor_frames / full.frames_per_sec
    report = {
        "n_clips": len(requests),
        "frames_per_clip": args.frames,
        "layout": args.layout,
        "timing": f"best of {args.repeats}, one decoder thread",
        "full_decode": {
            "seconds": full.seconds,
            "frames": full.frames,
            "frames_per_sec": full.frames_per_sec,
        },
        "floor": {
            "frames": floor_frames,
            "seconds": floor_seconds,
            "clips_per_sec": len(requests) / floor_seconds,
        },
        "readers": {
            name: {
                "seconds": r.seconds,
                "clips_per_sec": len(requests) / r.seconds,
                "x_floor": r.seconds / floor_seconds,
                "x_full_decode": r.seconds / full.seconds,
            }
            for name, r in runs.items()
        },
        "frames_identical": len({r.digest for r in runs.values()}) == 1,
    }
    write_json(args.out, report)
    return report


def _faster(best: Timed | None, candidate: Timed) -> Timed:
    return candidate if best is None or candidate.seconds < best.seconds else best


def time_full_decode(layout: VideoLayout, videos: Sequence[tuple[str, str]]) -> FullDecode:
    """Decode each file start to end without converting frames; record keyframe ids."""
    import av

    from actionmqa.video.layout import piece_start_frame

    full = FullDecode()
    for video in videos:
        keyframes = full.keyframes.setdefault(video, [])
        for piece in layout.pieces(*video):
            started = time.perf_counter()
            with av.open(str(piece.path)) as container:
                stream = container.streams.video[0]
                stream.codec_context.thread_count = 1  # as the readers decode
                offset = piece_start_frame(piece, float(stream.average_rate))
                for ordinal, frame in enumerate(container.decode(stream)):
                    if frame.key_frame:
                        keyframes.append(offset + ordinal)
                    full.frames += 1
            full.seconds += time.perf_counter() - started
    return full


def time_reader(
    layout: VideoLayout, backend: Backend, requests: Sequence[ClipRequest], reader_per_clip: bool = False
) -> ReaderRun:
    """Read all clips with one reader (or a fresh reader per clip); hashing is not timed."""
    from actionmqa.video.readers import ClipReader

    batches = [[r] for r in requests] if reader_per_clip else [requests]
    clip_digests: dict[str, str] = {}
    spans = []
    hashing = 0.0
    started = time.perf_counter()
    for batch in batches:
        with ClipReader(layout, backend) as reader:
            for clip in reader.clips(batch):
                hash_started = time.perf_counter()
                clip_digests[clip.request.key] = hashlib.sha256(clip.frames.tobytes()).hexdigest()
                video = (clip.request.participant_id, clip.request.video_id)
                spans.append((video, int(clip.frame_ids.min()), int(clip.frame_ids.max())))
                hashing += time.perf_counter() - hash_started
    seconds = time.perf_counter() - started - hashing
    # Keyed and sorted: readers return clips grouped by video, per-clip readers in input order.
    digest = hashlib.sha256("".join(f"{k}:{v};" for k, v in sorted(clip_digests.items())).encode())
    return ReaderRun(seconds, digest.hexdigest(), spans)


def count_floor_frames(spans: Sequence[Span], keyframes: dict[tuple[str, str], list[int]]) -> int:
    """Frames from the keyframe at or before each clip's first id through its last id."""
    total = 0
    for video, first, last in spans:
        keys = keyframes[video]
        key = keys[bisect.bisect_right(keys, first) - 1]
        total += last - key + 1
    return total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m actionmqa.video.benchmark", description=__doc__.splitlines()[0]
    )
    add_arguments(parser)
    report = run(parser.parse_args(argv))
    for name, reader in report["readers"].items():
        print(f"{name:>16}: {reader['clips_per_sec']:7.1f} clips/s  {reader['x_floor']:.2f}x floor")
    floor = report["floor"]["clips_per_sec"]
    print(f"{'floor':>16}: {floor:7.1f} clips/s; identical frames: {report['frames_identical']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
