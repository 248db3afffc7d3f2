"""General video multiple choice on train clips of several actions (the toy base's instruction data).

Not part of the LLaVAction mixture. LLaVA-Video-178K, the general instruction data LLaVA-Video
learnt from, holds multiple-choice questions about whole videos (NExT-QA, Perception Test and
others' train splits: what happened first, how often, what next), answered with the option's
letter and text; that is where a base model learns to answer any listed question as
``"X. option text"``, by copying the option it means, before it meets an action question. The
toy base gets the same from its world's train split: each selected segment starts a window of
the following actions of its video (``MIN_SECONDS``-``MAX_SECONDS``, cut in the pauses between
actions, as the toy benchmarks' clips are), and is asked one question of the toy benchmarks'
kinds (``actionmqa.toybench.questions``) about it. The benchmarks themselves ask about the
validation split only. Options that name actions are worded as people narrated them (a train
narration of the action, drawn per option), not by the benchmarks' one formula ("closed the
jar"): an answer's wording then cannot be recalled from the video, only copied from the list.

Draws are keyed by ``rng_for(seed, key, "video_mc", ...)``: window length, kind rotation, option
count, voice, layout and the question's own options. Records keep the anchor segment's action
ids, as temporal detection does (the base trains no action head; replay sets them to -1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from actionmqa.prompts import generic_mc_inline_prompt, generic_mc_prompt, mqa_answer
from actionmqa.seeding import rng_for
from actionmqa.sft.segments import Segment
from actionmqa.sft.tasks.base import Sample, Skip
from actionmqa.toybench.clips import clip_from
from actionmqa.toybench.questions import Context, Kind, ask
from actionmqa.toybench.wording import CAMERA_WEARER, CAMERA_WEARER_C, THE_PERSON, action_phrase
from actionmqa.toybench.world import SourceVideo, World

TASK = "video_mc"
QUESTION_TYPE = "mc_video"
NO_QUESTION_REASON = "no_question_fits_the_window"
MIN_SECONDS, MAX_SECONDS = 6.0, 16.0
#: The kinds a one-window clip supports ("exists" only with two options, "yes" and "no").
KINDS = (
    Kind.FIRST,
    Kind.AFTER,
    Kind.NEXT,
    Kind.COUNT,
    Kind.TOUCHED,
    Kind.EXISTS,
    Kind.COLOUR,
    Kind.DIRECTION,
    Kind.ANTONYM,
)
#: Options of every kind but "exists" (the toy benchmarks ask with 3-5).
OPTION_COUNTS = (3, 4, 5)
VOICES = (THE_PERSON, CAMERA_WEARER, CAMERA_WEARER_C)

#: The kinds whose options name actions.
ACTION_KINDS = frozenset({Kind.FIRST, Kind.AFTER, Kind.NEXT, Kind.ANTONYM})

Start = tuple[SourceVideo, int]
Action = tuple[str, str]


def window_starts(world: World) -> dict[str, Start]:
    """Narration id -> its video and the index of its action there: where its window starts."""
    return {
        event.narration_id: (video, index)
        for video in world.videos
        for index, event in enumerate(video.events)
    }


def narrations_by_phrase(world: World) -> dict[str, tuple[str, ...]]:
    """An action's option phrase, in both tenses ("closed the jar", "close the jar") -> the
    distinct narrations of that action in the world's split, sorted."""
    narrations: dict[Action, set[str]] = {}
    for event in world.events():
        narrations.setdefault(event.action, set()).add(event.narration)
    return {
        action_phrase(*action, tense): tuple(sorted(texts))
        for action, texts in narrations.items()
        for tense in ("past", "base")
    }


@dataclass(frozen=True)
class VideoMC:
    """``questions`` per window, of distinct kinds (``part`` numbers them)."""

    world: World
    starts: Mapping[str, Start]
    narrations: Mapping[str, tuple[str, ...]]
    fraction: float
    seed: int
    inline_fraction: float = 0.0
    questions: int = 1
    name: str = TASK

    @classmethod
    def of(
        cls, world: World, fraction: float, seed: int, inline_fraction: float = 0.0, questions: int = 1
    ) -> VideoMC:
        starts, narrations = window_starts(world), narrations_by_phrase(world)
        return cls(world, starts, narrations, fraction, seed, inline_fraction, questions)

    def worded(self, options: tuple[str, ...], rng: np.random.Generator) -> tuple[str, ...]:
        """Each action option as one of its narrations; the phrases unchanged where one names an
        action nobody narrated (a mirror the split lacks) or two narrations would coincide."""
        if not all(option in self.narrations for option in options):
            return options
        texts = tuple(pool[int(rng.integers(len(pool)))] for pool in (self.narrations[o] for o in options))
        return texts if len(set(texts)) == len(texts) else options

    def samples(self, segment: Segment) -> list[Sample] | Skip:
        video, first = self.starts[segment.narration_id]
        draw = rng_for(self.seed, segment.key, self.name)
        clip = clip_from(video, first, float(draw.uniform(MIN_SECONDS, MAX_SECONDS)))
        (piece,) = clip.pieces
        voice = VOICES[int(draw.integers(len(VOICES)))]
        layout = generic_mc_inline_prompt if draw.random() < self.inline_fraction else generic_mc_prompt
        rotation = int(draw.integers(len(KINDS)))
        samples: list[Sample] = []
        for kind in KINDS[rotation:] + KINDS[:rotation]:
            n_options = 2 if kind is Kind.EXISTS else OPTION_COUNTS[int(draw.integers(len(OPTION_COUNTS)))]
            rng = rng_for(self.seed, segment.key, self.name, kind.value)
            question = ask(kind, clip, Context(self.world, voice, n_options, rng))
            if question is None:
                continue
            options = self.worded(question.options, rng) if kind in ACTION_KINDS else question.options
            samples.append(
                Sample(
                    self.name,
                    QUESTION_TYPE,
                    layout(question.question, options),
                    mqa_answer(question.answer, options[question.answer]),
                    start_sec=round(piece.start_sec, 2),
                    stop_sec=round(piece.stop_sec, 2),
                    part=None if self.questions == 1 else len(samples),
                    tags=(kind.value,),
                )
            )
            if len(samples) == self.questions:
                break
        return samples or Skip(NO_QUESTION_REASON)
