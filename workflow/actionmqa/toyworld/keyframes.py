"""Keyframing: a segment's clock, eased steps between key poses, and bars stretched between points.

Motion programs are written as "at phase 0.3 the hand is here, at 0.6 there"; these helpers
turn such keys into per-frame arrays, vectorised over the whole segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Point = tuple[float, float]


@dataclass(frozen=True)
class Clock:
    """A segment's time axis: phase in [0, 1] per frame, and seconds since the segment start."""

    phase: np.ndarray
    seconds: np.ndarray

    @classmethod
    def for_frames(cls, n_frames: int, fps: float) -> Clock:
        phase = np.linspace(0.0, 1.0, n_frames)
        return cls(phase=phase, seconds=np.arange(n_frames) / fps)


def ramp(u: np.ndarray, start: float, end: float) -> np.ndarray:
    """0 before ``start``, 1 after ``end``, a smooth (ease-in-out) step in between."""
    w = np.clip((u - start) / max(end - start, 1e-6), 0.0, 1.0)
    return w * w * (3 - 2 * w)


def glide(u: np.ndarray, keys: Sequence[tuple[float, Point | float]]) -> np.ndarray:
    """Ease between key values at key phases; holds the first value before and the last after.

    Values are points (returns ``(T, 2)``) or scalars (returns ``(T,)``).
    """
    value = np.broadcast_to(np.asarray(keys[0][1], dtype=float), (len(u), *np.shape(keys[0][1]))).copy()
    for (t0, a), (t1, b) in zip(keys, keys[1:], strict=False):
        step = ramp(u, t0, t1)
        value += (np.asarray(b, dtype=float) - np.asarray(a, dtype=float)) * (
            step[:, None] if value.ndim == 2 else step
        )
    return value


def bar_between(a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """Pose of a unit-length y-axis bar stretched from points ``a`` to ``b`` (``(T, 2)`` each)."""
    d = b - a
    centre = (a + b) / 2
    return {
        "x": centre[:, 0],
        "y": centre[:, 1],
        "angle": np.arctan2(-d[:, 0], d[:, 1]),
        "sy": np.hypot(d[:, 0], d[:, 1]),
    }
