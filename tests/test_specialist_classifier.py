"""The verb/noun heads: they learn what is visible and are provably blind to temporal order."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp

from actionmqa.ek100.schema import N_NOUNS, N_VERBS
from actionmqa.specialist.classifier import (
    ClassHead,
    ClassifierConfig,
    VerbNounClassifier,
    single_threaded_blas,
)
from actionmqa.specialist.features import FeatureConfig, clip_features

SLIDE_RIGHT, SLIDE_LEFT, STAY = 0, 1, 2  # verb ids; slide-left clips are slide-right clips reversed
COLOURS = {5: (255, 0, 0), 6: (0, 255, 0), 7: (0, 0, 255)}  # noun id -> blob colour
SIZE, N_FRAMES = 16, 8


def render(verb: int, noun: int, rng: np.random.Generator) -> np.ndarray:
    """A noisy grey counter with a coloured 4x4 blob; slides move it across, stay keeps it still."""
    clip = rng.integers(90, 110, size=(N_FRAMES, SIZE, SIZE, 3)).astype(np.uint8)
    row = int(rng.integers(0, SIZE - 4))
    start = int(rng.integers(0, SIZE - 4))
    for t in range(N_FRAMES):
        col = start if verb == STAY else round(t * (SIZE - 4) / (N_FRAMES - 1))
        clip[t, row : row + 4, col : col + 4] = COLOURS[noun]
    return clip[::-1].copy() if verb == SLIDE_LEFT else clip


def make_world(n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    verbs = rng.integers(0, 3, size=n)
    nouns = rng.choice(sorted(COLOURS), size=n)
    return [render(v, m, rng) for v, m in zip(verbs, nouns, strict=True)], verbs, nouns


def featurise(clips: list[np.ndarray]) -> np.ndarray:
    return np.stack([clip_features(clip, FeatureConfig(grid=4, motion_grid=4)) for clip in clips])


@pytest.fixture(scope="module")
def trained() -> VerbNounClassifier:
    clips, verbs, nouns = make_world(90, seed=0)
    with single_threaded_blas():
        return VerbNounClassifier(ClassifierConfig(seed=0)).fit(featurise(clips), verbs, nouns)


def test_learns_what_is_visible(trained: VerbNounClassifier) -> None:
    clips, verbs, nouns = make_world(45, seed=1)
    scores = trained.score(featurise(clips))
    assert scores.verb.shape == (45, N_VERBS) and scores.noun.shape == (45, N_NOUNS)
    assert (scores.noun.argmax(axis=1) == nouns).mean() == 1.0
    moving = scores.verb.argmax(axis=1) != STAY
    assert (moving == (verbs != STAY)).mean() == 1.0  # slide vs stay is visible without order


def test_cannot_separate_a_clip_from_its_time_reverse(trained: VerbNounClassifier) -> None:
    rng = np.random.default_rng(2)
    forward = [render(SLIDE_RIGHT, 5 + i % 3, rng) for i in range(20)]
    twins = forward + [clip[::-1] for clip in forward]  # the same frames, labelled slide-left
    labels = np.array([SLIDE_RIGHT] * 20 + [SLIDE_LEFT] * 20)
    scores = trained.score(featurise(twins))
    np.testing.assert_array_equal(scores.verb[:20], scores.verb[20:])
    # identical scores, different labels: at most one of each twin pair can be right
    assert (scores.verb.argmax(axis=1) == labels).mean() <= 0.5
    # whichever it picks, the mirror verb is the runner-up: exactly the hard distractor wanted
    top_two = np.sort(np.argsort(-scores.verb, axis=1)[:, :2], axis=1)
    assert (top_two == [SLIDE_RIGHT, SLIDE_LEFT]).all()


def test_the_same_world_is_learnable_with_order() -> None:
    """Control: an order-aware feature (per-frame grid means, concatenated) separates the twins."""

    def ordered(clips: list[np.ndarray]) -> np.ndarray:
        return np.stack(
            [clip.reshape(N_FRAMES, 4, 4, 4, 4, 3).mean(axis=(2, 4, 5)).ravel() for clip in clips]
        )

    clips, verbs, _ = make_world(120, seed=3)
    head = ClassHead(N_VERBS, ClassifierConfig()).fit(ordered(clips), verbs)
    test_clips, test_verbs, _ = make_world(45, seed=4)
    assert (head.log_proba(ordered(test_clips)).argmax(axis=1) == test_verbs).mean() >= 0.9


def test_every_class_gets_a_finite_log_probability() -> None:
    features = np.array([[0.0], [0.1], [1.0], [1.1]])
    head = ClassHead(N_VERBS, ClassifierConfig()).fit(features, np.array([3, 3, 8, 8]))
    log_proba = head.log_proba(np.array([[0.05], [1.05]]))
    assert np.isfinite(log_proba).all()
    np.testing.assert_allclose(logsumexp(log_proba, axis=1), 0.0, atol=1e-9)
    assert log_proba[0].argmax() == 3 and log_proba[1].argmax() == 8
    unseen = np.delete(log_proba, [3, 8], axis=1)
    assert unseen.max() < log_proba[:, [3, 8]].min()


def test_single_class_head_is_constant() -> None:
    head = ClassHead(N_NOUNS, ClassifierConfig()).fit(np.zeros((3, 2)), np.array([17, 17, 17]))
    assert (head.log_proba(np.ones((2, 2))).argmax(axis=1) == 17).all()


def test_labels_outside_the_class_space_are_rejected() -> None:
    with pytest.raises(ValueError, match="labels must lie"):
        ClassHead(N_VERBS, ClassifierConfig()).fit(np.zeros((2, 1)), np.array([0, 97]))
