"""The option-likelihood view of MQA: which answer string does the model find most probable?

Generation can fail in ways that say nothing about recognition (a rambling answer, a
paraphrased option the exact-match parser misses); scoring each ``"X. text"`` by its summed
log-probability after the prompt asks the model to rank the options instead.

The options of one question share everything up to the assistant header: the vision tower and
the (mostly visual) prompt. That prefix goes through the model once, with its key/value cache
kept; the cache is then repeated along the batch and all options' answer tokens go through one
small batched forward over it. The numbers are those of scoring each full sequence apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

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

    For scoring full labelled sequences: full-sequence logits of a 7B model over 64 frames (13K
    positions x 152K vocabulary) would take tens of GB per option; the answers need only their
    own few positions.
    """
    first_answer = int((labels != IGNORE_INDEX).int().argmax(-1).min())
    return labels.shape[1] - first_answer + 1


def pad_answers(answer_ids: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ``[answers, longest]`` input ids, and the same with ``IGNORE_INDEX`` on the padding.

    Right padding sits after every real token, so causal attention alone keeps it out of their
    scores, and each row's positions continue straight from the prefix.
    """
    length = max(len(ids) for ids in answer_ids)
    inputs = torch.full((len(answer_ids), length), pad_id, dtype=torch.long)
    labels = torch.full((len(answer_ids), length), IGNORE_INDEX, dtype=torch.long)
    for row, ids in enumerate(answer_ids):
        inputs[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        labels[row, : len(ids)] = inputs[row, : len(ids)]
    return inputs, labels


@dataclass(frozen=True)
class LikelihoodScorer:
    """Scores the answer tokens only: no end-of-turn marker, so every option is judged on its text.

    Prompt and answer are tokenised apart, as ``ChatCollator`` does for training, so the prefix
    is the same token sequence under every option and its cache can be shared.
    """

    loaded: LoadedModel

    def __call__(self, question: ChatSample, answers: Sequence[str]) -> list[float]:
        if not answers:
            return []
        tokenizer = self.loaded.tokenizer
        answer_ids = [tokenizer(answer, add_special_tokens=False).input_ids for answer in answers]
        if not any(answer_ids):
            return [0.0] * len(answers)  # nothing to score: an empty sum, as a full-sequence pass gives
        prompt = self.loaded.to_device(self.loaded.collator(train=False)([question]))
        inputs, labels = pad_answers(answer_ids, tokenizer.pad_token_id)
        model = self.loaded.model
        with torch.inference_mode():
            prefix = model(**prompt, use_cache=True, logits_to_keep=1)
            cache = prefix.past_key_values
            cache.batch_repeat_interleave(len(answers))
            answer_logits = model(
                input_ids=inputs.to(model.device), past_key_values=cache, use_cache=True
            ).logits
        # The prefix's last logits predict each answer's first token; a leading unlabelled
        # column lines them up with summed_logprobs' shift-by-one.
        first = prefix.logits[:, -1:].expand(len(answers), -1, -1)
        logits = torch.cat([first, answer_logits], dim=1)
        labels = torch.cat([torch.full((len(answers), 1), IGNORE_INDEX), labels], dim=1)
        return summed_logprobs(logits, labels.to(logits.device)).tolist()


def best_answer(scores: Sequence[float]) -> int:
    """Index of the highest score; the first one on a tie."""
    return max(range(len(scores)), key=scores.__getitem__)
