"""EPIC-KITCHENS-100 action-recognition metrics, as the official C1-Action-Recognition
``evaluate.py`` computes them (spec/benchmarks.md §3.4).

Inputs are per-segment verb scores [N, 97] and noun scores [N, 300], treated as logits. An
action is ``verb * 1000 + noun``. Its ranking is built the official way: the top-100 verbs and
the top-100 nouns, a softmax over each set of 100 (so passing probabilities changes the
ranking, pitfall 3), their outer product, and the top 100 pairs. Accuracies are "the label is
within the first k of the ranking", averaged over segments and reported x100.

Ties are broken towards the lower class id (a stable sort); the official ``argsort`` leaves
their order to NumPy's default sort.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from actionmqa.ek100.schema import N_NOUNS, N_VERBS

ACTION_TOP_K = 100
ACTION_BASE = 1000


def action_id(verb: np.ndarray | int, noun: np.ndarray | int) -> np.ndarray | int:
    """``verb * 1000 + noun`` (``utils/actions.py``)."""
    return verb * ACTION_BASE + noun


def ranked(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` highest scores per row, best first (ties: lower index first)."""
    return np.argsort(-scores, axis=-1, kind="stable")[..., :k]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class ActionRanking:
    """Per segment, the top action ids (best first) and their scores p(verb) * p(noun)."""

    actions: np.ndarray
    scores: np.ndarray


def compute_action_scores(
    verb_scores: np.ndarray, noun_scores: np.ndarray, top_k: int = ACTION_TOP_K
) -> ActionRanking:
    """The official action ranking: top-k verbs x top-k nouns, softmax over each, outer product.

    With 97 verb classes "top-100 verbs" is all of them, so the softmax over verbs is the full
    one; over nouns it covers the 100 best of 300.
    """
    verb_scores = np.asarray(verb_scores, dtype=np.float64)
    noun_scores = np.asarray(noun_scores, dtype=np.float64)
    verbs = ranked(verb_scores, top_k)
    nouns = ranked(noun_scores, top_k)
    verb_p = softmax(np.take_along_axis(verb_scores, verbs, axis=-1))
    noun_p = softmax(np.take_along_axis(noun_scores, nouns, axis=-1))
    joint = (verb_p[:, :, None] * noun_p[:, None, :]).reshape(len(verbs), -1)
    best = ranked(joint, top_k)
    verb_pos, noun_pos = np.unravel_index(best, (verbs.shape[1], nouns.shape[1]))
    actions = action_id(
        np.take_along_axis(verbs, verb_pos, axis=-1), np.take_along_axis(nouns, noun_pos, axis=-1)
    )
    return ActionRanking(actions=actions, scores=np.take_along_axis(joint, best, axis=-1))


def topk_accuracy(rankings: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Fraction of rows whose label is among the first ``k`` ranked ids; NaN for no rows."""
    if len(labels) == 0:
        return float("nan")
    return float(np.mean(np.any(rankings[:, :k] == np.asarray(labels)[:, None], axis=1)))


def evaluate(
    verb_scores: np.ndarray,
    noun_scores: np.ndarray,
    verb_labels: Sequence[int],
    noun_labels: Sequence[int],
    participants: Sequence[str],
    tail_verbs: Collection[int],
    tail_nouns: Collection[int],
    unseen_participants: Collection[str],
) -> dict[str, float]:
    """All official metrics, x100.

    ``all_{verb,noun,action}_accuracy_at_{1,5}``; ``tail_*_accuracy_at_1`` on segments whose
    verb is a tail verb, noun a tail noun, and for action verb tail OR noun tail;
    ``unseen_*_accuracy_at_1`` on unseen participants' segments (P18, P32 on validation: the
    README's example passes the test list and silently gets none, pitfall 2). An empty subset
    gives NaN, and its size is reported as ``n_<subset>`` so that is visible.
    """
    verb_scores = np.asarray(verb_scores, dtype=np.float64)
    noun_scores = np.asarray(noun_scores, dtype=np.float64)
    n = len(verb_labels)
    if verb_scores.shape != (n, N_VERBS) or noun_scores.shape != (n, N_NOUNS):
        raise ValueError(
            f"expected verb scores [{n}, {N_VERBS}] and noun scores [{n}, {N_NOUNS}],"
            f" got {verb_scores.shape} and {noun_scores.shape}"
        )
    verbs = np.asarray(verb_labels)
    nouns = np.asarray(noun_labels)
    rankings = {
        "verb": (ranked(verb_scores, 5), verbs),
        "noun": (ranked(noun_scores, 5), nouns),
        "action": (compute_action_scores(verb_scores, noun_scores).actions, action_id(verbs, nouns)),
    }
    tail_verb = np.isin(verbs, list(tail_verbs))
    tail_noun = np.isin(nouns, list(tail_nouns))
    subsets = {
        "tail": {"verb": tail_verb, "noun": tail_noun, "action": tail_verb | tail_noun},
        "unseen": dict.fromkeys(rankings, np.isin(np.asarray(participants), list(unseen_participants))),
    }
    metrics: dict[str, float] = {}
    for task, (ranking, labels) in rankings.items():
        for k in (1, 5):
            metrics[f"all_{task}_accuracy_at_{k}"] = 100 * topk_accuracy(ranking, labels, k)
        for subset, masks in subsets.items():
            mask = masks[task]
            metrics[f"{subset}_{task}_accuracy_at_1"] = 100 * topk_accuracy(ranking[mask], labels[mask], 1)
            metrics[f"n_{subset}_{task}"] = int(mask.sum())
    return metrics
