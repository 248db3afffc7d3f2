"""The renderer paints in the encoder's colour space, BT.601 limited-range YCbCr.

Alpha compositing is linear, so painting YCbCr-converted colours gives exactly the YCbCr of the
RGB picture; converting once per colour instead of once per pixel and frame removes the largest
per-frame cost after x264 itself. BT.601 limited range is what decoders (PyAV, decord) assume
for untagged standard-definition H.264, so decoded RGB matches the sprites' RGB colours.
"""

from __future__ import annotations

import numpy as np

#: Rows give Y, Cb, Cr from 0..255 RGB (before the offsets).
_RGB_TO_YCC = (
    np.array(
        [[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]], dtype=np.float64
    )
    / 255.0
)
_OFFSET = np.array([16.0, 128.0, 128.0])
_YCC_TO_RGB = np.linalg.inv(_RGB_TO_YCC)


def to_ycbcr(rgb: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """RGB (0..255, last axis) -> float32 YCbCr."""
    return (np.asarray(rgb, dtype=np.float64) @ _RGB_TO_YCC.T + _OFFSET).astype(np.float32)


def to_rgb(ycbcr: np.ndarray) -> np.ndarray:
    """YCbCr (last axis) -> float RGB, the inverse of ``to_ycbcr``."""
    return (np.asarray(ycbcr, dtype=np.float64) - _OFFSET) @ _YCC_TO_RGB.T


def to_i420(frames: np.ndarray) -> np.ndarray:
    """Float YCbCr planes ``(T, 3, H, W)`` -> uint8 planar 4:2:0 ``(T, H * 3 // 2, W)``.

    Each frame is its Y plane followed by the 2x2-averaged Cb and Cr planes, the memory layout
    of FFmpeg's ``yuv420p``.
    """
    n, _, height, width = frames.shape
    quad = frames[:, 1:].reshape(n, 2, height // 2, 2, width // 2, 2)
    chroma = (
        quad[:, :, :, 0, :, 0] + quad[:, :, :, 0, :, 1] + quad[:, :, :, 1, :, 0] + quad[:, :, :, 1, :, 1]
    ) * 0.25
    planes = np.empty((n, height * 3 // 2, width), dtype=np.uint8)
    planes[:, :height] = _round(frames[:, 0])
    planes[:, height:] = _round(chroma).reshape(n, height // 2, width)
    return planes


def i420_to_rgb(planes: np.ndarray) -> np.ndarray:
    """uint8 planar 4:2:0 ``(T, H * 3 // 2, W)`` -> uint8 RGB ``(T, H, W, 3)`` (chroma upsampled by
    repetition), for looking at rendered frames."""
    n, rows, width = planes.shape
    height = rows * 2 // 3
    luma = planes[:, :height].astype(np.float64)
    chroma = planes[:, height:].reshape(n, 2, height // 2, width // 2).astype(np.float64)
    chroma = chroma.repeat(2, axis=2).repeat(2, axis=3)
    ycbcr = np.stack([luma, chroma[:, 0], chroma[:, 1]], axis=-1)
    return np.clip(np.rint(to_rgb(ycbcr)), 0, 255).astype(np.uint8)


def _round(values: np.ndarray) -> np.ndarray:
    return np.clip(values + np.float32(0.5), 0, 255).astype(np.uint8)
