"""Out-of-fold specialist scores for the train split (the analogue of TIM's ``train_cross`` file).

Hard distractors for SFT must come from a model that has not seen the clip, otherwise its top-1
would almost always be the ground truth and the "hard" options would be the leftovers of an
over-confident ranking. Every train row is therefore scored by the one fold model that was
trained without it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from actionmqa.ek100.schema import N_NOUNS, N_VERBS
from actionmqa.seeding import derive_seed
from actionmqa.specialist.classifier import ClassifierConfig, HeadScores, VerbNounClassifier


def assign_folds(uids: Sequence[str], n_folds: int, seed: int) -> np.ndarray:
    """Fold id per row: rows ordered by a hash of (seed, uid) and dealt round robin.

    Balanced (fold sizes differ by at most one), and a row's fold depends only on the seed and
    the set of uids, not on the order of the table.
    """
    if n_folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {n_folds}")
    if len(uids) < n_folds:
        raise ValueError(f"{len(uids)} rows cannot fill {n_folds} folds")
    if len(set(uids)) != len(uids):
        raise ValueError("uids must be unique to assign folds")
    keys = np.array([derive_seed(seed, uid, "specialist-fold") for uid in uids], dtype=np.uint64)
    folds = np.empty(len(uids), dtype=np.int64)
    folds[np.argsort(keys, kind="stable")] = np.arange(len(uids)) % n_folds
    return folds


def fold_splits(folds: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(training row positions, held-out row positions) per fold; the two never overlap."""
    for fold in np.unique(folds):
        held_out = folds == fold
        yield np.flatnonzero(~held_out), np.flatnonzero(held_out)


def cross_validated_scores(
    features: np.ndarray,
    verbs: np.ndarray,
    nouns: np.ndarray,
    folds: np.ndarray,
    config: ClassifierConfig,
    workers: int = 1,
) -> HeadScores:
    """Head scores for every row, each from the fold model that did not train on it.

    Folds are fit side by side on ``workers`` threads (BLAS releases the GIL); each fold's
    result does not depend on how many run at once.
    """

    def fit_fold(split: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, HeadScores]:
        train_rows, held_out_rows = split
        model = VerbNounClassifier(config).fit(features[train_rows], verbs[train_rows], nouns[train_rows])
        return held_out_rows, model.score(features[held_out_rows])

    out = HeadScores(verb=np.empty((len(features), N_VERBS)), noun=np.empty((len(features), N_NOUNS)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for held_out_rows, scores in pool.map(fit_fold, fold_splits(folds)):
            out.verb[held_out_rows] = scores.verb
            out.noun[held_out_rows] = scores.noun
    return out
