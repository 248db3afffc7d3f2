"""Open-ended QA: the teacher's questions about a clip, each its own record (``gpt-gt-instruct-reason``).

Upstream kept one random pair per clip (``apply_filter=True``) or all three; ``pairs_per_clip``
covers both. Fewer pairs than available are drawn with ``rng_for(seed, key, "open_qa", "pairs")``
and kept in their original order; ``part`` is a pair's position in the teacher's list.
"""

from __future__ import annotations

from dataclasses import dataclass

from actionmqa.seeding import rng_for
from actionmqa.sft.clip_texts import ClipTexts
from actionmqa.sft.segments import Segment
from actionmqa.sft.tasks.base import Sample, Skip

TASK = "open_qa"
QUESTION_TYPE = "gpt-gt-instruct-reason"
NO_PAIRS_REASON = "no_qa_pairs"


@dataclass(frozen=True)
class OpenQA:
    texts: ClipTexts
    pairs_per_clip: int
    fraction: float
    seed: int
    name: str = TASK

    def samples(self, segment: Segment) -> list[Sample] | Skip:
        text = self.texts.for_segment(segment)
        if text.dropped is not None:
            return Skip(text.dropped)
        if not text.qa:
            return Skip(NO_PAIRS_REASON)
        pairs = [(i, text.qa[i]) for i in self._chosen(segment, len(text.qa))]
        return [
            Sample(self.name, QUESTION_TYPE, pair.question, pair.answer, teacher=text.teacher, part=i)
            for i, pair in pairs
        ]

    def _chosen(self, segment: Segment, available: int) -> list[int]:
        if self.pairs_per_clip >= available:
            return list(range(available))
        rng = rng_for(self.seed, segment.key, self.name, "pairs")
        return sorted(rng.choice(available, size=self.pairs_per_clip, replace=False).tolist())
