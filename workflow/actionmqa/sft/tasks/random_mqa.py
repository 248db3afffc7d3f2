"""Random MQA: K-1 distractor classes drawn uniformly from the label space (the easy MQA variant)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from actionmqa.mqa.distractors import random_classes
from actionmqa.seeding import rng_for
from actionmqa.sft.segments import Segment
from actionmqa.sft.tasks.base import Sample
from actionmqa.sft.tasks.mqa import MQAAsker

TASK = "random_mqa"


@dataclass(frozen=True)
class RandomMQA:
    """``actions`` is the label map's sorted action list (it holds every ground truth)."""

    actions: Sequence[str]
    asker: MQAAsker
    n_options: int
    fraction: float
    seed: int
    name: str = TASK

    def samples(self, segment: Segment) -> list[Sample]:
        rng = rng_for(self.seed, segment.key, self.name, "classes")
        choice = random_classes(self.actions, segment.vn, self.n_options, rng)
        return [self.asker.ask(segment, self.name, choice)]
