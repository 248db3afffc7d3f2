"""Ranking and recognition metrics against hand-computed golden values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actionmqa.specialist.classifier import HeadScores
from actionmqa.specialist.metrics import Subsets, confused_pairs, hits_at_k, recognition_metrics
from actionmqa.specialist.ranking import rank_actions, split_actions


def test_action_score_is_the_sum_of_head_log_probabilities() -> None:
    scores = HeadScores(verb=np.log([[0.6, 0.4]]), noun=np.log([[0.5, 0.3, 0.2]]))
    actions = ["0:0", "0:2", "1:0", "1:1"]  # products .30, .12, .20, .12
    assert rank_actions(scores, actions, top_k=4) == [["0:0", "1:0", "0:2", "1:1"]]  # tie: label order
    assert rank_actions(scores, actions, top_k=2) == [["0:0", "1:0"]]
    assert rank_actions(scores, actions, top_k=20) == [["0:0", "1:0", "0:2", "1:1"]]


def test_split_actions() -> None:
    verbs, nouns = split_actions(["3:12", "10:0"])
    assert verbs.tolist() == [3, 10] and nouns.tolist() == [12, 0]
    with pytest.raises(ValueError, match="verb_class:noun_class"):
        split_actions(["3-12"])


def scores_with_ranks(targets: list[int], target_rank: list[int], n_classes: int) -> np.ndarray:
    """Log-probability-like rows where ``targets[i]`` is ranked ``target_rank[i]`` (0 = best)."""
    rows = []
    for target, rank in zip(targets, target_rank, strict=True):
        others = [c for c in range(n_classes) if c != target]
        order = others[:rank] + [target] + others[rank:]
        row = np.empty(n_classes)
        row[order] = -np.arange(n_classes, dtype=float)
        rows.append(row)
    return np.array(rows)


@pytest.fixture()
def four_rows() -> tuple[pd.DataFrame, list[list[str]], HeadScores]:
    segments = pd.DataFrame(
        {
            "verb_class": [0, 1, 2, 3],
            "noun_class": [0, 1, 0, 3],
            "vn": ["0:0", "1:1", "2:0", "3:3"],
            "participant_id": ["P02", "P01", "P02", "P01"],
        }
    )
    ranked = [
        ["0:0", "1:0"],  # top-1 hit
        ["0:1", "2:2", "3:3", "4:4", "1:1"],  # 5th: top-5 hit only
        ["0:0", "1:1", "2:1", "3:1", "4:1", "2:0"],  # 6th: miss
        ["3:3"],  # top-1 hit
    ]
    scores = HeadScores(
        verb=scores_with_ranks([0, 1, 2, 3], [0, 1, 5, 0], 97),
        noun=scores_with_ranks([0, 1, 0, 3], [0, 0, 0, 4], 300),
    )
    return segments, ranked, scores


def test_recognition_metrics_golden(four_rows) -> None:
    segments, ranked, scores = four_rows
    metrics = recognition_metrics(
        ranked, scores, segments, Subsets(frozenset({2}), frozenset({1}), frozenset({"P02"}))
    )
    assert metrics == {
        "action_top1": 0.5,
        "action_top5": 0.75,
        "verb_top1": 0.5,
        "verb_top5": 0.75,
        "noun_top1": 0.75,
        "noun_top5": 1.0,
        "tail_action_top1": 0.0,  # rows 1 (tail noun) and 2 (tail verb), both wrong at top-1
        "unseen_action_top1": 0.5,  # P02: rows 0 (right) and 2 (wrong)
    }


def test_subset_metrics_are_left_out_when_not_available(four_rows) -> None:
    segments, ranked, scores = four_rows
    assert set(recognition_metrics(ranked, scores, segments)) == {
        f"{kind}_top{k}" for kind in ("action", "verb", "noun") for k in (1, 5)
    }


def test_hits_at_k_checks_lengths() -> None:
    assert hits_at_k([["a", "b"], ["c"]], ["b", "b"], 1).tolist() == [False, False]
    assert hits_at_k([["a", "b"], ["c"]], ["b", "b"], 2).tolist() == [True, False]
    with pytest.raises(ValueError, match="2 rankings for 1 targets"):
        hits_at_k([["a"], ["b"]], ["a"], 1)


def test_confused_pairs_golden() -> None:
    true = [0, 0, 1, 1, 2, 2, 2]
    predicted = [1, 0, 0, 2, 2, 1, 2]
    pairs = confused_pairs(true, predicted, {0: "take", 1: "put", 2: "open"}, top_n=5)
    assert pairs == [
        {"ids": [0, 1], "names": ["take", "put"], "count": 2, "rate": 0.5},
        {"ids": [1, 2], "names": ["put", "open"], "count": 2, "rate": 0.4},
    ]
    assert confused_pairs(true, predicted, {}, top_n=1)[0]["names"] == ["0", "1"]
