"""A whole specialist run on synthetic features: shapes, metric ranges, byte-identical reruns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from actionmqa.io import sha256_file
from actionmqa.specialist.metrics import Subsets
from actionmqa.specialist.pipeline import FitConfig, LabelledSplit, run_specialist
from actionmqa.specialist.predictions import load_predictions, write_predictions

VERBS, NOUNS = (0, 1, 2), (10, 11)


def synthetic_split(n: int, seed: int, first_row: int = 0) -> LabelledSplit:
    """Features = one-hot verb and noun plus noise, except verbs 0 and 1 share a code (a mirror pair)."""
    rng = np.random.default_rng(seed)
    verbs = rng.choice(VERBS, size=n)
    nouns = rng.choice(NOUNS, size=n)
    visible_verb = np.where(verbs == 1, 0, verbs)
    features = np.concatenate(
        [np.eye(3)[visible_verb], np.eye(2)[nouns - 10], rng.normal(scale=0.3, size=(n, 4))], axis=1
    )
    segments = pd.DataFrame(
        {
            "uid": [f"P0{i % 3}-clip{seed}_{i}" for i in range(n)],
            "participant_id": [f"P0{i % 3}" for i in range(n)],
            "verb_class": verbs,
            "noun_class": nouns,
            "vn": [f"{v}:{m}" for v, m in zip(verbs, nouns, strict=True)],
        },
        index=pd.RangeIndex(first_row, first_row + n),
    )
    return LabelledSplit(segments=segments, features=features)


ACTIONS = tuple(sorted(f"{v}:{n}" for v in VERBS for n in NOUNS))


@pytest.fixture(scope="module")
def run():
    train, val = synthetic_split(60, seed=0), synthetic_split(30, seed=1)
    subsets = Subsets(tail_verbs=frozenset({2}), unseen_participants=frozenset({"P02"}))
    result = run_specialist(
        train, val, ACTIONS, FitConfig(n_folds=3, top_k=4), subsets=subsets, verb_names={0: "take", 1: "put"}
    )
    return train, val, result


def test_every_row_gets_a_ranking_of_top_k(run) -> None:
    train, val, result = run
    assert list(result.train_ranked) == train.segments.index.tolist()
    assert list(result.val_ranked) == val.segments.index.tolist()
    assert {len(ranked) for ranked in [*result.train_ranked.values(), *result.val_ranked.values()]} == {4}


def test_metrics_see_the_blind_spot(run) -> None:
    _, _, result = run
    metrics = result.metrics
    assert set(metrics["val"]) >= {"action_top1", "verb_top5", "noun_top1", "tail_action_top1"}
    assert "unseen_action_top1" in metrics["val"] and "unseen_action_top1" not in metrics["train_cv"]
    assert all(0.0 <= value <= 1.0 for split in ("val", "train_cv") for value in metrics[split].values())
    assert metrics["val"]["noun_top1"] == 1.0
    # verbs 0 and 1 look the same: ~half of their rows are wrong, and they are the top confusion
    assert 0.4 < metrics["val"]["verb_top1"] < 0.9
    assert metrics["confusions"]["val"]["verb"][0]["names"] == ["take", "put"]
    assert metrics["n_train"] == 60 and metrics["n_val"] == 30 and metrics["top_k"] == 4


def test_predictions_file_is_byte_identical_on_rerun(run, tmp_path) -> None:
    train, val, first = run
    second = run_specialist(train, val, ACTIONS, FitConfig(n_folds=3, top_k=4))
    write_predictions(tmp_path / "a.json", first.train_ranked, train.segments)
    write_predictions(tmp_path / "b.json", second.train_ranked, train.segments)
    assert sha256_file(tmp_path / "a.json") == sha256_file(tmp_path / "b.json")
    assert load_predictions(tmp_path / "a.json", train.segments, min_k=4) == first.train_ranked
