"""Each participant's kitchen (counter colour, texture, skin) and each video's clutter.

A per-participant look is what makes unseen participants a domain shift, as in EK100: the
same actions over a counter the model has never seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from actionmqa.toyworld.colour import to_ycbcr
from actionmqa.toyworld.raster import Track, draw_track
from actionmqa.toyworld.sprites import CLUTTER, Sprite


@dataclass(frozen=True)
class ParticipantLook:
    """Counter base colour, tile period and grain strength, and the skin-tone offset of the hands."""

    counter_rgb: tuple[float, float, float]
    tile_period: float
    grain: float
    grain_phase: float
    skin_tint: tuple[float, float, float]


@dataclass(frozen=True)
class PlacedClutter:
    """A clutter sprite at a fixed place of one video's counter."""

    sprite: Sprite
    x: float
    y: float
    angle: float


#: Clutter stands in the counter's margins, clear of the centre where actions happen.
_CLUTTER_SPOTS: tuple[tuple[float, float], ...] = (
    (0.1, 0.2),
    (0.9, 0.2),
    (0.1, 0.55),
    (0.9, 0.55),
    (0.08, 0.85),
    (0.92, 0.85),
)


#: Worktop colour families (oak, steel, laminate, walnut, sage, beech), RGB.
_WORKTOPS = np.array(
    [[176, 140, 100], [150, 150, 146], [200, 196, 184], [120, 96, 80], [170, 176, 160], [210, 180, 150]],
    dtype=float,
)


def draw_participant_look(rng: np.random.Generator) -> ParticipantLook:
    """A counter colour from a family of kitchen worktops (wood, stone, laminate), plus skin."""
    base = _WORKTOPS[rng.integers(len(_WORKTOPS))]
    counter = tuple(float(c) for c in np.clip(base + rng.normal(0, 10, 3), 40, 225))
    skin = rng.uniform(-30, 25)
    return ParticipantLook(
        counter_rgb=counter,  # type: ignore[arg-type]
        tile_period=float(rng.uniform(0.12, 0.3)),
        grain=float(rng.uniform(3, 12)),
        grain_phase=float(rng.uniform(0, 2 * np.pi)),
        skin_tint=(skin, skin * 0.9, skin * 0.8),
    )


def draw_clutter(rng: np.random.Generator, count: int) -> tuple[PlacedClutter, ...]:
    """``count`` distinct clutter items on distinct margin spots."""
    items = rng.choice(len(CLUTTER), size=count, replace=False)
    spots = rng.choice(len(_CLUTTER_SPOTS), size=count, replace=False)
    return tuple(
        PlacedClutter(
            CLUTTER[i],
            _CLUTTER_SPOTS[s][0] + rng.uniform(-0.03, 0.03),
            _CLUTTER_SPOTS[s][1] + rng.uniform(-0.04, 0.04),
            float(rng.uniform(-0.5, 0.5)),
        )
        for i, s in zip(items, spots, strict=True)
    )


def counter_image(look: ParticipantLook, size: int) -> np.ndarray:
    """The empty counter in RGB, ``(size, size, 3)``: tinted tiles with grout and a wood-like grain."""
    coords = (np.arange(size, dtype=np.float32) + 0.5) / size
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    grain = look.grain * np.sin(2 * np.pi * (yy * 7 + 0.6 * np.sin(xx * 5 + look.grain_phase)))
    grout = ((xx % look.tile_period) < 0.015) | ((yy % look.tile_period) < 0.015)
    image = np.asarray(look.counter_rgb, dtype=np.float32) + grain[..., None]
    image[grout] *= 0.8
    return np.clip(image, 0, 255).astype(np.float32)


def background_image(look: ParticipantLook, clutter: tuple[PlacedClutter, ...], size: int) -> np.ndarray:
    """A video's static scene as YCbCr planes ``(3, size, size)``: the counter with the clutter on it."""
    image = np.ascontiguousarray(to_ycbcr(counter_image(look, size)).transpose(2, 0, 1))[None]
    for item in clutter:
        draw_track(image, Track(item.sprite, item.x, item.y, angle=item.angle))
    return image[0]
