"""The order a run draws its samples in: random, or in batches of similar length (``group_by_length``).

A batch is padded to its longest conversation, and the toy mixture's prompts run from a short
caption request to a five-option MQA prompt with a time instruction: in random batches half the
language model's tokens were padding. Grouping by length (transformers' ``LengthGroupedSampler``
idea: sort each "megabatch" of 50 random batches by length and cut it into batches) removes most
of it; unlike that sampler, the batches are then shuffled, so a run does not meet a block of
long MQA batches and then a block of short caption batches every 50 steps. Upstream's
``group_by_modality_length`` only balances lengths across ranks, which a one-process run lacks.

The order comes from one draw of torch's global generator, as the Trainer's ``RandomSampler``
takes it, so the Trainer's seeding and its checkpointed RNG states govern both alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler

#: Batches per megabatch, as transformers' ``get_length_grouped_indices``.
MEGABATCH_BATCHES = 50


def length_grouped_order(lengths: Sequence[int], batch_size: int, generator: torch.Generator) -> list[int]:
    """Indices whose consecutive ``batch_size`` slices hold samples of similar length, the full
    batches in random order, then the remainder (dropped by a ``drop_last`` loader)."""
    indices = torch.randperm(len(lengths), generator=generator).tolist()
    size = MEGABATCH_BATCHES * batch_size
    batches: list[list[int]] = []
    remainder: list[int] = []
    for start in range(0, len(indices), size):
        megabatch = sorted(indices[start : start + size], key=lambda i: -lengths[i])
        for i in range(0, len(megabatch), batch_size):
            batch = megabatch[i : i + batch_size]
            if len(batch) == batch_size:
                batches.append(batch)
            else:
                remainder += batch
    order = torch.randperm(len(batches), generator=generator).tolist()
    return [index for b in order for index in batches[b]] + remainder


class LengthGroupedBatches(Sampler[int]):
    """``length_grouped_order`` anew each epoch, seeded from torch's global generator."""

    def __init__(self, lengths: Sequence[int], batch_size: int) -> None:
        self.lengths = list(lengths)
        self.batch_size = batch_size

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        seed = int(torch.empty((), dtype=torch.int64).random_().item())  # as RandomSampler draws it
        generator = torch.Generator().manual_seed(seed)
        return iter(length_grouped_order(self.lengths, self.batch_size, generator))
