"""Write frames as H.264 MP4 (libx264, yuv420p, fixed GOP) with PyAV, deterministically.

x264 output is a pure function of its input and options when it runs single-threaded with no
scene-cut detection, so a world regenerated from the same seed decodes to identical frames.
Frames arrive already in planar YCbCr 4:2:0 (see ``colour``), so nothing is converted here, and
a still shot is handed to the encoder as one frame object as often as it lasts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from actionmqa.io import atomic_open


@dataclass(frozen=True)
class EncoderSettings:
    """x264 settings; ``gop`` frames between keyframes (a seek lands at most this far back)."""

    gop: int = 30
    crf: int = 18
    preset: str = "ultrafast"

    def x264_options(self) -> dict[str, str]:
        return {
            "crf": str(self.crf),
            "preset": self.preset,
            "threads": "1",
            "keyint": str(self.gop),
            "min-keyint": str(self.gop),
            "scenecut": "0",
        }


def is_still(block: np.ndarray) -> bool:
    """A block made with ``np.broadcast_to(frame, (T, ...))``: one frame held T times."""
    return block.shape[0] > 1 and block.strides[0] == 0


def write_mp4(path: Path, blocks: Iterable[np.ndarray], fps: int, settings: EncoderSettings) -> int:
    """Encode blocks of planar 4:2:0 frames (``(T, H * 3 // 2, W)`` uint8) into ``path`` atomically.

    Returns the number of frames written.
    """
    import av

    n_frames = 0
    with atomic_open(path, "wb") as handle, av.open(handle, "w", format="mp4") as container:
        stream = None
        for block in blocks:
            if stream is None:
                stream = _open_stream(container, block.shape[2], block.shape[1] * 2 // 3, fps, settings)
            # Zero-copy frames over the block's memory; x264 copies each picture as it takes it.
            distinct = block[:1] if is_still(block) else block
            frames = [av.VideoFrame.from_numpy_buffer(np.ascontiguousarray(p), "yuv420p") for p in distinct]
            for frame in frames * (len(block) // len(frames)):
                frame.pts = n_frames
                container.mux(stream.encode(frame))
                n_frames += 1
        if stream is not None:
            container.mux(stream.encode(None))
    return n_frames


def _open_stream(container, width: int, height: int, fps: int, settings: EncoderSettings):  # noqa: ANN001, ANN202
    stream = container.add_stream("libx264", rate=fps)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.codec_context.gop_size = settings.gop
    stream.codec_context.thread_count = 1
    stream.options = settings.x264_options()
    return stream
