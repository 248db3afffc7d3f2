"""Verb and noun heads of the built-in specialist: standardised features, multinomial logistic regression.

A linear model on order-blind features is the right strength for a distractor source: it
learns the world's classes well enough that its top-k is plausible, yet it cannot separate
classes that differ only in temporal order. The Newton-CG solver is deterministic and converges
in about a dozen iterations (lbfgs needed 150-320 on the toy world, at twice the time), so the
same features and labels give the same scores on every run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from actionmqa.ek100.schema import N_NOUNS, N_VERBS

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

#: Share of probability mass spread over all classes so that classes absent from the training
#: rows keep a finite log-probability (and a place at the bottom of the ranking).
SMOOTHING = 1e-6


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run BLAS on one thread inside the block.

    A multi-threaded BLAS sums in an order that depends on its thread count, so scores (and
    the rankings built on them) would differ between machines; on a shared CPU it is also far
    slower for these small matrices (measured 20x on a loaded 2-core machine). Parallelism
    comes from fitting folds side by side instead. The limit is process-wide: enter it once,
    around all fitting and scoring, not per thread.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@dataclass(frozen=True)
class ClassifierConfig:
    """``inverse_l2`` is sklearn's ``C``: smaller means a smoother, more confusable model."""

    inverse_l2: float = 1.0
    max_iter: int = 200
    seed: int = 0


@dataclass(frozen=True)
class HeadScores:
    """Log-probabilities per row over the full EK100 class spaces: verb [n, 97], noun [n, 300]."""

    verb: np.ndarray
    noun: np.ndarray

    def __len__(self) -> int:
        return len(self.verb)


class ClassHead:
    """One softmax head over ``n_classes`` ids; predicts every id, seen in training or not."""

    def __init__(self, n_classes: int, config: ClassifierConfig) -> None:
        self.n_classes = n_classes
        self.config = config
        self._model: Pipeline | None = None
        self._constant: int | None = None

    def fit(self, features: np.ndarray, labels: np.ndarray) -> ClassHead:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        labels = np.asarray(labels, dtype=np.int64)
        if labels.min() < 0 or labels.max() >= self.n_classes:
            raise ValueError(f"labels must lie in [0, {self.n_classes}), got {labels.min()}..{labels.max()}")
        seen = np.unique(labels)
        if len(seen) == 1:  # logistic regression needs two classes; one class is a constant
            self._constant = int(seen[0])
            return self
        self._model = make_pipeline(
            StandardScaler(),
            LogisticRegression(
                C=self.config.inverse_l2,
                solver="newton-cg",
                max_iter=self.config.max_iter,
                random_state=self.config.seed,
            ),
        ).fit(features, labels)
        return self

    def log_proba(self, features: np.ndarray) -> np.ndarray:
        """``[n, n_classes]`` smoothed log-probabilities (float64)."""
        proba = np.zeros((len(features), self.n_classes))
        if self._constant is not None:
            proba[:, self._constant] = 1.0
        elif self._model is not None:
            proba[:, self._model.classes_] = self._model.predict_proba(features)
        else:
            raise RuntimeError("fit the head before scoring")
        return np.log((1.0 - SMOOTHING) * proba + SMOOTHING / self.n_classes)


class VerbNounClassifier:
    """Independent verb (97-way) and noun (300-way) heads on the same clip features."""

    def __init__(self, config: ClassifierConfig | None = None) -> None:
        self.config = config or ClassifierConfig()
        self.verb_head = ClassHead(N_VERBS, self.config)
        self.noun_head = ClassHead(N_NOUNS, self.config)

    def fit(self, features: np.ndarray, verbs: np.ndarray, nouns: np.ndarray) -> VerbNounClassifier:
        self.verb_head.fit(features, verbs)
        self.noun_head.fit(features, nouns)
        return self

    def score(self, features: np.ndarray) -> HeadScores:
        return HeadScores(verb=self.verb_head.log_proba(features), noun=self.noun_head.log_proba(features))
