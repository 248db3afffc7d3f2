"""``train.sampling``: batches of similar length, in random order, every sample once."""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch

from actionmqa.train.sampling import MEGABATCH_BATCHES, LengthGroupedBatches, length_grouped_order


def batches(order: list[int], size: int) -> list[list[int]]:
    return [order[i : i + size] for i in range(0, len(order), size)]


def test_a_worked_example_sorts_cuts_and_leaves_the_remainder_last() -> None:
    # lengths 5 1 4 2 3, batches of 2: by length 0 (5), 2 (4), 4 (3), 3 (2), 1 (1), so the batches
    # are [0, 2] and [4, 3] in either order, and sample 1 is left over
    seen = set()
    for seed in range(20):
        order = length_grouped_order([5, 1, 4, 2, 3], 2, torch.Generator().manual_seed(seed))
        assert order[-1] == 1
        seen.add(tuple(map(tuple, batches(order[:-1], 2))))
    assert seen == {((0, 2), (4, 3)), ((4, 3), (0, 2))}


def test_every_sample_once_and_batches_span_disjoint_length_ranges() -> None:
    lengths = [int(x) for x in torch.randint(10, 200, (300,), generator=torch.Generator().manual_seed(1))]
    order = length_grouped_order(lengths, 8, torch.Generator().manual_seed(0))
    assert sorted(order) == list(range(300))
    full = [b for b in batches(order, 8) if len(b) == 8]
    assert len(full) == 300 // 8
    # one megabatch (300 < 50 x 8): sorted and cut, so no batch's lengths reach into another's range
    spans = sorted((min(lengths[i] for i in b), max(lengths[i] for i in b)) for b in full)
    assert all(high <= next_low for (_, high), (next_low, _) in pairwise(spans))
    # and less padding than the random order it started from
    random = torch.randperm(300, generator=torch.Generator().manual_seed(0)).tolist()

    def padded(o: list[int]) -> int:
        return sum(8 * max(lengths[i] for i in b) for b in batches(o, 8) if len(b) == 8)

    assert padded(order) < 0.75 * padded(random)


def test_batches_are_shuffled_not_longest_first() -> None:
    lengths = list(range(16 * MEGABATCH_BATCHES))  # one full megabatch of batches of 16
    order = length_grouped_order(lengths, 16, torch.Generator().manual_seed(0))
    longest = [max(lengths[i] for i in b) for b in batches(order, 16)]
    assert sorted(longest) != longest and sorted(longest, reverse=True) != longest


@pytest.mark.parametrize("seed", [0, 3])
def test_the_sampler_draws_its_order_from_torchs_global_generator(seed: int) -> None:
    sampler = LengthGroupedBatches([3, 9, 1, 7, 5, 2, 8, 4], 2)
    torch.manual_seed(seed)
    epochs = [list(sampler) for _ in range(4)]
    torch.manual_seed(seed)
    assert [list(sampler) for _ in range(4)] == epochs and len(sampler) == 8
    assert len({tuple(epoch) for epoch in epochs}) > 1  # each epoch draws anew
