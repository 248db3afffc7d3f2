"""From the released specialists' probabilities to ranked ``verb:noun`` lists and their accuracy.

- Action scores are the softmax of the action head over AVION's label space (the distinct
  ``verb:noun`` of train + validation, sorted as strings). An ensemble averages its members'
  action softmaxes (the TIM stand-in: AVION ViT-L and LaViLa TimeSformer-L).
- Verb and noun scores are sums of action probabilities over the actions sharing that verb or
  noun, as AVION's ``evaluation_ek100cls.marginalize`` computes them. A verb or noun that no
  action uses scores 0 here (upstream copies action 0's probability; no EK100 class is affected).
- LaViLa's multi-head model alone is ranked, as LaViLa's ``validate_multihead`` reports it, by
  its action head, with its own verb and noun heads for the verb and noun accuracies.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from actionmqa.ek100.schema import N_NOUNS, N_VERBS
from actionmqa.specialist.classifier import HeadScores
from actionmqa.specialist.ranking import BATCH_ROWS, split_actions, top_indices
from actionmqa.specialist.released.scores import ScoreShard


def ensemble_action_probs(members: Sequence[ScoreShard]) -> np.ndarray:
    """The mean of the members' action softmaxes (one member: its own), summed in place: EK100
    train is 67k x 3,806 floats (1 GB) per member."""
    if not members:
        raise ValueError("an ensemble needs at least one member")
    shapes = {member.probs["action"].shape for member in members}
    if len(shapes) > 1:
        raise ValueError(f"members disagree on the action scores' shape: {sorted(shapes)}")
    if len(members) == 1:
        return members[0].probs["action"]
    total = members[0].probs["action"].astype(np.float32, copy=True)
    for member in members[1:]:
        total += member.probs["action"]
    total /= len(members)
    return total


def marginal_scores(action_probs: np.ndarray, actions: Sequence[str]) -> HeadScores:
    """Verb ``[n, 97]`` and noun ``[n, 300]`` scores as sums over the actions that contain them."""
    verb_ids, noun_ids = split_actions(actions)
    return HeadScores(
        verb=_sum_columns(action_probs, verb_ids, N_VERBS),
        noun=_sum_columns(action_probs, noun_ids, N_NOUNS),
    )


def head_scores(
    members: Sequence[ScoreShard], action_probs: np.ndarray, actions: Sequence[str]
) -> HeadScores:
    """A lone multi-head model's own verb and noun heads, else the marginals of ``action_probs``."""
    if len(members) == 1 and {"verb", "noun"} <= set(members[0].probs):
        return HeadScores(verb=members[0].probs["verb"], noun=members[0].probs["noun"])
    return marginal_scores(action_probs, actions)


def rank(action_probs: np.ndarray, actions: Sequence[str], top_k: int) -> list[list[str]]:
    """Per row, the ``top_k`` most probable actions, best first (ties in label-space order)."""
    if action_probs.shape[1] != len(actions):
        raise ValueError(f"{action_probs.shape[1]} action scores for a label space of {len(actions)}")
    labels = np.asarray(actions, dtype=object)
    keep = min(top_k, len(actions))
    ranked: list[list[str]] = []
    for start in range(0, len(action_probs), BATCH_ROWS):
        ranked.extend(
            labels[row].tolist() for row in top_indices(action_probs[start : start + BATCH_ROWS], keep)
        )
    return ranked


def _sum_columns(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    out = np.zeros((len(values), n_groups), dtype=np.float32)
    for group in np.unique(groups):
        out[:, group] = values[:, groups == group].sum(axis=1)
    return out
