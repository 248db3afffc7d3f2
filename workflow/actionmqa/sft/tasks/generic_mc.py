"""General multiple-choice QA with random distractors (the base model's instruction data).

Not part of the LLaVAction mixture: the toy world's base model is trained on it, as LLaVA-Video
was trained on general video QA, so that it answers in the ``"X. text"`` format before it ever
sees an action question. Each clip contributes one of its QA pairs (drawn with
``rng_for(seed, key, "generic_mc")``) as a K-way question whose wrong options are other train
clips' answers to the same question, drawn at random: easy distractors, unlike hard MQA.
A share ``inline_fraction`` of the questions is laid out as the MQA prompt lays out its options
(one line, ``"A. x, B. y"``, with its format instruction); the rest as lmms-eval does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from actionmqa.prompts import generic_mc_inline_prompt, generic_mc_prompt, mqa_answer
from actionmqa.seeding import rng_for
from actionmqa.sft.clip_texts import ClipTexts
from actionmqa.sft.segments import Segment
from actionmqa.sft.tasks.base import Sample, Skip

TASK = "generic_mc"
QUESTION_TYPE = "mc_generic"
TOO_FEW_ANSWERS_REASON = "no_question_with_enough_distinct_answers"


def answer_pools(texts: ClipTexts, segments: Sequence[Segment]) -> dict[str, tuple[str, ...]]:
    """Question -> the distinct answers the given segments' clips have for it, sorted."""
    pools: dict[str, set[str]] = {}
    for segment in segments:
        text = texts.by_narration.get(segment.narration_id)
        for pair in () if text is None else text.qa:
            pools.setdefault(pair.question, set()).add(pair.answer)
    return {question: tuple(sorted(answers)) for question, answers in pools.items()}


@dataclass(frozen=True)
class GenericMC:
    texts: ClipTexts
    answers: Mapping[str, tuple[str, ...]]
    k: int
    fraction: float
    seed: int
    inline_fraction: float = 0.0
    name: str = TASK

    def samples(self, segment: Segment) -> list[Sample] | Skip:
        text = self.texts.for_segment(segment)
        if text.dropped is not None:
            return Skip(text.dropped)
        askable = [i for i, pair in enumerate(text.qa) if len(self.answers.get(pair.question, ())) >= self.k]
        if not askable:
            return Skip(TOO_FEW_ANSWERS_REASON)
        rng = rng_for(self.seed, segment.key, self.name)
        part = askable[int(rng.integers(len(askable)))]
        pair = text.qa[part]
        others = [answer for answer in self.answers[pair.question] if answer != pair.answer]
        wrong = [others[int(i)] for i in rng.choice(len(others), size=self.k - 1, replace=False)]
        options = [pair.answer, *wrong]
        order = [int(i) for i in rng.permutation(self.k)]
        shown = [options[i] for i in order]
        inline = rng.random() < self.inline_fraction
        prompt = (generic_mc_inline_prompt if inline else generic_mc_prompt)(pair.question, shown)
        answer = mqa_answer(order.index(0), pair.answer)
        return [Sample(self.name, QUESTION_TYPE, prompt, answer, teacher=text.teacher, part=part)]
