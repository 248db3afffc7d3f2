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
        new_tokens = output[:, batch["input_ids"].shape[1] :]
        return [text.strip() for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]
