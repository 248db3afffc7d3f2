"""Video frames as JPEG data URLs, in their true colours.

Upstream encoded decord's RGB frames with ``cv2.imencode``, which reads channels as BGR, so
every frame GPT-4o captioned or answered had red and blue swapped (spec/llavaction.md §2.3).
PIL reads an ``HxWx3`` uint8 array as RGB, so no channel swap happens here.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image


def jpeg_data_url(frame: np.ndarray, quality: int) -> str:
    """``data:image/jpeg;base64,...`` of one RGB uint8 ``HxWx3`` frame."""
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"a frame must be an HxWx3 uint8 RGB array, got {frame.dtype} {frame.shape}")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(frame)).save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def image_parts(frames: Sequence[np.ndarray], quality: int) -> list[dict[str, Any]]:
    """Chat-completions ``image_url`` content parts, one per frame, in order."""
    return [{"type": "image_url", "image_url": {"url": jpeg_data_url(f, quality)}} for f in frames]
