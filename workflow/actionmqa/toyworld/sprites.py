"""What things look like from above: every noun, fixture and piece of clutter as a few primitives.

Sizes and offsets are fractions of the frame side, so a world renders at any resolution.
Look-alike nouns share a silhouette and differ by one small, learnable cue, as in a real
kitchen: the cup has a handle and the glass has none; the spoon ends in a round bowl and the
fork in a square head; the bowl is smaller than the plate and dark inside; the pot has two side
handles where the pan has one long one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from actionmqa.toyworld import vocab as v

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Part:
    """A filled ellipse or box centred at (dx, dy) in sprite coordinates, ``w`` x ``h`` in size."""

    shape: Literal["ellipse", "box"]
    dx: float
    dy: float
    w: float
    h: float
    colour: RGB
    angle: float = 0.0


@dataclass(frozen=True)
class Sprite:
    """A drawable thing plus the words a first-person description uses for it."""

    name: str
    colour_word: str
    shape_words: str
    parts: tuple[Part, ...] = field(repr=False)


def sprite(name: str, colour_word: str, shape_words: str, *parts: Part) -> Sprite:
    return Sprite(name, colour_word, shape_words, parts)


def ellipse(dx: float, dy: float, w: float, h: float, colour: RGB) -> Part:
    return Part("ellipse", dx, dy, w, h, colour)


def box(dx: float, dy: float, w: float, h: float, colour: RGB, angle: float = 0.0) -> Part:
    return Part("box", dx, dy, w, h, colour, angle)


def scaled(original: Sprite, factor: float) -> Sprite:
    """The same sprite ``factor`` times larger (offsets and sizes alike)."""
    parts = tuple(
        Part(p.shape, p.dx * factor, p.dy * factor, p.w * factor, p.h * factor, p.colour, p.angle)
        for p in original.parts
    )
    return Sprite(original.name, original.colour_word, original.shape_words, parts)


def radius(of: Sprite) -> float:
    """Distance from the sprite's centre to its farthest corner (a bound, in frame fractions)."""
    return max(float(np.hypot(abs(p.dx) + p.w / 2, abs(p.dy) + p.h / 2)) for p in of.parts)


#: Hand-held things are drawn at this multiple of the sizes written below (a 64 px frame needs it).
OBJECT_SCALE = 1.5
CLUTTER_SCALE = 1.4

_STEEL: RGB = (188, 190, 200)
_HANDLE: RGB = (60, 50, 45)


def _utensil(name: str, shape_words: str, head: Part) -> Sprite:
    """Knife, spoon and fork share a handle; only the head differs (the look-alike cue)."""
    return sprite(name, "silver", shape_words, box(0.0, 0.05, 0.022, 0.11, _HANDLE), head)


# fmt: off
_OBJECTS: dict[int, Sprite] = {
    v.PLATE: sprite("plate", "white", "a wide flat plate with a rim",
                    ellipse(0, 0, 0.22, 0.22, (236, 236, 230)), ellipse(0, 0, 0.15, 0.15, (214, 214, 206))),
    v.BOWL: sprite("bowl", "white", "a deep round bowl",
                   ellipse(0, 0, 0.17, 0.17, (232, 228, 218)), ellipse(0, 0, 0.11, 0.11, (150, 140, 128))),
    v.CUP: sprite("cup", "red", "a round cup with a small handle",
                  box(0.055, 0, 0.035, 0.02, (196, 58, 48)), ellipse(0, 0, 0.1, 0.1, (196, 58, 48)),
                  ellipse(0, 0, 0.068, 0.068, (92, 52, 34))),
    v.GLASS: sprite("glass", "clear blue", "a round glass without a handle",
                    ellipse(0, 0, 0.1, 0.1, (168, 200, 214)), ellipse(0, 0, 0.07, 0.07, (206, 226, 236))),
    v.KNIFE: _utensil("knife", "a knife with a long blade", box(0, -0.06, 0.026, 0.11, _STEEL)),
    v.SPOON: _utensil("spoon", "a spoon with a round bowl", ellipse(0, -0.03, 0.05, 0.06, _STEEL)),
    v.FORK: _utensil("fork", "a fork with a square head", box(0, -0.03, 0.046, 0.055, _STEEL)),
    v.PAN: sprite("pan", "black", "a frying pan with one long handle",
                  box(0.14, 0, 0.14, 0.03, (30, 28, 28)), ellipse(0, 0, 0.2, 0.2, (52, 52, 54))),
    v.POT: sprite("pot", "steel", "a deep pot with two side handles",
                  box(0, 0, 0.27, 0.035, (90, 90, 96)), ellipse(0, 0, 0.2, 0.2, (142, 142, 152)),
                  ellipse(0, 0, 0.16, 0.16, (120, 120, 130))),
    v.JAR: sprite("jar", "amber", "a squat glass jar", box(0, 0, 0.1, 0.11, (204, 150, 62))),
    v.ONION: sprite("onion", "golden", "a round onion",
                    ellipse(0, 0, 0.1, 0.1, (214, 178, 112)), ellipse(0, 0, 0.06, 0.06, (230, 204, 150))),
    v.POTATO: sprite("potato", "brown", "an oval potato", ellipse(0, 0, 0.12, 0.08, (168, 128, 80))),
}

