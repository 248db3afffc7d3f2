"""EK100 official action-recognition metrics: action ranking golden test, subsets, top-k order."""

from __future__ import annotations

import numpy as np
import pytest

from actionmqa.bench.ek100_ar import compute_action_scores, evaluate, softmax, topk_accuracy
from actionmqa.ek100.schema import N_NOUNS, N_VERBS

LOW = -50.0  # logits far below the others: their softmax mass is ~e^-50


def logits(n_classes: int, peaks: dict[int, float]) -> np.ndarray:
    row = np.full(n_classes, LOW)
    for cls, value in peaks.items():
        row[cls] = value
    return row


@pytest.fixture
def three_segments() -> tuple[np.ndarray, np.ndarray]:
    """Hand-picked logits whose softmax is exact fractions (up to ~e^-50)."""
    verbs = np.stack(
        [
            logits(N_VERBS, {3: np.log(3), 5: 0.0}),  # p = 3/4, 1/4
            logits(N_VERBS, {0: 0.0, 1: 0.0}),  # p = 1/2, 1/2
            logits(N_VERBS, {96: np.log(4), 2: 0.0}),  # p = 4/5, 1/5
        ]
    )
    nouns = np.stack(
        [
            logits(N_NOUNS, {7: np.log(2), 9: 0.0}),  # p = 2/3, 1/3
            logits(N_NOUNS, {299: np.log(3), 0: 0.0}),  # p = 3/4, 1/4
            logits(N_NOUNS, {10: 0.0}),  # p = 1
        ]
    )
    return verbs, nouns


def test_compute_action_scores_golden(three_segments):
    ranking = compute_action_scores(*three_segments)
    assert ranking.actions.shape == ranking.scores.shape == (3, 100)
    assert ranking.actions[0, :4].tolist() == [3007, 3009, 5007, 5009]
    np.testing.assert_allclose(ranking.scores[0, :4], [1 / 2, 1 / 4, 1 / 6, 1 / 12], rtol=1e-12)
    # ties (1/2 * 3/4 twice) are broken towards the lower verb id
    assert ranking.actions[1, :4].tolist() == [299, 1299, 0, 1000]
    np.testing.assert_allclose(ranking.scores[1, :4], [3 / 8, 3 / 8, 1 / 8, 1 / 8], rtol=1e-12)
    assert ranking.actions[2, :2].tolist() == [96010, 2010]
    np.testing.assert_allclose(ranking.scores[2, :2], [4 / 5, 1 / 5], rtol=1e-12)


def test_softmax_is_over_the_top_100_nouns_only():
    verbs = logits(N_VERBS, {0: 0.0})[None]
    # 101 nouns tie at 0: the 101st (id 100) is outside the top 100, so each kept noun gets 1/100.
    nouns = np.concatenate([np.zeros(101), np.full(N_NOUNS - 101, LOW)])[None]
    ranking = compute_action_scores(verbs, nouns)
    np.testing.assert_allclose(ranking.scores[0], np.full(100, 1 / 100), rtol=1e-12)
    assert 100 not in ranking.actions[0] and ranking.actions[0, 0] == 0


def test_probabilities_and_logits_rank_differently():
    """Passing probabilities re-applies a softmax: the action ranking is not p(v) * p(n) (pitfall 3)."""
    verbs = logits(N_VERBS, {0: 2.0, 1: 1.9})
    nouns = logits(N_NOUNS, {0: 0.5, 1: 0.0})
    as_logits = compute_action_scores(verbs[None], nouns[None]).scores[0, 0]
    as_probs = compute_action_scores(softmax(verbs)[None], softmax(nouns)[None]).scores[0, 0]
    assert as_logits != pytest.approx(as_probs)


def test_metrics_with_hand_computed_tail_and_unseen_subsets(three_segments):
    verbs, nouns = three_segments
    metrics = evaluate(
        verbs,
        nouns,
        verb_labels=[3, 1, 2],
        noun_labels=[9, 0, 10],
        participants=["P01", "P18", "P32"],
        tail_verbs={2},
        tail_nouns={0},
        unseen_participants={"P18", "P32"},
    )
    # verb top-1: 3 ok, 0 != 1, 96 != 2 -> 1/3; top-5: all three within the top 5
    assert metrics["all_verb_accuracy_at_1"] == pytest.approx(100 / 3)
    assert metrics["all_verb_accuracy_at_5"] == pytest.approx(100.0)
    # noun top-1: 7 != 9, 299 != 0, 10 ok -> 1/3; top-5: all
    assert metrics["all_noun_accuracy_at_1"] == pytest.approx(100 / 3)
    assert metrics["all_noun_accuracy_at_5"] == pytest.approx(100.0)
    # action 3009 is 2nd, 1000 is 4th, 2010 is 2nd: no top-1, all top-5
    assert metrics["all_action_accuracy_at_1"] == 0.0
    assert metrics["all_action_accuracy_at_5"] == pytest.approx(100.0)
    # tail verb = segment 3 only (verb 2, top-1 96: wrong); tail noun = segment 2 (noun 0: wrong)
    assert (metrics["n_tail_verb"], metrics["tail_verb_accuracy_at_1"]) == (1, 0.0)
    assert (metrics["n_tail_noun"], metrics["tail_noun_accuracy_at_1"]) == (1, 0.0)
    assert metrics["n_tail_action"] == 2  # verb tail OR noun tail
    # unseen = segments 2 and 3: verb 0/2, noun 1/2 (segment 3), action 0/2
    assert metrics["n_unseen_verb"] == 2
    assert metrics["unseen_noun_accuracy_at_1"] == pytest.approx(50.0)
    assert metrics["unseen_verb_accuracy_at_1"] == 0.0


def test_an_empty_subset_is_nan_and_counted_zero(three_segments):
    metrics = evaluate(*three_segments, [3, 1, 2], [9, 0, 10], ["P01"] * 3, set(), set(), {"P33"})
    assert metrics["n_unseen_action"] == 0
    assert np.isnan(metrics["unseen_action_accuracy_at_1"])


def test_top1_never_exceeds_top5_on_random_logits():
    rng = np.random.default_rng(0)
    n = 64
    verbs, nouns = rng.normal(size=(n, N_VERBS)), rng.normal(size=(n, N_NOUNS))
    verb_labels, noun_labels = rng.integers(0, N_VERBS, n), rng.integers(0, N_NOUNS, n)
    # make some labels the argmax so the accuracies are not all zero
    verb_labels[:20], noun_labels[:20] = verbs[:20].argmax(1), nouns[:20].argmax(1)
    metrics = evaluate(verbs, nouns, verb_labels, noun_labels, ["P01"] * n, {1}, {1}, set())
    for task in ("verb", "noun", "action"):
        assert 0 < metrics[f"all_{task}_accuracy_at_1"] <= metrics[f"all_{task}_accuracy_at_5"] <= 100
    ranking = compute_action_scores(verbs, nouns)
    assert np.all(np.diff(ranking.scores, axis=1) <= 0)
    assert np.all(ranking.actions // 1000 < N_VERBS) and np.all(ranking.actions % 1000 < N_NOUNS)
    assert (
        topk_accuracy(ranking.actions, verb_labels * 1000 + noun_labels, 100)
        >= metrics["all_action_accuracy_at_5"] / 100
    )


def test_shapes_are_checked():
    with pytest.raises(ValueError, match=r"expected verb scores \[1, 97\]"):
        evaluate(np.zeros((1, 96)), np.zeros((1, 300)), [0], [0], ["P01"], set(), set(), set())
