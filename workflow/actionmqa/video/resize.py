"""Optional square resize applied after decoding, identically for every backend.

Each backend's own scaler (decord's bundled FFmpeg, PyAV's) rounds differently, so resizing
inside the decoder would break frame-for-frame agreement between backends. Resizing the
decoded RGB with one scaler keeps it. Models that resize in their own image processor
(LLaVA's does) should leave ``size`` unset and get the file's native frames.
"""

from __future__ import annotations

import numpy as np


def resize_square(frames: np.ndarray, size: int) -> np.ndarray:
    """``[N, H, W, 3]`` uint8 RGB -> ``[N, size, size, 3]`` with area averaging (no aliasing)."""
    import av  # on use only: importing the readers must not load FFmpeg
    from av.video.reformatter import VideoReformatter

    if size < 1:
        raise ValueError(f"resize target must be positive, got {size}")
    scaler = VideoReformatter()  # one scaling context for the clip, not one per frame
    out = np.empty((len(frames), size, size, 3), dtype=np.uint8)
    for slot, frame in enumerate(frames):
        picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        out[slot] = scaler.reformat(picture, width=size, height=size, interpolation="AREA").to_ndarray()
    return out
