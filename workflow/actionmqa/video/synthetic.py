"""Frame-numbered H.264 test videos: every frame shows its own index as a bit pattern.

Lossy coding changes pixel values, so frame identity cannot be checked by comparing pixels
to a reference; a pattern of black and white blocks survives coding and resizing and reads
back as the exact index. Tests and benchmarks use it to prove a reader returned the frame
it claims, at any seek position and through chunking.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from actionmqa.video.layout import WholeVideoLayout

#: The index is written as 16 bits, two rows of eight blocks across the top of the frame.
INDEX_BITS = 16
_COLUMNS = 8
_DARK, _LIGHT, _BACKGROUND = 16, 235, 110


def pattern_frame(index: int, width: int = 64, height: int = 64) -> np.ndarray:
    """uint8 RGB frame carrying ``index`` plus a moving bar (so inter-frame coding has work)."""
    if not 0 <= index < 2**INDEX_BITS:
        raise ValueError(f"index {index} does not fit in {INDEX_BITS} bits")
    frame = np.full((height, width, 3), _BACKGROUND, dtype=np.uint8)
    block_w, block_h = width // _COLUMNS, height // 4
    for bit in range(INDEX_BITS):
        row, col = divmod(bit, _COLUMNS)
        value = _LIGHT if (index >> bit) & 1 else _DARK
        frame[row * block_h : (row + 1) * block_h, col * block_w : (col + 1) * block_w] = value
    bar = (index * 3) % width
    frame[height // 2 :, bar : bar + max(1, width // 16)] = (200, 60, 90)
    return frame


def read_pattern_index(frame: np.ndarray) -> int:
    """The index a ``pattern_frame`` carries, read at block centres (any resolution)."""
    height, width = frame.shape[:2]
    block_w, block_h = width / _COLUMNS, height / 4
    index = 0
    for bit in range(INDEX_BITS):
        row, col = divmod(bit, _COLUMNS)
        y, x = int((row + 0.5) * block_h), int((col + 0.5) * block_w)
        if frame[y, x].mean() > (_DARK + _LIGHT) / 2:
            index |= 1 << bit
    return index


def write_pattern_video(
    path: Path,
    n_frames: int,
    fps: int | Fraction = 30,
    width: int = 64,
    height: int = 64,
    keyint: int = 15,
    bframes: int = 2,
    crf: int = 12,
    faststart: bool = False,
) -> Path:
    """Write an H.264 MP4 of ``n_frames`` pattern frames; B-frames on, to exercise reordering.

    ``faststart`` puts the index (moov) first, as streaming-friendly files have it; a
    truncated faststart file still opens, which is the harder failure to detect.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {
            "crf": str(crf),
            "x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0:bframes={bframes}",
        }
        for index in range(n_frames):
            frame = av.VideoFrame.from_ndarray(pattern_frame(index, width, height), format="rgb24")
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def write_pattern_tree(
    root: Path, videos: Mapping[tuple[str, str], int], fps: int | Fraction = 30, **options: Any
) -> WholeVideoLayout:
    """A whole-video tree (``<root>/<Pxx>/videos/<vid>.MP4``) of pattern videos, frames per video."""
    layout = WholeVideoLayout(Path(root))
    for (participant_id, video_id), n_frames in videos.items():
        write_pattern_video(layout.path(participant_id, video_id), n_frames, fps, **options)
    return layout
