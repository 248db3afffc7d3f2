"""Check, before any long job, that every video a segment list needs is present and whole.

A missing or truncated video found an hour into an evaluation wastes the hour; probing
opens every file (header, frame rate, chunk lengths) and decodes each video's last frame,
which a truncated file cannot deliver. Segments that run past their video's end are
listed (readers clip them), segments that start after it are errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from tqdm import tqdm

from actionmqa.errors import InputError, csv_line
from actionmqa.video.decoders import Backend, decoder_factory
from actionmqa.video.layout import VideoLayout
from actionmqa.video.segments import Segment
from actionmqa.video.source import VideoInfo, VideoSource


@dataclass(frozen=True)
class PastEnd:
    """A segment whose stop lies after the last frame of its video (clipped when read)."""

    narration_id: str
    video_id: str
    csv: str
    row: int
    stop_sec: float
    last_frame_sec: float


@dataclass(frozen=True)
class ProbeReport:
    videos: dict[tuple[str, str], VideoInfo]
    n_segments: int
    past_end: list[PastEnd]

    def to_json(self) -> dict:
        """A JSON-ready index keyed by video id; no paths, so it is identical across machines."""
        return {
            "n_videos": len(self.videos),
            "n_segments": self.n_segments,
            "n_past_end": len(self.past_end),
            "past_end": [asdict(p) for p in self.past_end],
            "videos": {
                video_id: {
                    "participant_id": participant_id,
                    "fps": info.fps,
                    "n_frames": info.n_frames,
                    "duration_sec": info.duration_sec,
                    "width": info.width,
                    "height": info.height,
                    "n_files": info.n_files,
                }
                for (participant_id, video_id), info in sorted(self.videos.items())
            },
        }


def probe_videos(layout: VideoLayout, segments: Sequence[Segment], backend: Backend = "pyav") -> ProbeReport:
    """Open and tail-check each needed video once, then place every segment against it."""
    open_decoder = decoder_factory(backend)
    videos: dict[tuple[str, str], VideoInfo] = {}
    for video in tqdm(sorted({(s.participant_id, s.video_id) for s in segments}), desc="probe", unit="video"):
        with VideoSource(layout.pieces(*video), open_decoder) as source:
            source.check_files()
            source.frames([source.info.n_frames - 1])
            videos[video] = source.info
    past_end = []
    for segment in segments:
        info = videos[(segment.participant_id, segment.video_id)]
        if segment.start_sec > info.last_frame_sec:
            raise InputError(
                segment.csv,
                f"segment starts at {segment.start_sec:g} s, after the last frame of video "
                f"{segment.video_id} at {info.last_frame_sec:g} s",
                line=csv_line(segment.row),
                key="start_timestamp",
            )
        if segment.stop_sec > info.last_frame_sec:
            past_end.append(
                PastEnd(
                    segment.narration_id,
                    segment.video_id,
                    segment.csv.name,
                    segment.row,
                    segment.stop_sec,
                    info.last_frame_sec,
                )
            )
    return ProbeReport(videos, len(segments), past_end)
