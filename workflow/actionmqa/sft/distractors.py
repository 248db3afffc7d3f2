"""Train-side hard distractors (spec/llavaction.md §1.5, ``AvionMultiChoiceGenerator.train_generate``).

The benchmark takes the specialist's top-K deterministically (``mqa.distractors``); training
instead draws K-1 distractors at random from the top 2K without the ground truth, so the model
sees varied confusable classes for the same clip.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from actionmqa.mqa.distractors import ClassChoice


def train_hard_classes(ranked: Sequence[str], gt_vn: str, k: int, rng: np.random.Generator) -> ClassChoice:
    """Top 2K predictions, ground truth removed, shuffled, K-1 kept; ground truth first in the result.

    Upstream then adds the ground truth and shuffles again: callers shuffle the K options, as
    the benchmark builder does. ``gt_injected`` says the ground truth was outside the top 2K.
    """
    top = list(ranked[: 2 * k])
    candidates = [vn for vn in top if vn != gt_vn]
    if len(candidates) < k - 1:
        raise ValueError(f"{len(candidates)} non-ground-truth classes in the top {2 * k} for {k} options")
    picked = rng.permutation(len(candidates))[: k - 1].tolist()
    return ClassChoice((gt_vn, *(candidates[i] for i in picked)), gt_injected=gt_vn not in top)
