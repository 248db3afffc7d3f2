"""Option texts: the GT keeps its narration, distractors draw distinct narrations, label text as fallback."""

from __future__ import annotations

import pytest

from actionmqa.ek100.labels import LabelMap
from actionmqa.errors import InputError
from actionmqa.mqa.options import Fallback, OptionTexter, OptionTexts, TextMode

LABELS = LabelMap(
    verbs={0: "take", 2: "wash"},
    nouns={1: "spoon", 2: "plate", 5: "pan:frying"},
    actions=("0:1", "0:2", "0:5", "2:1", "2:2"),
)


def texter(pools: dict[str, tuple[str, ...]], mode: TextMode = TextMode.NARRATION) -> OptionTexter:
    return OptionTexter(mode=mode, labels=LABELS, pools=pools, seed=3)


def test_label_mode_uses_official_key_for_every_option_including_gt() -> None:
    texts = texter({}, TextMode.LABEL).texts_for("u", "grab the pan", ["0:5", "0:1", "2:2"])
    assert texts == OptionTexts(("take frying pan", "take spoon", "wash plate"))


def test_narration_mode_keeps_gt_narration_and_draws_from_each_pool() -> None:
    pools = {"0:1": ("pick up spoon", "take spoon", "take spoon"), "2:2": ("rinse plate",)}
    texts = texter(pools).texts_for("u", "grab the pan", ["0:5", "0:1", "2:2"])
    assert texts.texts[0] == "grab the pan"
    assert texts.texts[1] in pools["0:1"]
    assert texts.texts[2] == "rinse plate"
    assert texts.fallbacks == ()


def test_draws_are_frequency_weighted_and_keyed_by_uid() -> None:
    pools = {"0:1": ("pick up spoon", "take spoon", "take spoon", "take spoon")}
    drawn = [texter(pools).texts_for(f"u{i}", "gt", ["0:5", "0:1"]).texts[1] for i in range(400)]
    assert 0.65 < drawn.count("take spoon") / len(drawn) < 0.85
    again = [texter(pools).texts_for(f"u{i}", "gt", ["0:5", "0:1"]).texts[1] for i in range(400)]
    assert drawn == again


def test_collision_draws_again_from_the_remaining_narrations() -> None:
    # the GT's own narration and the first distractor's only text are the same string
    pools = {"0:1": ("take spoon",), "2:1": ("take spoon", "take spoon", "wash spoon")}
    for uid in ("a", "b", "c", "d"):
        texts = texter(pools).texts_for(uid, "pick up plate", ["0:2", "0:1", "2:1"])
        assert texts.texts == ("pick up plate", "take spoon", "wash spoon")


def test_exhausted_pool_and_missing_pool_fall_back_to_label_text() -> None:
    pools = {"2:1": ("take spoon",)}
    texts = texter(pools).texts_for("u", "take spoon", ["0:1", "2:1", "2:2"])
    assert texts.texts == ("take spoon", "wash spoon", "wash plate")
    assert texts.fallbacks == (Fallback.EXHAUSTED, Fallback.NO_NARRATION)


def test_label_text_that_still_collides_names_the_uid() -> None:
    # the GT clip is narrated exactly like the distractor class's label, and that class has no pool
    with pytest.raises(InputError, match="'take spoon' is already an option") as error:
        texter({}).texts_for("P01-P01_11_0.00_1.89", "take spoon", ["0:2", "0:1"])
    assert error.value.key == "P01-P01_11_0.00_1.89"
