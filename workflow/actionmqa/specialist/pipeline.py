"""The specialist run: cross-validated train predictions, full-train val predictions, and their metrics.

Kept apart from the CLI so the same run is callable from Python and tests with in-memory
features; the CLI only reads and writes files around it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from actionmqa.seeding import derive_seed
from actionmqa.specialist.classifier import (
    ClassifierConfig,
    HeadScores,
    VerbNounClassifier,
    single_threaded_blas,
)
from actionmqa.specialist.crossval import assign_folds, cross_validated_scores
from actionmqa.specialist.metrics import Subsets, confused_pairs, recognition_metrics
from actionmqa.specialist.ranking import rank_actions

log = logging.getLogger(__name__)

#: How many most-confused class pairs the metrics file lists per head and split.
CONFUSED_PAIRS_SHOWN = 10


@dataclass(frozen=True)
class FitConfig:
    """The knobs of one specialist run; ``top_k`` >= 10 for SFT, 20 for two-stage recognition."""

    n_folds: int = 5
    seed: int = 0
    top_k: int = 20
    inverse_l2: float = 1.0
    workers: int = 1

    def classifier(self) -> ClassifierConfig:
        return ClassifierConfig(
            inverse_l2=self.inverse_l2, seed=derive_seed(self.seed, "specialist-model") % 2**32
        )


@dataclass(frozen=True)
class LabelledSplit:
    """One split's segments and their feature rows, aligned position by position."""

    segments: pd.DataFrame
    features: np.ndarray

    @property
    def verbs(self) -> np.ndarray:
        return self.segments["verb_class"].to_numpy(dtype=np.int64)

    @property
    def nouns(self) -> np.ndarray:
        return self.segments["noun_class"].to_numpy(dtype=np.int64)


@dataclass(frozen=True)
class SpecialistRun:
    """Ranked ``v:n`` lists keyed by CSV row index, and the metrics document."""

    train_ranked: dict[int, list[str]]
    val_ranked: dict[int, list[str]]
    metrics: dict[str, Any]


def run_specialist(
    train: LabelledSplit,
    val: LabelledSplit,
    actions: Sequence[str],
    config: FitConfig,
    *,
    subsets: Subsets | None = None,
    verb_names: dict[int, str] | None = None,
    noun_names: dict[int, str] | None = None,
) -> SpecialistRun:
    """Rank the label space for every train row (out of fold) and val row, and measure both."""
    if config.top_k > len(actions):
        log.warning("top-k %d exceeds the %d actions of the label space", config.top_k, len(actions))
    scores = score_splits(train, val, config)
    subsets = subsets or Subsets()
    ranked: dict[str, list[list[str]]] = {}
    metrics: dict[str, Any] = {"confusions": {}}
    for name, split, split_subsets in (("train_cv", train, subsets.for_train()), ("val", val, subsets)):
        ranked[name] = rank_actions(scores[name], actions, config.top_k)
        metrics[name] = recognition_metrics(ranked[name], scores[name], split.segments, split_subsets)
        metrics["confusions"][name] = _confusions(split, scores[name], verb_names or {}, noun_names or {})
    metrics.update(
        n_train=len(train.segments),
        n_val=len(val.segments),
        n_actions=len(actions),
        n_folds=config.n_folds,
        seed=config.seed,
        top_k=min(config.top_k, len(actions)),
        inverse_l2=config.inverse_l2,
    )
    return SpecialistRun(
        train_ranked=_by_row(train.segments, ranked["train_cv"]),
        val_ranked=_by_row(val.segments, ranked["val"]),
        metrics=metrics,
    )


def score_splits(train: LabelledSplit, val: LabelledSplit, config: FitConfig) -> dict[str, HeadScores]:
    """``train_cv``: each train row scored by the fold model without it; ``val``: by a full-train model."""
    folds = assign_folds(train.segments["uid"].tolist(), config.n_folds, config.seed)
    with single_threaded_blas():
        log.info("cross-validating on %d train rows in %d folds", len(folds), config.n_folds)
        train_scores = cross_validated_scores(
            train.features, train.verbs, train.nouns, folds, config.classifier(), config.workers
        )
        log.info("fitting on all train rows for %d val rows", len(val.segments))
        model = VerbNounClassifier(config.classifier()).fit(train.features, train.verbs, train.nouns)
        return {"train_cv": train_scores, "val": model.score(val.features)}


def _confusions(
    split: LabelledSplit, scores: HeadScores, verb_names: dict[int, str], noun_names: dict[int, str]
) -> dict[str, list[dict[str, object]]]:
    return {
        "verb": confused_pairs(split.verbs, scores.verb.argmax(axis=1), verb_names, CONFUSED_PAIRS_SHOWN),
        "noun": confused_pairs(split.nouns, scores.noun.argmax(axis=1), noun_names, CONFUSED_PAIRS_SHOWN),
    }


def _by_row(segments: pd.DataFrame, ranked: list[list[str]]) -> dict[int, list[str]]:
    return {int(row): predictions for row, predictions in zip(segments.index, ranked, strict=True)}
