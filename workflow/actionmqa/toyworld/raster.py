"""Draw sprites that move over a segment onto a stack of frames, all frames at once.

Frames are float YCbCr planes, ``(T, 3, H, W)`` (see ``colour``); sprite colours are converted
once, here.

Rendering is vectorised over time (a segment's frames are one array) and each
primitive is evaluated only inside the box its whole trajectory can touch, because Python loops
over frames would dominate the world's generation time. Edges are anti-aliased so that
sub-pixel motion is visible to a model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from actionmqa.toyworld.colour import to_ycbcr
from actionmqa.toyworld.sprites import Part, Sprite

#: Moving sprites are drawn a few frames at a time; a block never holds fewer frames than this.
MIN_BLOCK_FRAMES = 6


@dataclass(frozen=True)
class Track:
    """A sprite's pose in every frame: centre (frame fractions), rotation (radians), scale, opacity.

    Each field is an array of length T or a scalar that holds for all frames; ``tint`` is an RGB
    offset added to every part's colour (per-participant skin, per-segment colour jitter).
    """

    sprite: Sprite
    x: np.ndarray | float
    y: np.ndarray | float
    angle: np.ndarray | float = 0.0
    sx: np.ndarray | float = 1.0
    sy: np.ndarray | float = 1.0
    opacity: np.ndarray | float = 1.0
    tint: tuple[float, float, float] = (0.0, 0.0, 0.0)


def draw_track(frames: np.ndarray, track: Track) -> None:
    """Composite every part of ``track`` onto ``frames`` (float32 YCbCr, ``(T, 3, H, W)``) in place."""
    n_frames = frames.shape[0]
    geometry = _per_frame((track.x, track.y, track.angle, track.sx, track.sy), n_frames)
    opacity = _per_frame((track.opacity,), n_frames)[0]
    colours = [
        to_ycbcr(np.clip(np.add(part.colour, track.tint), 0, 255))[:, None, None]
        for part in track.sprite.parts
    ]
    for block in _blocks(geometry, track.sprite, frames.shape[-2:]):
        block_opacity = opacity if len(opacity) == 1 else opacity[block]
        if not block_opacity.any():
            continue
        fade = None if np.all(block_opacity == 1) else block_opacity.astype(np.float32)
        pose = [g if len(g) == 1 else g[block] for g in geometry]
        for part, colour in zip(track.sprite.parts, colours, strict=True):
            _draw_part(frames[block], part, pose, fade, colour)


def _per_frame(values: tuple[np.ndarray | float, ...], n_frames: int) -> list[np.ndarray]:
    """Broadcast pose values to a common length: 1 when all are constant over time, else T."""
    arrays = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in values))
    if all(np.ptp(a) == 0 for a in arrays):
        return [a[:1] for a in arrays]
    return [np.broadcast_to(a, (n_frames,)) for a in arrays]


def _blocks(geometry: list[np.ndarray], sprite: Sprite, frame_size: tuple[int, int]) -> list[slice]:
    """Frame ranges to rasterise together.

    Still geometry is drawn once for all frames. A moving sprite is split into about as many
    blocks as its sweep is long in units of its thickness, so a long thin forearm sweeping the
    frame is not evaluated over the whole swept box in every frame, while the number of NumPy
    calls (which dominate for small sprites) stays low.
    """
    height, width = frame_size
    x, y, _, sx, sy = geometry
    n_frames = len(x)
    if len(x) == 1:
        return [slice(None)]
    thickness = max(min(p.w * float(sx.max()), p.h * float(sy.max())) for p in sprite.parts)
    sweep = np.hypot(np.ptp(x) * width, np.ptp(y) * height)
    n_blocks = int(
        np.clip(
            round(sweep / max(thickness * min(height, width), 1.0)), 1, max(1, n_frames // MIN_BLOCK_FRAMES)
        )
    )
    edges = np.linspace(0, n_frames, n_blocks + 1).round().astype(int)
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _draw_part(
    frames: np.ndarray,
    part: Part,
    geometry: list[np.ndarray],
    fade: np.ndarray | None,
    colour: np.ndarray,
) -> None:
    """Composite one primitive; ``geometry`` arrays have length 1 (still) or len(frames)."""
    x, y, angle, sx, sy = geometry
    height, width = frames.shape[-2:]
    side = float(min(height, width))
    cos, sin = np.cos(angle), np.sin(angle)
    dx, dy = part.dx * sx, part.dy * sy
    cx = (x + cos * dx - sin * dy) * width
    cy = (y + sin * dx + cos * dy) * height
    half_w = np.maximum(part.w * sx * side / 2, 1e-3)
    half_h = np.maximum(part.h * sy * side / 2, 1e-3)
    theta = angle + part.angle
    # Half extents of the rotated box (which also bounds the ellipse), plus the anti-aliased rim.
    c, s = np.abs(np.cos(theta)), np.abs(np.sin(theta))
    reach_x, reach_y = half_w * c + half_h * s + 1.0, half_w * s + half_h * c + 1.0
    x0, x1 = _span(cx - reach_x, cx + reach_x, width)
    y0, y1 = _span(cy - reach_y, cy + reach_y, height)
    if x0 >= x1 or y0 >= y1:
        return
    alpha = _coverage(
        part.shape,
        np.arange(x0, x1) + 0.5 - cx[:, None],
        np.arange(y0, y1) + 0.5 - cy[:, None],
        theta,
        half_w,
        half_h,
    )
    if fade is not None:
        alpha = alpha * fade[:, None, None]
    window = frames[:, :, y0:y1, x0:x1]
    window += alpha[:, None] * (colour - window)


def _coverage(
    shape: str, px: np.ndarray, py: np.ndarray, theta: np.ndarray, half_w: np.ndarray, half_h: np.ndarray
) -> np.ndarray:
    """Anti-aliased coverage ``(T, h, w)`` of a rotated box or ellipse; ``px``/``py`` are pixel
    offsets from its centre, ``(T, w)`` and ``(T, h)``."""
    f32 = np.float32
    c, s = np.cos(theta).astype(f32), np.sin(theta).astype(f32)
    px, py = px.astype(f32)[:, None, :], py.astype(f32)[:, :, None]
    u = px * c[:, None, None] + py * s[:, None, None]
    v = py * c[:, None, None] - px * s[:, None, None]
    hw, hh = half_w.astype(f32)[:, None, None], half_h.astype(f32)[:, None, None]
    if shape == "box":
        u = _unit(hw + f32(0.5) - np.abs(u, out=u))
        v = _unit(hh + f32(0.5) - np.abs(v, out=v))
        return np.multiply(u, v, out=u)
    u /= hw
    v /= hh
    rho = np.sqrt(u * u + v * v)
    return _unit((f32(1.0) - rho) * np.minimum(hw, hh) + f32(0.5))


def _unit(values: np.ndarray) -> np.ndarray:
    """Clamp to [0, 1] in place (``np.clip`` costs several times more on small arrays)."""
    np.maximum(values, 0, out=values)
    return np.minimum(values, 1, out=values)


def _span(low: np.ndarray, high: np.ndarray, size: int) -> tuple[int, int]:
    """The pixel range [a, b) that covers [min(low), max(high)], clipped to the frame."""
    return max(0, int(np.floor(low.min()))), min(size, int(np.ceil(high.max())))
