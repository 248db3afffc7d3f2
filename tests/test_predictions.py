"""The TIM/AVION prediction file: exact bytes on write, every malformation named on read."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from actionmqa.ek100.annotations import load_segments
from actionmqa.errors import InputError
from actionmqa.specialist.predictions import load_predictions, write_predictions
from mqa_tiny_world import write_tiny_dir

# Validation vns of the tiny world, by CSV row: 0:2, 1:2, 3:3, 2:4, 6:0, 0:18
RANKED = {
    0: ["0:2", "1:2", "0:1"],
    1: ["0:2", "1:2", "2:1"],
    2: ["3:3", "0:1", "2:1"],
    3: ["2:1", "2:4", "0:1"],
    4: ["6:0", "0:1", "3:3"],
    5: ["0:2", "0:1", "0:18"],
}


@pytest.fixture()
def segments(tmp_path: Path) -> pd.DataFrame:
    root = write_tiny_dir(tmp_path / "ann")
    return load_segments(root / "EPIC_100_validation.csv")


def write_document(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_write_gives_canonical_bytes_and_round_trips(tmp_path: Path, segments: pd.DataFrame) -> None:
    path = tmp_path / "tim_pred_ids_val.json"
    # insertion order must not matter
    write_predictions(path, dict(reversed(list(RANKED.items()))), segments)
    assert path.read_text(encoding="utf-8") == (
        '{"0":{"predictions":["0:2","1:2","0:1"],"target":"0:2"},'
        '"1":{"predictions":["0:2","1:2","2:1"],"target":"1:2"},'
        '"2":{"predictions":["3:3","0:1","2:1"],"target":"3:3"},'
        '"3":{"predictions":["2:1","2:4","0:1"],"target":"2:4"},'
        '"4":{"predictions":["6:0","0:1","3:3"],"target":"6:0"},'
        '"5":{"predictions":["0:2","0:1","0:18"],"target":"0:18"}}\n'
    )
    loaded = load_predictions(path, segments, min_k=3)
    assert loaded == RANKED
    assert list(loaded) == [0, 1, 2, 3, 4, 5]


def test_write_rejects_unknown_row_and_bad_class(tmp_path: Path, segments: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="row 9"):
        write_predictions(tmp_path / "p.json", {9: ["0:1"]}, segments)
    with pytest.raises(InputError, match="verb:noun"):
        write_predictions(tmp_path / "p.json", {0: ["take plate"]}, segments)
    assert not (tmp_path / "p.json").exists()


def document_of(ranked: dict[int, list[str]], segments: pd.DataFrame) -> dict[str, dict[str, object]]:
    return {str(i): {"predictions": p, "target": segments.at[i, "vn"]} for i, p in ranked.items()}


def test_missing_and_extra_rows_are_named_and_counted(tmp_path: Path, segments: pd.DataFrame) -> None:
    document = document_of(RANKED, segments)
    del document["2"], document["5"]
    document["6"] = document["7"] = {"predictions": ["0:1"], "target": "0:1"}
    path = write_document(tmp_path / "p.json", document)
    with pytest.raises(InputError) as error:
        load_predictions(path, segments)
    message = str(error.value)
    assert message.startswith(str(path))
    assert "2 of 6 rows missing (first: '2', '5')" in message
    assert "2 keys that are not rows of the segments table (first: '6', '7')" in message


def test_wrong_target_names_row_expected_and_found(tmp_path: Path, segments: pd.DataFrame) -> None:
    document = document_of(RANKED, segments)
    document["3"]["target"] = "2:1"
    path = write_document(tmp_path / "p.json", document)
    with pytest.raises(InputError) as error:
        load_predictions(path, segments)
    assert error.value.key == "3"
    assert "target '2:1' does not match the segment's class '2:4'" in str(error.value)


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"predictions": ["0:2", "1:2"], "target": "0:2"}, "2 predictions, at least 3 needed"),
        ({"predictions": ["0:2", "1:2", "0:2"], "target": "0:2"}, "repeats a class"),
        ({"predictions": ["0:2", "1:2", 7], "target": "0:2"}, "verb:noun"),
        ({"predictions": "0:2", "target": "0:2"}, "verb:noun"),
        ({"target": "0:2"}, "'predictions' and 'target'"),
    ],
)
def test_bad_entry_is_named(tmp_path: Path, segments: pd.DataFrame, entry: dict, problem: str) -> None:
    document = document_of(RANKED, segments)
    document["0"] = entry
    path = write_document(tmp_path / "p.json", document)
    with pytest.raises(InputError, match=problem) as error:
        load_predictions(path, segments, min_k=3)
    assert error.value.key == "0"


@pytest.mark.parametrize(("text", "problem"), [("[1, 2]", "expected a JSON object"), ("{", "not valid JSON")])
def test_not_an_object(tmp_path: Path, segments: pd.DataFrame, text: str, problem: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=problem):
        load_predictions(path, segments)
