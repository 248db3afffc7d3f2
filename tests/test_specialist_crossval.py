"""Fold bookkeeping: every train row is predicted once, by a model that never saw it."""

from __future__ import annotations

import numpy as np
import pytest

from actionmqa.specialist.classifier import ClassifierConfig, VerbNounClassifier, single_threaded_blas
from actionmqa.specialist.crossval import assign_folds, cross_validated_scores, fold_splits

UIDS = [f"P01-P01_01_{i}.00_{i + 1}.00" for i in range(23)]


def test_folds_are_balanced_and_cover_every_row() -> None:
    folds = assign_folds(UIDS, n_folds=5, seed=0)
    assert sorted(np.bincount(folds).tolist()) == [4, 4, 5, 5, 5]
    seen = np.concatenate([held_out for _, held_out in fold_splits(folds)])
    assert sorted(seen.tolist()) == list(range(len(UIDS)))
    for train_rows, held_out_rows in fold_splits(folds):
        assert not set(train_rows) & set(held_out_rows)
        assert len(train_rows) + len(held_out_rows) == len(UIDS)


def test_a_rows_fold_depends_on_seed_and_uid_not_on_table_order() -> None:
    folds = dict(zip(UIDS, assign_folds(UIDS, 5, seed=0), strict=True))
    shuffled = list(reversed(UIDS))
    assert dict(zip(shuffled, assign_folds(shuffled, 5, seed=0), strict=True)) == folds
    assert dict(zip(UIDS, assign_folds(UIDS, 5, seed=1), strict=True)) != folds


@pytest.mark.parametrize(
    ("uids", "n_folds", "message"),
    [(UIDS, 1, "at least 2 folds"), (UIDS[:3], 5, "cannot fill"), (["a", "a", "b"], 2, "unique")],
)
def test_bad_fold_requests(uids: list[str], n_folds: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        assign_folds(uids, n_folds, seed=0)


def test_out_of_fold_scores_do_not_remember_the_row() -> None:
    """Noise features and random labels: a model memorises its own rows but knows nothing of others."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(100, 200))
    verbs = rng.integers(0, 5, size=100)
    nouns = rng.integers(0, 5, size=100)
    config = ClassifierConfig(inverse_l2=100.0)
    uids = [f"u{i}" for i in range(100)]
    with single_threaded_blas():
        memorised = VerbNounClassifier(config).fit(features, verbs, nouns).score(features)
        out_of_fold = cross_validated_scores(features, verbs, nouns, assign_folds(uids, 5, seed=0), config)
    assert (memorised.verb.argmax(axis=1) == verbs).mean() == 1.0
    assert (out_of_fold.verb.argmax(axis=1) == verbs).mean() < 0.4  # chance is 0.2
    assert (out_of_fold.noun.argmax(axis=1) == nouns).mean() < 0.4


def test_parallel_folds_give_the_same_scores() -> None:
    rng = np.random.default_rng(1)
    features = rng.normal(size=(40, 6))
    verbs, nouns = (features[:, 0] > 0).astype(int), (features[:, 1] > 0).astype(int) + 3
    folds = assign_folds([f"u{i}" for i in range(40)], 4, seed=0)
    with single_threaded_blas():
        one = cross_validated_scores(features, verbs, nouns, folds, ClassifierConfig(), workers=1)
        three = cross_validated_scores(features, verbs, nouns, folds, ClassifierConfig(), workers=3)
    assert one.verb.tobytes() == three.verb.tobytes() and one.noun.tobytes() == three.noun.tobytes()
