"""The world's script: who films which video, and which actions happen when, in what words.

Everything here is sampled before a pixel is drawn, so annotation tables, scene descriptions and
videos all read the same plan. Every draw comes from ``rng_for(seed, entity, purpose)``, so one
video's plan does not depend on how many others were planned before it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from actionmqa.errors import InputError
from actionmqa.seeding import rng_for
from actionmqa.toyworld import motion, vocab
from actionmqa.toyworld.config import WorldConfig
from actionmqa.toyworld.scenery import ParticipantLook, PlacedClutter, draw_clutter, draw_participant_look
from actionmqa.toyworld.vocab import Action, Form

TRAIN, VALIDATION = "train", "validation"

#: Zipf exponent over action groups: a few very common actions and a long tail.
ZIPF_EXPONENT = 0.8
#: Chance that an action is followed by its mirror partner (take cup -> put cup), which gives the
#: "prior actions" task real information.
MIRROR_FOLLOW_P = 0.35
#: Chance of a pause between actions of under 2 s (else 3.2-6 s), so consecutive triples with
#: gaps of at most 3 s are common and some runs are broken.
SHORT_GAP_P = 0.8
EMPTY_NARRATION_TIME_P = 0.01
SEGMENTS_PER_VIDEO = (20, 45)
UNSEEN_VAL_SHARE = 0.2


@dataclass(frozen=True)
class Participant:
    participant_id: str
    unseen: bool
    look: ParticipantLook


@dataclass(frozen=True)
class Wording:
    """The narration of one segment and the parsed forms it yields for the CSV."""

    narration: str
    verb: Form
    noun: Form
    other: Form | None

    @property
    def all_nouns(self) -> list[str]:
        return [self.noun.parsed] + ([self.other.parsed] if self.other else [])


@dataclass(frozen=True)
class SegmentPlan:
    """One annotated action. Times are integer centiseconds (the CSV's precision), never floats."""

    narration_id: str
    participant_id: str
    video_id: str
    split: str
    action: Action
    start_cs: int
    stop_cs: int
    narration_ms: int | None
    wording: Wording
    params: motion.SegmentParams

    @property
    def start_sec(self) -> float:
        return self.start_cs / 100

    @property
    def stop_sec(self) -> float:
        return self.stop_cs / 100

    @property
    def all_noun_classes(self) -> list[int]:
        return [self.action.noun] + ([self.action.other] if self.wording.other else [])

    def frame_range(self, fps: int) -> range:
        """Video frames (0-based, at ``fps``) whose timestamps fall in [start, stop)."""
        return range(first_frame_at(self.start_cs, fps), first_frame_at(self.stop_cs, fps))


@dataclass(frozen=True)
class VideoPlan:
    video_id: str
    participant_id: str
    split: str
    duration_cs: int
    clutter: tuple[PlacedClutter, ...]
    segments: tuple[SegmentPlan, ...]

    def n_frames(self, fps: int) -> int:
        return first_frame_at(self.duration_cs, fps)


@dataclass(frozen=True)
class WorldPlan:
    config: WorldConfig
    participants: tuple[Participant, ...]
    videos: tuple[VideoPlan, ...]

    def segments(self, split: str | None = None) -> Iterator[SegmentPlan]:
        for video in self.videos:
            if split is None or video.split == split:
                yield from video.segments

    def participant(self, participant_id: str) -> Participant:
        return next(p for p in self.participants if p.participant_id == participant_id)


def first_frame_at(centiseconds: int, fps: int) -> int:
    """Index of the first frame at or after a time, exactly (no float rounding at frame edges)."""
    return math.ceil(Fraction(centiseconds, 100) * fps)


# -- who films what ---------------------------------------------------------------------------


def plan_participants(config: WorldConfig) -> tuple[Participant, ...]:
    ids = [f"P{i:02d}" for i in range(1, config.n_participants + 1)]
    unseen = set(
        rng_for(config.seed, "participants", "unseen").choice(ids[1:], config.n_unseen, replace=False)
    )
    return tuple(
        Participant(pid, pid in unseen, draw_participant_look(rng_for(config.seed, pid, "look")))
        for pid in ids
    )


def chunk_sizes(total: int, rng: np.random.Generator) -> list[int]:
    """Split ``total`` segments into videos of SEGMENTS_PER_VIDEO size (the last may be shorter)."""
    low, high = SEGMENTS_PER_VIDEO
    sizes = []
    while total > high:
        sizes.append(int(rng.integers(low, high + 1)))
        total -= sizes[-1]
    return sizes + ([total] if total else [])


@dataclass(frozen=True)
class VideoSlot:
    """Who films a video, for which split, and how many annotated segments it holds."""

    participant_id: str
    split: str
    n_segments: int


def assign_videos(config: WorldConfig, participants: tuple[Participant, ...]) -> list[VideoSlot]:
    """Train and seen-participant validation videos go round-robin over the seen participants;
    a share of validation goes to the unseen ones."""
    rng = rng_for(config.seed, "layout", "videos")
    seen = [p.participant_id for p in participants if not p.unseen]
    unseen = [p.participant_id for p in participants if p.unseen]
    order = [str(pid) for pid in rng.permutation(seen)]
    n_unseen_val = (
        min(config.n_val, max(len(unseen), round(UNSEEN_VAL_SHARE * config.n_val))) if unseen else 0
    )
    sizes = [(TRAIN, n) for n in chunk_sizes(config.n_train, rng)]
    sizes += [(VALIDATION, n) for n in chunk_sizes(config.n_val - n_unseen_val, rng)]
    slots = [VideoSlot(order[i % len(order)], split, n) for i, (split, n) in enumerate(sizes)]
    for j, pid in enumerate(unseen):
        share = n_unseen_val // len(unseen) + (j < n_unseen_val % len(unseen))
        slots.extend(VideoSlot(pid, VALIDATION, n) for n in chunk_sizes(share, rng))
    return slots


def video_ids(slots: list[VideoSlot]) -> list[str]:
    """EK-55 style ids, numbered per participant in order: P01_01, P01_02, ..."""
    counts: Counter[str] = Counter()
    ids = []
    for slot in slots:
        counts[slot.participant_id] += 1
        if counts[slot.participant_id] > 99:
            # PXX_1YY would read as a 2020-extension video (nominal 50 fps): refuse instead.
            raise InputError(None, f"{slot.participant_id} would need more than 99 videos; add participants")
        ids.append(f"{slot.participant_id}_{counts[slot.participant_id]:02d}")
    return ids


# -- what happens in a video ------------------------------------------------------------------


def action_weights() -> np.ndarray:
    ranks = np.array([a.rank for a in vocab.ACTIONS], dtype=float)
    weights = ranks**-ZIPF_EXPONENT
    return weights / weights.sum()


def next_action(rng: np.random.Generator, previous: Action | None, weights: np.ndarray) -> Action:
    partner = vocab.mirror_partner(previous) if previous else None
    if partner is not None and rng.random() < MIRROR_FOLLOW_P:
        return partner
    return vocab.ACTIONS[int(rng.choice(len(vocab.ACTIONS), p=weights))]


def _pick_form(rng: np.random.Generator, forms: tuple[Form, ...]) -> Form:
    """Annotators favour the plain wording: the i-th form has weight 1 / (i + 1)."""
    weights = 1.0 / np.arange(1, len(forms) + 1)
    return forms[int(rng.choice(len(forms), p=weights / weights.sum()))]


def word(action: Action, rng: np.random.Generator) -> Wording:
    """A narration such as "pick up the mug" or "pour water into pasta pot" for ``action``."""
    verb = _pick_form(rng, vocab.VERBS[action.verb].forms)
    noun = _pick_form(rng, vocab.NOUNS[action.noun].forms)
    other = _pick_form(rng, vocab.NOUNS[action.other].forms) if "{other}" in verb.words else None
    article = "the " if rng.random() < 0.1 else ""
    narration = verb.words.format(noun=article + noun.words, other=other.words if other else "")
    return Wording(narration, verb, noun, other)


def plan_video(config: WorldConfig, video_id: str, slot: VideoSlot) -> VideoPlan:
    """A video's timeline: actions (with their wording and variation) separated by pauses."""
    pid, split = slot.participant_id, slot.split
    rng = rng_for(config.seed, video_id, "timeline")
    weights = action_weights()
    cursor = int(rng.integers(50, 300))
    previous: Action | None = None
    segments = []
    for k in range(slot.n_segments):
        action = next_action(rng, previous, weights)
        low, high = motion.duration_range(action)
        start, stop = cursor, cursor + int(round(rng.uniform(low, high) * 100))
        narration_ms = (
            None
            if rng.random() < EMPTY_NARRATION_TIME_P
            else max(0, start * 10 + int(rng.integers(-800, 500)))
        )
        nid = f"{video_id}_{k}"
        segments.append(
            SegmentPlan(
                narration_id=nid,
                participant_id=pid,
                video_id=video_id,
                split=split,
                action=action,
                start_cs=start,
                stop_cs=stop,
                narration_ms=narration_ms,
                wording=word(action, rng_for(config.seed, nid, "narration")),
                params=motion.draw_segment_params(rng_for(config.seed, nid, "params")),
            )
        )
        gap = rng.uniform(0.1, 2.0) if rng.random() < SHORT_GAP_P else rng.uniform(3.2, 6.0)
        cursor = stop + int(round(gap * 100))
        previous = action
    clutter = draw_clutter(rng_for(config.seed, video_id, "clutter"), count=3)
    return VideoPlan(video_id, pid, split, cursor, clutter, tuple(segments))


def plan_world(config: WorldConfig) -> WorldPlan:
    participants = plan_participants(config)
    slots = assign_videos(config, participants)
    videos = tuple(plan_video(config, vid, slot) for vid, slot in zip(video_ids(slots), slots, strict=True))
    return WorldPlan(config, participants, videos)