# Things that move on their own within an action: a jar's lid, the pasta in a pot, cuts, levels,
# and the (unnamed, as in EK100 narrations) jug or bottle a liquid is poured from.
_JAR_LID = sprite("jar lid", "red", "a round lid", ellipse(0, 0, 0.085, 0.085, (178, 40, 40)))
_PASTA = sprite("pasta", "yellow", "strands of pasta", *(
    box(dx, dy, 0.06, 0.012, (236, 206, 96), angle)
    for dx, dy, angle in ((0.03, 0, 0.3), (-0.03, 0.02, 1.2), (0, -0.035, 2.1), (-0.01, 0.04, 0.7))))
_CUT_LINE = sprite("cut", "dark", "a cut", box(0, 0, 0.006, 0.1, (96, 72, 40)))
_WATER_LEVEL = sprite("water level", "blue", "water", ellipse(0, 0, 0.15, 0.15, (120, 168, 228)))
_OIL_LEVEL = sprite("oil level", "golden", "oil", ellipse(0, 0, 0.15, 0.15, (214, 182, 70)))
_JUG = sprite("jug", "white", "a jug",
              box(0, 0, 0.08, 0.12, (224, 224, 234)), box(0, -0.07, 0.03, 0.03, (224, 224, 234)))
_BOTTLE = sprite("bottle", "green", "a bottle",
                 box(0, 0, 0.07, 0.13, (70, 120, 60)), box(0, -0.08, 0.03, 0.04, (70, 120, 60)))
WATER_STREAM = sprite("water", "blue", "a stream of water", box(0, 0, 0.03, 1.0, (110, 160, 230)))
OIL_STREAM = sprite("oil", "golden", "a thin stream of oil", box(0, 0, 0.02, 1.0, (222, 186, 60)))
BOARD = sprite("chopping board", "wooden", "a chopping board", box(0, 0, 0.4, 0.3, (192, 152, 102)))
DROPLET = sprite("droplet", "blue", "a drop of water", ellipse(0, 0, 0.022, 0.022, (150, 196, 240)))

# Fixtures: the part that moves (door, drawer, knob) and what it reveals or switches on.
FRIDGE_BODY = sprite("fridge", "white", "a tall white fridge",
                     box(0, 0, 0.34, 0.42, (226, 236, 240)), box(0, -0.06, 0.3, 0.01, (180, 190, 196)),
                     box(0, 0.08, 0.3, 0.01, (180, 190, 196)), box(0.05, 0, 0.06, 0.06, (240, 150, 90)))
FRIDGE_DOOR = sprite("fridge door", "white", "a white fridge door",
                     box(0, 0, 1.0, 0.42, (244, 244, 246)), box(0.4, 0, 0.04, 0.16, (150, 150, 160)))
CUPBOARD_BODY = sprite("cupboard", "brown", "a wooden cupboard",
                       box(0, 0, 0.36, 0.3, (52, 38, 30)), box(-0.08, 0, 0.08, 0.1, (220, 220, 214)),
                       box(0.07, 0.02, 0.06, 0.08, (200, 80, 60)))
CUPBOARD_DOOR = sprite("cupboard door", "brown", "a wooden cupboard door",
                       box(0, 0, 1.0, 0.3, (146, 98, 58)), box(0.4, 0, 0.05, 0.1, (210, 190, 120)))
DRAWER_BOX = sprite("drawer", "grey", "a cutlery drawer", box(0, 0, 0.4, 0.22, (96, 96, 104)),
                    *(box(dx, 0, 0.015, 0.16, _STEEL) for dx in (-0.1, -0.04, 0.03, 0.1)))
