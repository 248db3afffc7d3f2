"""Batched greedy generation: prompts with frames in, decoded answers out.

Evaluation code depends only on the ``Generate`` signature, so scoring can be tested with a
fake generator that returns chosen strings, independently of any model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from actionmqa.evaluate.loading import LoadedModel
from actionmqa.model.processing import ChatSample

#: A batch of prompts (with frames) -> one decoded answer per prompt, in order.
Generate = Callable[[Sequence[ChatSample]], list[str]]


@dataclass(frozen=True)
class GreedyGenerator:
    """Upstream's decoding (``do_sample=False``), with left padding so a batch equals one-by-one.

    ``max_new_tokens`` is small by default: an MQA answer is a letter and a short narration,
    and upstream's 4096 only costs time when a model rambles.
    """

    loaded: LoadedModel
    max_new_tokens: int = 32

    def __call__(self, samples: Sequence[ChatSample]) -> list[str]:
        new_tokens = self.new_tokens(samples)
        return [
            text.strip() for text in self.loaded.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        ]

    def token_ids(self, samples: Sequence[ChatSample]) -> list[list[int]]:
        """Each answer's generated ids up to its end of generation: what ``__call__`` decodes,
        comparable even where ids have no text (a random model's, beyond a small vocabulary)."""
        stops = {self.loaded.tokenizer.eos_token_id, self.loaded.tokenizer.pad_token_id}
        answers = []
        for row in self.new_tokens(samples).tolist():
            end = next((index for index, token in enumerate(row) if token in stops), len(row))
            answers.append(row[:end])
        return answers

    def new_tokens(self, samples: Sequence[ChatSample]) -> torch.Tensor:
        """``[batch, new]`` generated ids, finished answers padded."""
        tokenizer = self.loaded.tokenizer
        batch = self.loaded.to_device(self.loaded.collator(train=False)(samples))
        with torch.inference_mode():
            output = self.loaded.model.generate(
                **batch,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
        return output[:, batch["input_ids"].shape[1] :]
