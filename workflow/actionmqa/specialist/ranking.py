"""From verb and noun head scores to ranked ``"verb:noun"`` lists, the TIM/AVION prediction format.

The action score is ``score(v:n) = log p(v) + log p(n)``, i.e. the heads are treated as
independent and only actions of the label space (every ``v:n`` seen in train or val) compete.
Unlike the official EK100 script (a softmax over the top-100 logits of each head) this uses
the heads' own probabilities, which is the natural product rule for calibrated heads. Ties are
broken by the label-space order, so rankings are deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from actionmqa.ek100.labels import split_vn
from actionmqa.specialist.classifier import HeadScores

#: Rows scored at once: bounds memory to about ``batch * n_actions`` floats (EK100: 3,806 actions).
BATCH_ROWS = 4096


def split_actions(actions: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``["3:12", ...]`` -> (verb ids, noun ids) as int arrays."""
    pairs = [split_vn(vn) for vn in actions]
    return (
        np.array([verb for verb, _ in pairs], dtype=np.int64),
        np.array([noun for _, noun in pairs], dtype=np.int64),
    )


def rank_actions(scores: HeadScores, actions: Sequence[str], top_k: int) -> list[list[str]]:
    """Per row, the ``top_k`` best actions of ``actions`` (fewer if the label space is smaller)."""
    verb_ids, noun_ids = split_actions(actions)
    labels = np.asarray(actions, dtype=object)
    keep = min(top_k, len(actions))
    ranked: list[list[str]] = []
    for start in range(0, len(scores), BATCH_ROWS):
        stop = start + BATCH_ROWS
        action_scores = scores.verb[start:stop][:, verb_ids] + scores.noun[start:stop][:, noun_ids]
        order = top_indices(action_scores, keep)
        ranked.extend(labels[row].tolist() for row in order)
    return ranked


def top_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` highest scores per row, best first; ties keep column order."""
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]
