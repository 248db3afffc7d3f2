"""Which action classes fill the K options (spec/llavaction.md §1.5, benchmark side).

Each function returns the K classes with the ground truth FIRST and the distractors after it in
their own order (specialist rank, or draw order); the builder shuffles them afterwards. Keeping
the ground truth first lets the option texts be chosen with the ground truth's text fixed.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np


class DistractorKind(str, Enum):
    """``medium`` and ``hard`` differ only in the specialist behind the predictions (AVION, TIM)."""

    RANDOM = "random"
    MEDIUM = "medium"
    HARD = "hard"

    @property
    def needs_predictions(self) -> bool:
        return self is not DistractorKind.RANDOM


@dataclass(frozen=True)
class ClassChoice:
    """The K option classes, ground truth first; ``gt_injected`` when it was not in the top-K."""

    option_vns: tuple[str, ...]
    gt_injected: bool = False


def specialist_classes(ranked: Sequence[str], gt_vn: str, k: int) -> ClassChoice:
    """The specialist's top-K; if the ground truth is absent, drop the K-th and add the ground truth.

    No randomness: this is the paper's GT + top-(K-1) of the specialist without the GT.
    """
    if len(ranked) < k:
        raise ValueError(f"{len(ranked)} predictions for {k} options")
    top = list(ranked[:k])
    injected = gt_vn not in top
    distractors = top[: k - 1] if injected else [vn for vn in top if vn != gt_vn]
    return ClassChoice((gt_vn, *distractors), gt_injected=injected)


def random_classes(actions: Sequence[str], gt_vn: str, k: int, rng: np.random.Generator) -> ClassChoice:
    """K-1 classes drawn uniformly without replacement from ``actions`` minus the ground truth's class.

    ``actions`` must be sorted and hold ``gt_vn``. Upstream could draw the ground truth again as a
    distractor; excluding it here keeps every option a different class.
    """
    others = len(actions) - 1
    if others < k - 1:
        raise ValueError(f"label space of {len(actions)} actions is too small for {k} options")
    gt_position = bisect.bisect_left(actions, gt_vn)
    if gt_position == len(actions) or actions[gt_position] != gt_vn:
        raise ValueError(f"ground truth {gt_vn!r} is not in the label space")
    drawn = rng.choice(others, size=k - 1, replace=False)
    # Skip over the ground truth's slot, so index i of "all but the GT" maps into ``actions``.
    return ClassChoice((gt_vn, *(actions[i + (i >= gt_position)] for i in drawn.tolist())))
