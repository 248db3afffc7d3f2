"""Option lists: the right answer among seeded distractors, in a seeded position.

Distractors come in tiers, used in order: the hardest first (the mirror action, which only
the direction of motion rules out; other actions of the same clip, which only their order
rules out), then the world's other classes fill the rest. The answer's position is drawn,
so always answering "A" scores at chance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def choose_options(
    correct: str, tiers: Sequence[Sequence[str]], n: int, rng: np.random.Generator
) -> tuple[tuple[str, ...], int] | None:
    """``n`` distinct options containing ``correct`` and the index of it; ``None`` if too few distractors."""
    distractors: list[str] = []
    for tier in tiers:
        fresh = [d for d in dict.fromkeys(tier) if d != correct and d not in distractors]
        picked = rng.permutation(len(fresh))[: n - 1 - len(distractors)]
        distractors.extend(fresh[int(i)] for i in picked)
    if len(distractors) < n - 1:
        return None
    options = [correct, *distractors]
    order = [int(i) for i in rng.permutation(n)]
    return tuple(options[i] for i in order), order.index(0)


def number_options(truth: int, n: int, rng: np.random.Generator) -> tuple[tuple[str, ...], int]:
    """``n`` consecutive counts in ascending order with ``truth`` at a seeded position (never below 0)."""
    start = max(0, truth - int(rng.integers(n)))
    return tuple(str(start + k) for k in range(n)), truth - start
