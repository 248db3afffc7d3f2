"""The rehearsal's EK100 videos: one H.264 MP4 per video the annotations name, at its real duration
and frame rate (``EPIC_100_video_info.csv``), in the official layout ``<root>/<Pxx>/videos/<id>.MP4``.

Frames are tiny (16:9 like the originals) and show what is annotated: a block whose colour is the
verb of the segment running at that moment and whose position is its noun, on a background tinted
per participant. Nothing learns from them; they exist so that every reader, the chunking and the
clip sampling run on files of the real length, rate and container.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd

from actionmqa.ek100.annotations import load_segments, load_video_info
from actionmqa.ek100.schema import SPLIT_FILES, VIDEO_INFO_FILE
from actionmqa.errors import InputError
from actionmqa.io import atomic_open
from actionmqa.video.layout import WholeVideoLayout

log = logging.getLogger(__name__)

#: EK100's videos are 1920x1080; the stand-ins keep the aspect.
WIDTH, HEIGHT = 64, 36
KEYFRAME_S = 2


@dataclass(frozen=True)
class Span:
    """A segment as drawn: seconds, and its verb and noun class ids."""

    start: float
    stop: float
    verb: int
    noun: int


def frame_rate(fps: float) -> Fraction:
    """59.9400599... -> 60000/1001, the rational rate the camera wrote."""
    return Fraction(fps).limit_denominator(1001)


def draw(t: float, spans: Sequence[Span], tint: np.ndarray, width: int, height: int) -> np.ndarray:
    """The frame at ``t`` seconds: the latest-starting segment running then, as a coloured block."""
    frame = np.empty((height, width, 3), np.uint8)
    frame[:] = tint
    running = [s for s in spans if s.start <= t < s.stop]
    if running:
        span = max(running, key=lambda s: s.start)
        colour = np.array([(span.verb * 53) % 256, (span.verb * 97 + 80) % 256, (span.verb * 29 + 160) % 256])
        side = max(4, height // 3)
        x = (span.noun * 7 + int((t - span.start) * 8)) % (width - side)
        y = (span.noun * 3) % (height - side)
        frame[y : y + side, x : x + side] = colour
    return frame


def render_video(
    path: Path, duration: float, fps: Fraction, spans: Sequence[Span], tint: np.ndarray,
    width: int = WIDTH, height: int = HEIGHT,
) -> int:  # fmt: skip
    """Write ``round(duration * fps)`` frames to ``path`` (atomically); returns the frame count."""
    n_frames = round(duration * fps)
    with atomic_open(path, "wb") as handle:
        with av.open(handle, "w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            keyint = max(1, round(KEYFRAME_S * fps))
            stream.options = {"crf": "23", "x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0"}
            for index in range(n_frames):
                image = draw(float(index / fps), spans, tint, width, height)
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = index
                container.mux(stream.encode(frame))
            container.mux(stream.encode())
    return n_frames


def render_videos(annotations: Path, root: Path) -> dict[str, int]:
    """Every video of the train and validation CSVs under ``root``; returns frames per video."""
    info = load_video_info(annotations / VIDEO_INFO_FILE).set_index("video_id")
    segments = pd.concat([load_segments(annotations / name) for name in SPLIT_FILES.values()])
    layout = WholeVideoLayout(Path(root))
    written = {}
    for (participant, video), rows in segments.groupby(["participant_id", "video_id"], sort=True):
        if video not in info.index:
            raise InputError(annotations / VIDEO_INFO_FILE, "video of the annotations not listed", key=video)
        spans = [
            Span(float(r.start_sec), float(r.stop_sec), int(r.verb_class), int(r.noun_class))
            for r in rows.itertuples(index=False)
        ]
        tint = np.array([60 + (int(participant[1:]) * 37) % 120] * 3, np.uint8)
        path = layout.path(participant, video)
        path.parent.mkdir(parents=True, exist_ok=True)
        fps = frame_rate(float(info.at[video, "fps"]))
        written[video] = render_video(path, float(info.at[video, "duration"]), fps, spans, tint)
        log.info("%s: %d frames at %s fps -> %s", video, written[video], fps, path)
    return written
