"""``actionmqa video``: chunk whole videos, probe a video tree, time the readers.

Handlers import the decoding stack on use, so ``actionmqa --help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from actionmqa.video import benchmark  # stdlib-only at import time

log = logging.getLogger(__name__)


def register(stages: argparse._SubParsersAction) -> None:
    parser = stages.add_parser("video", help="chunk and probe EK100 videos")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    chunk = verbs.add_parser("chunk", help="re-encode whole videos into <start_sec>.MP4 chunks")
    chunk.add_argument("--video-root", type=Path, required=True, help="<root>/<Pxx>/videos/<video_id>.MP4")
    chunk.add_argument(
        "--out-root", type=Path, required=True, help="writes <root>/<Pxx>/<video_id>.MP4/<s>.MP4"
    )
    chunk.add_argument(
        "--videos-from",
        type=Path,
        nargs="+",
        required=True,
        metavar="CSV",
        help="EK100 segment CSVs; their distinct videos are chunked",
    )
    chunk.add_argument("--chunk-sec", type=int, default=15)
    chunk.add_argument("--fps", type=int, default=30)
    chunk.add_argument("--short-side", type=int, default=None, help="resize so the short side is N (even)")
    chunk.add_argument("--crf", type=int, default=23, help="x264 quality (lower is better)")
    chunk.set_defaults(func=run_chunk)

    probe = verbs.add_parser("probe", help="check every needed video opens; index fps, frames, size")
    probe.add_argument("--video-root", type=Path, required=True)
    probe.add_argument("--layout", choices=("whole", "chunks"), required=True)
    probe.add_argument("--chunk-sec", type=int, default=15)
    probe.add_argument("--segments", type=Path, nargs="+", required=True, metavar="CSV")
    probe.add_argument("--backend", choices=("pyav", "decord"), default="pyav")
    probe.add_argument("--out", type=Path, required=True, metavar="INDEX.json")
    probe.set_defaults(func=run_probe)

    bench = verbs.add_parser("benchmark", help="time pyav vs decord clip reading against in-run baselines")
    benchmark.add_arguments(bench)
    bench.set_defaults(func=benchmark.run)


def run_chunk(args: argparse.Namespace) -> None:
    from actionmqa.video.chunking import chunk_video_tree
    from actionmqa.video.segments import read_videos

    videos = read_videos(args.videos_from)
    chunk_video_tree(
        args.video_root, args.out_root, videos, args.chunk_sec, args.fps, args.short_side, args.crf
    )
    log.info("chunked %d videos into %s", len(videos), args.out_root)


def run_probe(args: argparse.Namespace) -> None:
    from actionmqa.io import write_json
    from actionmqa.video.layout import make_layout
    from actionmqa.video.probe import probe_videos
    from actionmqa.video.segments import read_segments

    segments = [segment for path in args.segments for segment in read_segments(path)]
    layout = make_layout(args.layout, args.video_root, args.chunk_sec)
    report = probe_videos(layout, segments, args.backend)
    write_json(args.out, {"layout": args.layout, **report.to_json()})
    log.info(
        "%d videos, %d segments, %d run past their video's end (listed in %s)",
        len(report.videos),
        report.n_segments,
        len(report.past_end),
        args.out,
    )
