"""Label map: upstream's string-sorted action order, noun-key rotation, narration pools."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.ek100.labels import LabelMap, narration_pools, noun_text, split_vn
from actionmqa.errors import InputError

VERBS = {0: "take", 1: "put", 2: "wash"}
NOUNS = {1: "spoon", 2: "plate", 10: "pan:frying", 18: "board:chopping"}


@pytest.fixture
def small_map() -> LabelMap:
    return LabelMap(verbs=VERBS, nouns=NOUNS, actions=("0:1", "0:10", "0:2", "1:18", "2:2"))


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("tap", "tap"),
        ("pan:frying", "frying pan"),
        ("a:b:c", "b c a"),
        ("machine:sous:vide", "sous vide machine"),
    ],
)
def test_noun_text_moves_head_noun_last(key: str, text: str) -> None:
    assert noun_text(key) == text


def test_action_ids_follow_string_order(small_map: LabelMap) -> None:
    assert [small_map.action_id(vn) for vn in ("0:1", "0:10", "0:2", "2:2")] == [0, 1, 2, 4]


def test_label_text_is_official_key(small_map: LabelMap) -> None:
    assert small_map.label_text("0:10") == "take frying pan"
    assert small_map.label_text("1:18") == "put chopping board"
    # Any known verb and noun has a text, also a pair no split contains.
    assert small_map.label_text("2:10") == "wash frying pan"


def test_numerically_sorted_actions_are_rejected() -> None:
    with pytest.raises(InputError, match="sorted as strings"):
        LabelMap(verbs=VERBS, nouns=NOUNS, actions=("0:1", "0:2", "0:10"))


def test_unknown_action_and_class_are_input_errors(small_map: LabelMap) -> None:
    with pytest.raises(InputError, match="key '1:2': not among the 5 actions"):
        small_map.action_id("1:2")
    with pytest.raises(InputError, match="key '5:2': verb class 5 is not in the class tables"):
        small_map.label_text("5:2")
    with pytest.raises(InputError, match="key '3-12'"):
        split_vn("3-12")


def test_json_round_trip(small_map: LabelMap, tmp_path: Path) -> None:
    obj = small_map.to_json()
    assert obj["n_verbs"] == 97 and obj["n_nouns"] == 300
    assert obj["actions"][1] == {
        "id": 1,
        "vn": "0:10",
        "verb_class": 0,
        "noun_class": 10,
        "text": "take frying pan",
    }
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(obj))
    assert LabelMap.read(path) == small_map


def test_json_with_shuffled_ids_names_the_file(small_map: LabelMap, tmp_path: Path) -> None:
    obj = small_map.to_json()
    obj["actions"][0]["id"] = 7
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(obj))
    with pytest.raises(InputError, match=r"labels\.json, key 'actions': action ids must be 0\.\.n-1"):
        LabelMap.read(path)


def test_json_without_nouns_is_rejected(small_map: LabelMap) -> None:
    obj = small_map.to_json()
    del obj["nouns"]
    with pytest.raises(InputError, match="not a label map object"):
        LabelMap.from_json(obj)


def test_narration_pools_keep_repeats_and_ignore_row_order() -> None:
    segments = pd.DataFrame(
        {
            "vn": ["0:2", "0:10", "0:2", "0:2"],
            "narration": ["take plate", "pick up pan", "grab plate", "take plate"],
        }
    )
    pools = narration_pools(segments)
    assert pools == {"0:10": ("pick up pan",), "0:2": ("grab plate", "take plate", "take plate")}
    assert list(pools) == ["0:10", "0:2"]
    assert narration_pools(segments.iloc[::-1]) == pools


@pytest.mark.realdata
def test_real_label_map(real_ek100_dir: Path) -> None:
    ann = load_annotation_dir(real_ek100_dir)
    labels = LabelMap.from_annotations(ann)
    assert len(labels.actions) == 1352
    assert (len(labels.verbs), len(labels.nouns)) == (97, 300)
    assert list(labels.actions) == sorted(labels.actions)
    assert labels.actions.index("0:1") < labels.actions.index("0:10") < labels.actions.index("0:2")
    assert labels.label_text("0:2") == "take plate"
    assert labels.label_text("2:18") == "wash chopping board"
    assert LabelMap.from_json(labels.to_json()) == labels
    pools = narration_pools(ann.split("validation"))
    assert len(pools) == 1352 and sum(map(len, pools.values())) == 9668
    assert "take plate" in pools["0:2"]
