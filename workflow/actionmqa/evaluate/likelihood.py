"""The option-likelihood view of MQA: which answer string does the model find most probable?

Generation can fail in ways that say nothing about recognition (a rambling answer, a
paraphrased option the exact-match parser misses); scoring each ``"X. text"`` by its summed
log-probability after the prompt asks the model to rank the options instead. All options of
one question go through one batched forward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import torch

from actionmqa.evaluate.loading import LoadedModel
from actionmqa.model.modeling import IGNORE_INDEX
from actionmqa.model.processing import ChatSample

#: A prompt (with frames) and candidate answers -> one summed log-likelihood per answer.
ScoreAnswers = Callable[[ChatSample, Sequence[str]], list[float]]


def summed_logprobs(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per row, the sum of ``log p(label_t | tokens < t)`` over labelled positions (``[batch]``)."""
    targets = labels[:, 1:]
    logprobs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    picked = logprobs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * (targets != IGNORE_INDEX)).sum(-1)


def answer_span(labels: torch.Tensor) -> int:
    """Trailing positions whose logits are needed: from the one before the earliest answer token on.

    Full-sequence logits of a 7B model over 64 frames (13K positions x 152K vocabulary) would
    take tens of GB per option; the answers need only their own few positions.
    """
    first_answer = int((labels != IGNORE_INDEX).int().argmax(-1).min())
    return labels.shape[1] - first_answer + 1


@dataclass(frozen=True)
class LikelihoodScorer:
    """Scores the answer tokens only: no end-of-turn marker, so every option is judged on its text."""

    loaded: LoadedModel

    def __call__(self, question: ChatSample, answers: Sequence[str]) -> list[float]:
        collate = self.loaded.collator(train=True, end_of_turn="")
        batch = self.loaded.to_device(collate([replace(question, answer=answer) for answer in answers]))
        labels = batch.pop("labels")
        batch.pop("actions", None)
        keep = answer_span(labels)
        with torch.inference_mode():
            logits = self.loaded.model(**batch, logits_to_keep=keep).logits
        return summed_logprobs(logits, labels[:, -keep:]).tolist()


def best_answer(scores: Sequence[float]) -> int:
    """Index of the highest score; the first one on a tie."""
    return max(range(len(scores)), key=scores.__getitem__)
