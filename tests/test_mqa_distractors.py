"""Option classes: the specialist top-K with ground-truth injection; random draws that skip the GT class."""

from __future__ import annotations

import pytest

from actionmqa.mqa.distractors import ClassChoice, random_classes, specialist_classes
from actionmqa.seeding import rng_for


def test_specialist_keeps_top_k_when_gt_is_among_them() -> None:
    choice = specialist_classes(["3:12", "3:4", "0:12", "1:12", "2:9", "7:7"], "0:12", 5)
    assert choice == ClassChoice(("0:12", "3:12", "3:4", "1:12", "2:9"), gt_injected=False)


def test_specialist_drops_kth_and_injects_absent_gt() -> None:
    choice = specialist_classes(["3:12", "3:4", "0:12", "1:12", "2:9", "5:5"], "5:5", 5)
    # "5:5" is 6th: the 5th ("2:9") goes, the ground truth comes in
    assert choice == ClassChoice(("5:5", "3:12", "3:4", "0:12", "1:12"), gt_injected=True)


def test_specialist_needs_k_predictions() -> None:
    with pytest.raises(ValueError, match="4 predictions for 5 options"):
        specialist_classes(["1:1", "1:2", "1:3", "1:4"], "1:1", 5)


ACTIONS = tuple(sorted(f"{v}:{n}" for v in range(4) for n in range(3)))  # 12 classes, sorted as strings


@pytest.mark.parametrize("gt", [ACTIONS[0], ACTIONS[5], ACTIONS[-1]])
def test_random_never_draws_the_gt_class_and_never_repeats(gt: str) -> None:
    seen = set()
    for uid in range(300):
        choice = random_classes(ACTIONS, gt, 5, rng_for(0, f"u{uid}", "classes"))
        assert choice.option_vns[0] == gt
        assert gt not in choice.option_vns[1:]
        assert len(set(choice.option_vns)) == 5
        assert set(choice.option_vns) <= set(ACTIONS)
        seen.update(choice.option_vns[1:])
    # every other class is reachable, including the neighbours of the skipped slot
    assert seen == set(ACTIONS) - {gt}


def test_random_is_a_function_of_the_key() -> None:
    first = random_classes(ACTIONS, "1:1", 5, rng_for(7, "uid", "classes"))
    again = random_classes(ACTIONS, "1:1", 5, rng_for(7, "uid", "classes"))
    assert first == again
    assert first.option_vns == ("1:1", "3:0", "2:2", "2:0", "0:0")


def test_random_rejects_small_label_space_and_unknown_gt() -> None:
    with pytest.raises(ValueError, match="too small"):
        random_classes(ACTIONS[:4], ACTIONS[0], 5, rng_for(0, "u", "classes"))
    with pytest.raises(ValueError, match="not in the label space"):
        random_classes(ACTIONS, "9:9", 5, rng_for(0, "u", "classes"))
