"""What the MQA tasks share: option texts, option order and the prior-actions prompt variant.

The hard and random MQA tasks differ only in which K classes they offer; this module turns
those classes into one sample. Option texts are the benchmark's ``GT_random_narration`` texts
(``mqa.options.OptionTexter``: the clip's own narration, distractors drawn from the TRAIN
narration pools with distinct texts). Each draw is keyed by the record (segment key and task),
so two MQA tasks on one clip draw independently, as upstream's per-sample draws did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from actionmqa.mqa.distractors import ClassChoice
from actionmqa.mqa.options import OptionTexter
from actionmqa.prompts import mqa_answer, mqa_prompt, prior_actions_prompt
from actionmqa.seeding import rng_for
from actionmqa.sft.prior import PriorActions
from actionmqa.sft.records import record_id
from actionmqa.sft.segments import Segment
from actionmqa.sft.tasks.base import Sample

QUESTION_TYPE = "mc_GT_random_narration"
PRIOR_TAG = "prior_actions"


@dataclass(frozen=True)
class MQAAsker:
    """``prior`` maps narration ids to predecessors; ``prior_fraction`` of those get the variant prompt."""

    texter: OptionTexter
    prior: Mapping[str, PriorActions]
    prior_fraction: float
    seed: int

    def ask(self, segment: Segment, task: str, choice: ClassChoice) -> Sample:
        """The K classes (ground truth first) as one shuffled multiple-choice sample."""
        texts = self.texter.texts_for(record_id(segment.key, task), segment.narration, choice.option_vns)
        order = rng_for(self.seed, segment.key, task, "order").permutation(len(texts.texts)).tolist()
        options = [texts.texts[i] for i in order]
        answer_index = order.index(0)
        prompt, tags = self._prompt(segment, task, options)
        return Sample(
            task=task,
            question_type=QUESTION_TYPE,
            prompt=prompt,
            answer=mqa_answer(answer_index, options[answer_index]),
            tags=tags + tuple(f"label_text_{fallback.value}" for fallback in texts.fallbacks),
        )

    def _prompt(self, segment: Segment, task: str, options: list[str]) -> tuple[str, tuple[str, ...]]:
        """Upstream's gate (``random.random() < 0.3``) as a per-record seeded draw."""
        history = self.prior.get(segment.narration_id)
        if history is None or rng_for(self.seed, segment.key, "prior", task).random() >= self.prior_fraction:
            return mqa_prompt(options), ()
        prompt = prior_actions_prompt(
            options,
            history.prev2_narration,
            history.prev2_offset,
            history.prev1_narration,
            history.prev1_offset,
        )
        return prompt, (PRIOR_TAG,)
