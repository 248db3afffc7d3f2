"""EK100 recognition metrics for the specialist (spec/benchmarks.md §3.4), as fractions in [0, 1].

Top-k means "ground truth within the first k of the ranking". Verb and noun accuracies rank the
heads' own scores, as the official script does; action accuracies rank the prediction lists
that become distractors. The tail subset for actions is "tail verb OR tail noun" (official rule).
The confusion summary names the class pairs the specialist mixes up most, so users can see
its blind spot (the mirror-pair verbs for an order-blind model).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from actionmqa.ek100.annotations import AnnotationSet
from actionmqa.specialist.classifier import HeadScores
from actionmqa.specialist.ranking import top_indices

TOP_KS: tuple[int, ...] = (1, 5)


@dataclass(frozen=True)
class Subsets:
    """The official evaluation subsets; empty sets mean "not available" and skip the metric."""

    tail_verbs: frozenset[int] = field(default_factory=frozenset)
    tail_nouns: frozenset[int] = field(default_factory=frozenset)
    unseen_participants: frozenset[str] = field(default_factory=frozenset)

    def for_train(self) -> Subsets:
        """The unseen list names validation participants; on the train split it has no meaning."""
        return replace(self, unseen_participants=frozenset())

    @classmethod
    def from_annotations(cls, annotations: AnnotationSet) -> Subsets:
        return cls(
            tail_verbs=frozenset(annotations.tail_verbs),
            tail_nouns=frozenset(annotations.tail_nouns),
            unseen_participants=frozenset(annotations.unseen_participants),
        )


def hits_at_k(ranked: Sequence[Sequence[Hashable]], targets: Sequence[Hashable], k: int) -> np.ndarray:
    """Boolean per row: is the target among the first ``k`` entries of its ranking?"""
    if len(ranked) != len(targets):
        raise ValueError(f"{len(ranked)} rankings for {len(targets)} targets")
    return np.array(
        [target in list(row[:k]) for row, target in zip(ranked, targets, strict=True)], dtype=bool
    )


def recognition_metrics(
    ranked_actions: Sequence[Sequence[str]],
    scores: HeadScores,
    segments: pd.DataFrame,
    subsets: Subsets | None = None,
) -> dict[str, float]:
    """``{verb,noun,action}_top{1,5}`` plus ``tail_action_top1`` / ``unseen_action_top1`` when defined."""
    ranked = {
        "action": ranked_actions,
        "verb": top_indices(scores.verb, max(TOP_KS)).tolist(),
        "noun": top_indices(scores.noun, max(TOP_KS)).tolist(),
    }
    targets = {
        "action": segments["vn"].astype(str).tolist(),
        "verb": segments["verb_class"].astype(int).tolist(),
        "noun": segments["noun_class"].astype(int).tolist(),
    }
    metrics = {
        f"{kind}_top{k}": float(hits_at_k(ranked[kind], targets[kind], k).mean())
        for kind in ranked
        for k in TOP_KS
    }
    subsets = subsets or Subsets()
    action_hits = hits_at_k(ranked_actions, targets["action"], 1)
    in_tail = segments["verb_class"].isin(subsets.tail_verbs) | segments["noun_class"].isin(
        subsets.tail_nouns
    )
    unseen = segments["participant_id"].isin(subsets.unseen_participants)
    for name, mask in (("tail", in_tail.to_numpy()), ("unseen", unseen.to_numpy())):
        if mask.any():
            metrics[f"{name}_action_top1"] = float(action_hits[mask].mean())
    return metrics


def confused_pairs(
    true_ids: Sequence[int], predicted_ids: Sequence[int], names: Mapping[int, str], top_n: int = 10
) -> list[dict[str, object]]:
    """The ``top_n`` unordered class pairs most often mistaken for each other (top-1 errors).

    ``rate`` is the pair's errors over the number of rows whose true class is either member.
    """
    true_ids = np.asarray(true_ids, dtype=np.int64)
    predicted_ids = np.asarray(predicted_ids, dtype=np.int64)
    wrong = true_ids != predicted_ids
    counts = Counter(
        tuple(sorted((int(t), int(p)))) for t, p in zip(true_ids[wrong], predicted_ids[wrong], strict=True)
    )
    support = Counter(true_ids.tolist())
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top_n]
    return [
        {
            "ids": [a, b],
            "names": [names.get(a, str(a)), names.get(b, str(b))],
            "count": count,
            "rate": count / (support[a] + support[b]),
        }
        for (a, b), count in ranked
    ]