DRAWER_FRONT = sprite("drawer front", "green", "a green drawer front",
                      box(0, 0, 0.44, 0.07, (88, 130, 104)), box(0, 0, 0.12, 0.02, (200, 200, 190)))
SINK = sprite("sink", "steel", "a steel sink",
              box(0, 0, 0.42, 0.3, (150, 156, 164)), box(0, 0, 0.36, 0.24, (112, 118, 126)))
TAP_BODY = sprite("tap", "chrome", "a chrome tap", box(0, 0, 0.04, 0.14, (210, 212, 220)))
TAP_HANDLE = sprite("tap handle", "chrome", "a tap lever", box(0, 0, 0.1, 0.025, (230, 230, 236)))
HOB_TOP = sprite("hob", "black", "a black hob with two burners", box(0, 0, 0.56, 0.3, (36, 36, 40)),
                 ellipse(-0.14, 0, 0.16, 0.16, (70, 70, 76)), ellipse(0.14, 0, 0.16, 0.16, (70, 70, 76)))
HOB_GLOW = sprite("burner glow", "orange", "glowing burners",
                  ellipse(-0.14, 0, 0.12, 0.12, (246, 96, 32)), ellipse(0.14, 0, 0.12, 0.12, (246, 96, 32)))
HOB_KNOB = sprite("hob knob", "grey", "a hob knob",
                  ellipse(0, 0, 0.06, 0.06, (150, 150, 156)), box(0, -0.015, 0.012, 0.035, (30, 30, 30)))

_CLUTTER: tuple[Sprite, ...] = (
    sprite("toaster", "grey", "a grey toaster",
           box(0, 0, 0.16, 0.1, (120, 122, 128)), box(0, 0, 0.12, 0.02, (40, 40, 40))),
    sprite("potted plant", "green", "a green potted plant",
           ellipse(0, 0, 0.12, 0.12, (60, 140, 60)), ellipse(0.02, -0.02, 0.06, 0.06, (90, 170, 80))),
    sprite("salt shaker", "white", "a white salt shaker", ellipse(0, 0, 0.05, 0.05, (240, 240, 240))),
    sprite("tea towel", "blue", "a folded blue tea towel",
           box(0, 0, 0.14, 0.08, (70, 100, 190)), box(0, 0, 0.14, 0.012, (230, 230, 240))),
    sprite("bread bin", "brown", "a brown bread bin", box(0, 0, 0.15, 0.12, (120, 80, 50))),
    sprite("fruit basket", "orange", "a basket of oranges", ellipse(0, 0, 0.14, 0.14, (150, 110, 60)),
           ellipse(-0.02, 0, 0.05, 0.05, (240, 140, 30)), ellipse(0.03, 0.02, 0.05, 0.05, (240, 140, 30))),
)

PALM = sprite("hand", "skin", "a hand", ellipse(0, 0, 0.1, 0.12, (214, 170, 140)))
#: A unit-length forearm: scaled along y to reach from the palm to below the frame.
FOREARM = sprite("forearm", "skin", "a forearm", box(0, 0, 0.08, 1.0, (200, 156, 128)))
# fmt: on

#: The movable objects by noun class id, and the things that move with them, at OBJECT_SCALE.
OBJECTS: dict[int, Sprite] = {noun: scaled(s, OBJECT_SCALE) for noun, s in _OBJECTS.items()}
JAR_LID = scaled(_JAR_LID, OBJECT_SCALE)
PASTA_IN_POT = scaled(_PASTA, OBJECT_SCALE)
CUT_LINE = scaled(_CUT_LINE, OBJECT_SCALE)
LIQUID_LEVEL: dict[int, Sprite] = {
    v.WATER: scaled(_WATER_LEVEL, OBJECT_SCALE),
    v.OIL: scaled(_OIL_LEVEL, OBJECT_SCALE),
}
#: Per poured liquid: the vessel it comes from and the stream.
POUR_SOURCE: dict[int, tuple[Sprite, Sprite]] = {
    v.WATER: (scaled(_JUG, OBJECT_SCALE), WATER_STREAM),
    v.OIL: (scaled(_BOTTLE, OBJECT_SCALE), OIL_STREAM),
}
#: Static clutter, placed at the counter's edges; named in descriptions ("what else is there").
CLUTTER: tuple[Sprite, ...] = tuple(scaled(s, CLUTTER_SCALE) for s in _CLUTTER)
