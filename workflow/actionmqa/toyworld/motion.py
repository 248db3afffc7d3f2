"""Verbs as motion programs: where every sprite and hand is at each moment of a segment.

A program maps the segment's phase ``u`` (0 at start_timestamp, 1 at stop_timestamp) to sprite
tracks and hand positions. Only *forward* verbs have programs: put, close and turn-off are the
exact time reverses of take, open and turn-on (see ``vocab.MIRROR_OF``), which the renderer
produces by reversing the frame order. A model that pools frames without order therefore sees
the same evidence for both verbs of a mirror pair; only the order separates them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from actionmqa.seeding import rng_for
from actionmqa.toyworld import sprites as sp
from actionmqa.toyworld import vocab as v
from actionmqa.toyworld.keyframes import Clock, Point, bar_between, glide, ramp
from actionmqa.toyworld.raster import Track
from actionmqa.toyworld.vocab import Action

#: Offsets measured on hand-held objects grow with them.
K = sp.OBJECT_SCALE
#: Where a hand holds a utensil (below its head) and a pan (near the end of its handle).
UTENSIL_GRIP = 0.1 * K
PAN_GRIP = 0.17 * K


@dataclass(frozen=True)
class SegmentParams:
    """The per-segment variation, so that no two clips of a class are pixel-identical.

    ``spot`` is where the object (or a fixture's offset) sits on the counter, ``side`` the acting
    hand (+1 right, -1 left), ``reach_end`` / ``act_end`` the phases at which the hand arrives
    and the state change completes, ``rate_hz`` the tempo of repetitive verbs (wash, cut, mix,
    shake), ``travel`` how far a moved object slides, ``tint`` an RGB colour jitter and
    ``detail_seed`` the seed of small random details (water droplets).
    """

    spot: Point
    side: int
    reach_end: float
    act_end: float
    rate_hz: float
    angle: float
    travel: float
    tint: tuple[float, float, float]
    detail_seed: int


def draw_segment_params(rng: np.random.Generator) -> SegmentParams:
    reach_end = float(rng.uniform(0.25, 0.38))
    return SegmentParams(
        spot=(float(rng.uniform(0.32, 0.68)), float(rng.uniform(0.38, 0.62))),
        side=int(rng.choice([-1, 1], p=[0.3, 0.7])),
        reach_end=reach_end,
        act_end=float(rng.uniform(reach_end + 0.35, 0.92)),
        rate_hz=float(rng.uniform(1.2, 2.2)),
        angle=float(rng.uniform(-0.5, 0.5)),
        travel=float(rng.choice([-1, 1]) * rng.uniform(0.15, 0.25)),
        tint=tuple(float(t) for t in rng.normal(0, 6, 3)),  # type: ignore[arg-type]
        detail_seed=int(rng.integers(2**62)),
    )


@dataclass(frozen=True)
class HandPose:
    """Where a hand's palm is in each frame; the forearm reaches from it to the near frame edge."""

    x: np.ndarray | float
    y: np.ndarray | float
    side: int


@dataclass(frozen=True)
class Staging:
    """Everything drawn over the static scene in a segment: tracks back to front, then hands."""

    tracks: tuple[Track, ...]
    hands: tuple[HandPose, ...]


def add(p: Point, dx: float, dy: float) -> Point:
    return (p[0] + dx, p[1] + dy)


def rest(side: int) -> Point:
    """Where an idle hand waits: low in the frame, on its own side, mostly out of view."""
    return (0.5 + 0.3 * side, 1.04)


def resting(side: int) -> HandPose:
    return HandPose(*rest(side), side=side)


def idle_hands() -> tuple[HandPose, ...]:
    return (resting(-1), resting(1))


def _pose(xy: np.ndarray, side: int) -> HandPose:
    return HandPose(xy[:, 0], xy[:, 1], side)


def _track(sprite: sp.Sprite, xy: np.ndarray | Point, **pose: object) -> Track:
    x, y = (xy[:, 0], xy[:, 1]) if isinstance(xy, np.ndarray) else xy
    return Track(sprite, x, y, **pose)  # type: ignore[arg-type]


def fixture_offset(p: SegmentParams) -> Point:
    """Fixtures stay near their place; the segment's spot only nudges them a little."""
    return ((p.spot[0] - 0.5) * 0.25, (p.spot[1] - 0.5) * 0.2)


# -- programs ---------------------------------------------------------------------------------

Program = Callable[[Action, SegmentParams, Clock], Staging]


def carry(action: Action, p: SegmentParams, clock: Clock) -> Staging:
    """Take: reach the object on the counter, grasp, lift it towards the camera (it grows)."""
    u, s = clock.phase, p.side
    grasp = p.reach_end + 0.1
    held = (0.5 + 0.12 * s, 0.8)
    obj = glide(u, [(grasp, p.spot), (p.act_end, held)])
    lift = ramp(u, grasp, p.act_end)
    # The hand closes on the object's near rim, on its own side.
    r = sp.radius(sp.OBJECTS[action.noun])
    grip_dx, grip_dy = 0.4 * r * s, 0.6 * r
    hand = glide(
        u,
        [
            (0, rest(s)),
            (p.reach_end, add(p.spot, grip_dx, grip_dy)),
            (grasp, add(p.spot, grip_dx, grip_dy)),
            (p.act_end, add(held, grip_dx, 1.3 * grip_dy)),
        ],
    )
    scale = 1.0 + 0.3 * lift
    item = _track(sp.OBJECTS[action.noun], obj, angle=p.angle + 0.4 * lift, sx=scale, sy=scale, tint=p.tint)
    return Staging((item,), (_pose(hand, s), resting(-s)))


def _door(
    body: sp.Sprite, door: sp.Sprite, centre: Point, width: float, hinge: int, p: SegmentParams, clock: Clock
) -> Staging:
    """A hinged door seen from above: it narrows towards its hinge as it swings open."""
    u, s = clock.phase, p.side
    grasp = p.reach_end + 0.08
    shut = 1.0 - 0.85 * ramp(u, grasp, p.act_end)
    hinge_x = centre[0] + hinge * width / 2
    door_x = hinge_x - hinge * width * shut / 2
    handle = np.stack([hinge_x - hinge * width * shut * 0.9, np.full_like(u, centre[1] + 0.02)], axis=1)
    hand_path = glide(u, [(0, rest(s)), (p.reach_end, (handle[0, 0], handle[0, 1] + 0.06))])
    hand = np.where((u >= p.reach_end)[:, None], handle + [0.0, 0.06], hand_path)
    tracks = (
        _track(body, centre),
        Track(door, door_x, centre[1], angle=0.0 if hinge < 0 else np.pi, sx=width * shut, tint=p.tint),
    )
    return Staging(tracks, (_pose(hand, s), resting(-s)))


def _drawer(p: SegmentParams, clock: Clock) -> Staging:
    """A drawer pulled towards the camera, uncovering the cutlery inside."""
    u, s = clock.phase, p.side
    ox, oy = fixture_offset(p)
    x, closed_y, pull = 0.5 + ox, 0.6 + oy, 0.2
    opened = ramp(u, p.reach_end + 0.08, p.act_end)
    front_y = closed_y + pull * opened
    edge = closed_y - 0.035
    reveal = pull * opened
    front = np.stack([np.full_like(u, x), front_y + 0.05], axis=1)
    hand = np.where(
        (u >= p.reach_end)[:, None], front, glide(u, [(0, rest(s)), (p.reach_end, (x, closed_y + 0.05))])
    )
    tracks = (
        Track(sp.DRAWER_BOX, x, edge + reveal / 2, sy=reveal / 0.22, opacity=(reveal > 1e-3).astype(float)),
        Track(sp.DRAWER_FRONT, x, front_y, tint=p.tint),
    )
    return Staging(tracks, (_pose(hand, s), resting(-s)))


def _jar_lid(p: SegmentParams, clock: Clock) -> Staging:
    """The off hand steadies the jar; the other twists the lid and lifts it aside."""
    u, s = clock.phase, p.side
    twist_end = p.reach_end + 0.5 * (p.act_end - p.reach_end)
    lid = glide(u, [(twist_end, p.spot), (p.act_end, add(p.spot, 0.11 * K * s, -0.04 * K))])
    hand = np.where(
        (u >= p.reach_end)[:, None],
        lid + [0.02 * s, 0.05 * K],
        glide(u, [(0, rest(s)), (p.reach_end, add(p.spot, 0.02 * s, 0.05 * K))]),
    )
    steady = glide(u, [(0, rest(-s)), (p.reach_end, add(p.spot, -0.06 * K * s, 0.06 * K))])
    tracks = (
        _track(sp.OBJECTS[v.JAR], p.spot, angle=p.angle, tint=p.tint),
        _track(sp.JAR_LID, lid, angle=2.5 * ramp(u, p.reach_end, twist_end)),
    )
    return Staging(tracks, (_pose(steady, -s), _pose(hand, s)))


def hinge(action: Action, p: SegmentParams, clock: Clock) -> Staging:
    """Open: a door swings, a drawer slides out, a lid comes off."""
    ox, oy = fixture_offset(p)
    if action.noun == v.FRIDGE:
        return _door(sp.FRIDGE_BODY, sp.FRIDGE_DOOR, (0.3 + ox, 0.26 + oy), 0.34, -1, p, clock)
    if action.noun == v.CUPBOARD:
        return _door(sp.CUPBOARD_BODY, sp.CUPBOARD_DOOR, (0.64 + ox, 0.2 + oy), 0.36, 1, p, clock)
    if action.noun == v.DRAWER:
        return _drawer(p, clock)
    if action.noun == v.JAR:
        return _jar_lid(p, clock)
    raise ValueError(f"no opening program for noun {action.noun}")


def _tap(p: SegmentParams, clock: Clock, flow: np.ndarray) -> tuple[Track, ...]:
    """Sink, tap and a water stream whose length follows ``flow`` in [0, 1]."""
    ox, oy = fixture_offset(p)
    x, spout = 0.5 + ox, 0.15 + oy
    length = 0.14 * flow
    return (
        Track(sp.SINK, x, 0.26 + oy),
        Track(sp.TAP_BODY, x, 0.08 + oy),
        Track(sp.WATER_STREAM, x, spout + length / 2, sy=length, opacity=(flow > 0.01) * 0.9),
    )


def switch(action: Action, p: SegmentParams, clock: Clock) -> Staging:
    """Turn on: reach a lever or knob, turn it, and the water runs or the burners glow."""
    u, s = clock.phase, p.side
    turn_end = p.reach_end + 0.5 * (p.act_end - p.reach_end)
    turned = ramp(u, p.reach_end, turn_end)
    effect = ramp(u, turn_end - 0.05, p.act_end)
    ox, oy = fixture_offset(p)
    if action.noun == v.TAP:
        control = (0.55 + ox, 0.05 + oy)
        tracks = (*_tap(p, clock, effect), Track(sp.TAP_HANDLE, control[0], control[1], angle=1.0 * turned))
    elif action.noun == v.HOB:
        control = (0.5 + ox + 0.2 * s, 0.5 + oy)
        tracks = (
            Track(sp.HOB_TOP, 0.5 + ox, 0.26 + oy),
            Track(sp.HOB_GLOW, 0.5 + ox, 0.26 + oy, opacity=effect),
            Track(sp.HOB_KNOB, control[0], control[1], angle=1.6 * turned * s),
        )
    else:
        raise ValueError(f"no switching program for noun {action.noun}")
    at_control = add(control, 0.02 * s, 0.07)
    hand = glide(
        u,
        [
            (0, rest(s)),
            (p.reach_end, at_control),
            (turn_end, at_control),
            (min(p.act_end + 0.05, 1.0), rest(s)),
        ],
    )
    return Staging(tracks, (_pose(hand, s), resting(-s)))


def _oscillation(p: SegmentParams, clock: Clock, phase: float = 0.0) -> np.ndarray:
    return 2 * np.pi * p.rate_hz * clock.seconds + phase


def scrub(action: Action, p: SegmentParams, clock: Clock) -> Staging:
    """Wash: hold the object under the running tap and rub it; droplets flicker around it."""
    u, s = clock.phase, p.side
    ox, oy = fixture_offset(p)
    theta = _oscillation(p, clock)
    centre = np.stack([0.5 + ox + 0.015 * np.sin(theta), np.full_like(u, 0.32 + oy)], axis=1)
    rub = centre + 0.04 * K * np.stack([np.cos(theta), np.sin(theta)], axis=1) + [0.0, 0.03 * K]
    hold = centre + [-0.06 * K * s, 0.06 * K]
    drops = rng_for(p.detail_seed, "droplets")
    offsets = drops.uniform(-0.12, 0.12, size=(6, 2))
    visible = drops.random(size=(6, len(u))) < 0.5
    tracks = (
        *_tap(p, clock, np.ones_like(u)),
        _track(sp.OBJECTS[action.noun], centre, angle=p.angle + 0.25 * np.sin(theta), tint=p.tint),
        *(
            _track(sp.DROPLET, centre + off, opacity=vis.astype(float))
            for off, vis in zip(offsets, visible, strict=True)
        ),
    )
    return Staging(tracks, (_pose(hold, -s), _pose(rub, s)))


def chop(action: Action, p: SegmentParams, clock: Clock) -> Staging:
    """Cut: the knife bobs across the food on a board, leaving a cut line at each stroke."""
    u, s = clock.phase, p.side
    board = (p.spot[0], 0.5 + fixture_offset(p)[1])
    food = add(board, -0.02, 0.0)
    width = 0.1 * K
    strokes = max(2, round(p.rate_hz * clock.seconds[-1] * (p.act_end - p.reach_end)))
    across = ramp(u, p.reach_end, p.act_end)
    cutting = (u >= p.reach_end) & (u <= p.act_end)
    bob = 1 + 0.18 * np.abs(np.sin(np.pi * strokes * across)) * cutting
    start = add(food, width / 2, 0.0)
    knife = glide(u, [(0, add(food, 0.15 * s, 0.2)), (p.reach_end, start)])
    knife[:, 0] -= width * across
    cut_x = start[0] - width * (np.arange(strokes) + 0.5) / strokes
    cut_at = p.reach_end + (p.act_end - p.reach_end) * (np.arange(strokes) + 0.5) / strokes
    tracks = (
        _track(sp.BOARD, board, angle=0.2 * p.angle),
        _track(sp.OBJECTS[action.noun], food, angle=p.angle, tint=p.tint),
        *(
            Track(sp.CUT_LINE, x, food[1], opacity=(u >= t).astype(float))
            for x, t in zip(cut_x, cut_at, strict=True)
        ),
        _track(sp.OBJECTS[v.KNIFE], knife, sx=bob, sy=bob),
    )
    hold = glide(u, [(0, rest(-s)), (p.reach_end, add(food, -0.07 * K * s, 0.04 * K))])
    return Staging(tracks, (_pose(hold, -s), _pose(knife + [0.0, UTENSIL_GRIP], s)))


def pour(action: Action, p: SegmentParams, clock: Clock) -> Staging:
    """Pour: bring a jug or bottle over the pot or pan, tilt it; a stream runs and the level rises."""
    u, s = clock.phase, p.side
    target = (p.spot[0], 0.45 + fixture_offset(p)[1])
    vessel_sprite, stream_sprite = sp.POUR_SOURCE[action.noun]
    tilt_end = p.reach_end + 0.1
    vessel = glide(u, [(0, (0.5 + 0.28 * s, 0.82)), (p.reach_end, add(target, 0.12 * K * s, -0.05 * K))])
    tilt = -s * 1.3 * (ramp(u, p.reach_end, tilt_end) - ramp(u, p.act_end, min(p.act_end + 0.07, 1.0)))
    spout = 0.09 * K
    mouth = vessel + np.stack([spout * np.sin(tilt), -spout * np.cos(tilt)], axis=1)
    flowing = ((u >= tilt_end) & (u <= p.act_end)).astype(float)
    level = glide(u, [(tilt_end, 0.05), (p.act_end, 1.0)])
    tracks = (
        _track(sp.OBJECTS[action.other], target, angle=0.0 if s > 0 else np.pi, tint=p.tint),
        _track(sp.LIQUID_LEVEL[action.noun], target, sx=level, sy=level, opacity=0.85 * (u >= tilt_end)),
        Track(stream_sprite, **bar_between(mouth, np.tile(target, (len(u), 1))), opacity=flowing),
        _track(vessel_sprite, vessel, angle=tilt),
    )
    return Staging(tracks, (_pose(vessel + [0.04 * K * s, 0.05 * K], s), resting(-s)))


def stir(action: Action, p: SegmentParams, clock: Clock) -> Staging:
    """Mix: a spoon circles inside the pot and the pasta turns with it."""
    s = p.side
    pot = (p.spot[0], 0.45 + fixture_offset(p)[1])
    theta = _oscillation(p, clock, phase=p.angle)
    spoon = np.asarray(pot) + 0.045 * K * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    tracks = (
        _track(sp.OBJECTS[v.POT], pot, tint=p.tint),
        _track(sp.PASTA_IN_POT, pot, angle=0.5 * theta),
        _track(sp.OBJECTS[v.SPOON], spoon, angle=0.3 * s),
    )
    return Staging(tracks, (_pose(spoon + [0.03 * s, UTENSIL_GRIP], s), resting(-s)))


def _pan_handle(pan: np.ndarray, s: int) -> np.ndarray:
    return pan + [PAN_GRIP * s, 0.03]


def slide(action: Action, p: SegmentParams, clock: Clock) -> Staging:
    """Move: grasp the pan's handle and slide it along the counter (it never lifts or grows)."""
    u, s = clock.phase, p.side
    grasp = p.reach_end + 0.08
    pan = glide(u, [(grasp, p.spot), (p.act_end, add(p.spot, p.travel, 0.03))])
    hand = np.where(
        (u >= p.reach_end)[:, None],
        _pan_handle(pan, s),
        glide(u, [(0, rest(s)), (p.reach_end, tuple(_pan_handle(pan[:1], s)[0]))]),
    )
    item = _track(sp.OBJECTS[action.noun], pan, angle=0.0 if s > 0 else np.pi, tint=p.tint)
    return Staging((item,), (_pose(hand, s), resting(-s)))


def shake(action: Action, p: SegmentParams, clock: Clock) -> Staging:
    """Shake: the pan, held up by its handle, jerks from side to side."""
    u, s = clock.phase, p.side
    theta = _oscillation(p, clock)
    pan = np.stack([p.spot[0] + 0.05 * np.sin(theta), np.full_like(u, p.spot[1])], axis=1)
    item = _track(
        sp.OBJECTS[action.noun],
        pan,
        angle=(0.0 if s > 0 else np.pi) + 0.12 * np.sin(theta),
        sx=1.15,
        sy=1.15,
        tint=p.tint,
    )
    return Staging((item,), (_pose(_pan_handle(pan, s), s), resting(-s)))


#: Programs of the forward verbs; mirrored verbs reuse their partner's program reversed.
PROGRAMS: dict[int, Program] = {
    v.TAKE: carry,
    v.OPEN: hinge,
    v.TURN_ON: switch,
    v.WASH: scrub,
    v.CUT: chop,
    v.POUR: pour,
    v.MIX: stir,
    v.MOVE: slide,
    v.SHAKE: shake,
}


#: Plausible segment lengths (seconds) per forward verb; a mirror pair shares its range.
DURATION_S: dict[int, tuple[float, float]] = {
    v.TAKE: (1.0, 2.4),
    v.OPEN: (1.0, 2.6),
    v.TURN_ON: (1.0, 2.4),
    v.WASH: (2.0, 4.0),
    v.CUT: (2.0, 4.0),
    v.POUR: (1.6, 3.6),
    v.MIX: (2.0, 4.0),
    v.MOVE: (1.0, 2.4),
    v.SHAKE: (1.4, 3.0),
}


def duration_range(action: Action) -> tuple[float, float]:
    return DURATION_S[forward_action(action).verb]


def forward_action(action: Action) -> Action:
    """The action whose program draws ``action`` (put cup -> take cup); itself for forward verbs."""
    return replace(action, verb=v.MIRROR_OF.get(action.verb, action.verb))


def stage(action: Action, params: SegmentParams, clock: Clock) -> Staging:
    """The forward program's staging for ``action`` (reversal of mirrored verbs is the renderer's)."""
    forward = forward_action(action)
    return PROGRAMS[forward.verb](forward, params, clock)
