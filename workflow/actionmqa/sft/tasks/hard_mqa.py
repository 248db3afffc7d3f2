"""Hard MQA, the paper's main task: distractors from one specialist's ranked train predictions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from actionmqa.seeding import rng_for
from actionmqa.sft.distractors import train_hard_classes
from actionmqa.sft.segments import Segment
from actionmqa.sft.tasks.base import Sample
from actionmqa.sft.tasks.mqa import MQAAsker

TASK_PREFIX = "hard_mqa"
GT_OUTSIDE_TAG = "gt_outside_top_2k"


def hard_mqa_task(source: str) -> str:
    """One task per prediction source (``hard_mqa_avion``, ``hard_mqa_tim``), as upstream's two files."""
    return f"{TASK_PREFIX}_{source}"


@dataclass(frozen=True)
class HardMQA:
    """``ranked`` maps CSV rows to the source's predictions, best first (at least 2K each)."""

    source: str
    ranked: Mapping[int, Sequence[str]]
    asker: MQAAsker
    n_options: int
    fraction: float
    seed: int

    @property
    def name(self) -> str:
        return hard_mqa_task(self.source)

    def samples(self, segment: Segment) -> list[Sample]:
        rng = rng_for(self.seed, segment.key, self.name, "distractors")
        choice = train_hard_classes(self.ranked[segment.row], segment.vn, self.n_options, rng)
        sample = self.asker.ask(segment, self.name, choice)
        if choice.gt_injected:
            sample = replace(sample, tags=(*sample.tags, GT_OUTSIDE_TAG))
        return [sample]
