"""MQA builder on a tiny hand-written annotation dir: golden records, determinism, manifest, errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from actionmqa.errors import InputError
from actionmqa.io import read_jsonl, sha256_file
from actionmqa.mqa.benchmark import build_benchmark
from actionmqa.mqa.builder import BuildConfig
from actionmqa.mqa.distractors import DistractorKind
from actionmqa.mqa.manifest import manifest_path
from actionmqa.mqa.options import TextMode
from actionmqa.mqa.records import read_benchmark
from mqa_tiny_world import HARD, TRAIN, VALIDATION, write_hard_predictions, write_tiny_dir

SEED = 13


def config(kind: str, text: str = "narration") -> BuildConfig:
    source = "random" if kind == "random" else "tim"
    return BuildConfig(DistractorKind(kind), TextMode(text), SEED, source)


def build(root: Path, kind: str, text: str, out: Path, predictions: Path | None = None) -> list[dict]:
    build_benchmark(root, config(kind, text), out, predictions)
    return read_jsonl(out)


def table(records: list[dict]) -> list[tuple[str, int, list[str]]]:
    return [(r["narration_id"], r["answer_index"], r["options"]) for r in records]


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    return write_tiny_dir(tmp_path / "ann")


def test_golden_random_narration(tiny: Path, tmp_path: Path) -> None:
    records = build(tiny, "random", "narration", tmp_path / "random.jsonl")
    assert records[0] == {
        "uid": "P01-P01_11_0.00_1.89",
        "narration_id": "P01_11_0",
        "video_id": "P01_11",
        "participant_id": "P01",
        "start_sec": 0.0,
        "end_sec": 1.89,
        "narration": "take plate",
        "options": ["take spoon", "take plate", "turn tap on", "take chopping board", "rinse knife"],
        "option_vns": ["0:1", "0:2", "6:0", "0:18", "2:4"],
        "answer_index": 1,
        "gt_vn": "0:2",
        "distractor_source": "random",
        "seed": SEED,
    }
    # numeric narration order (_2 before _10); 0:18 has no train narration, so its label shows
    assert table(records) == [
        ("P01_11_0", 1, ["take spoon", "take plate", "turn tap on", "take chopping board", "rinse knife"]),
        ("P01_11_1", 4, ["grab plate", "open cupboard", "turn tap on", "take spoon", "put down plate"]),
        ("P01_11_2", 1, ["turn tap on", "wash knife", "take spoon", "wash spoon", "open cupboard door"]),
        (
            "P01_11_10",
            4,
            ["turn tap on", "put plate down", "take spoon", "take chopping board", "open cupboard"],
        ),
        (
            "P02_101_0",
            0,
            ["turn on tap", "rinse knife", "put plate down", "open cupboard door", "take chopping board"],
        ),
        (
            "P02_101_1",
            3,
            ["grab plate", "take spoon", "open cupboard door", "take chopping board", "wash spoon"],
        ),
    ]


def test_golden_random_label(tiny: Path, tmp_path: Path) -> None:
    records = build(tiny, "random", "label", tmp_path / "random_label.jsonl")
    assert table(records) == [
        ("P01_11_0", 1, ["take spoon", "take plate", "turn-on tap", "take chopping board", "wash knife"]),
        ("P01_11_1", 4, ["take plate", "open cupboard", "turn-on tap", "take spoon", "put plate"]),
        ("P01_11_2", 1, ["turn-on tap", "wash knife", "take spoon", "wash spoon", "open cupboard"]),
        ("P01_11_10", 4, ["turn-on tap", "put plate", "take spoon", "take chopping board", "open cupboard"]),
        ("P02_101_0", 0, ["turn-on tap", "wash knife", "put plate", "open cupboard", "take chopping board"]),
        ("P02_101_1", 3, ["take plate", "take spoon", "open cupboard", "take chopping board", "wash spoon"]),
    ]


def test_golden_hard_narration_injects_absent_gt(tiny: Path, tmp_path: Path) -> None:
    records = build(tiny, "hard", "narration", tmp_path / "hard.jsonl", write_hard_predictions(tiny))
    assert table(records) == [
        ("P01_11_0", 1, ["open cupboard", "take plate", "put plate down", "wash spoon", "take spoon"]),
        ("P01_11_1", 4, ["grab plate", "take spoon", "wash spoon", "open cupboard", "put down plate"]),
        ("P01_11_2", 1, ["open cupboard door", "wash knife", "pick up plate", "wash spoon", "take spoon"]),
        ("P01_11_10", 4, ["put plate down", "turn tap on", "rinse knife", "take spoon", "open cupboard"]),
        ("P02_101_0", 0, ["turn on tap", "open cupboard door", "pick up plate", "wash spoon", "take spoon"]),
        ("P02_101_1", 3, ["put plate down", "wash spoon", "take spoon", "take chopping board", "grab plate"]),
    ]
    by_id = {r["narration_id"]: r for r in records}
    # row 1 (1:2): top-5 lacks the GT, so the 5th ("6:0") is dropped and the GT added
    assert sorted(by_id["P01_11_1"]["option_vns"]) == ["0:1", "0:2", "1:2", "2:1", "3:3"]
    assert sorted(by_id["P02_101_1"]["option_vns"]) == ["0:1", "0:18", "0:2", "1:2", "2:1"]
    # row 0 keeps its exact top-5
    assert sorted(by_id["P01_11_0"]["option_vns"]) == sorted(HARD[0][:5])
    assert {r["distractor_source"] for r in records} == {"tim"}


def test_golden_hard_label(tiny: Path, tmp_path: Path) -> None:
    records = build(tiny, "hard", "label", tmp_path / "hard_label.jsonl", write_hard_predictions(tiny))
    assert table(records)[:2] == [
        ("P01_11_0", 1, ["open cupboard", "take plate", "put plate", "wash spoon", "take spoon"]),
        ("P01_11_1", 4, ["take plate", "take spoon", "wash spoon", "open cupboard", "put plate"]),
    ]
    # same classes and order as in narration mode: only the texts differ
    narration = build(tiny, "hard", "narration", tmp_path / "hard.jsonl", write_hard_predictions(tiny))
    assert [r["option_vns"] for r in records] == [r["option_vns"] for r in narration]


@pytest.mark.parametrize("kind", ["random", "hard"])
@pytest.mark.parametrize("text", ["narration", "label"])
def test_every_record_is_valid(tiny: Path, tmp_path: Path, kind: str, text: str) -> None:
    out = tmp_path / "b.jsonl"
    build_benchmark(tiny, config(kind, text), out, write_hard_predictions(tiny) if kind == "hard" else None)
    for record in read_benchmark(out):  # the model itself checks answer -> GT and distinct texts/classes
        assert record.option_vns.count(record.gt_vn) == 1
        assert len(set(record.options)) == len(record.options) == 5
        if text == "narration":
            assert record.answer == record.narration


def test_rebuild_is_byte_identical(tiny: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "hard.jsonl", tmp_path / "b" / "hard.jsonl"
    predictions = write_hard_predictions(tiny)
    build_benchmark(tiny, config("hard"), first, predictions)
    build_benchmark(tiny, config("hard"), second, predictions)
    assert first.read_bytes() == second.read_bytes()
    assert manifest_path(first).read_bytes() == manifest_path(second).read_bytes()


@pytest.mark.parametrize("kind", ["random", "hard"])
def test_shuffled_input_rows_give_the_same_file(tmp_path: Path, kind: str) -> None:
    order = [4, 2, 5, 0, 3, 1]
    shuffled = write_tiny_dir(
        tmp_path / "shuffled", validation=[VALIDATION[i] for i in order], train=list(reversed(TRAIN))
    )
    original = write_tiny_dir(tmp_path / "original")
    # the specialist ranks the same clips; only its row keys follow the new CSV order
    moved = {new: HARD[old] for new, old in enumerate(order)}
    a, b = tmp_path / "original.jsonl", tmp_path / "shuffled.jsonl"
    hard = kind == "hard"
    build_benchmark(original, config(kind), a, write_hard_predictions(original) if hard else None)
    build_benchmark(shuffled, config(kind), b, write_hard_predictions(shuffled, moved) if hard else None)
    assert a.read_bytes() == b.read_bytes()


def test_manifest_counts_and_rates(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "hard.jsonl"
    predictions = write_hard_predictions(tiny)
    manifest = build_benchmark(tiny, config("hard"), out, predictions)
    assert manifest == json.loads(manifest_path(out).read_text(encoding="utf-8"))
    assert manifest["benchmark"] == {"file": "hard.jsonl", "sha256": sha256_file(out)}
    assert manifest["records"] == 6
    assert manifest["options"] == 5
    assert manifest["answer_position_counts"] == [1, 2, 0, 1, 2]
    assert (manifest["seed"], manifest["text"], manifest["distractors"]) == (SEED, "narration", "hard")
    assert manifest["distractor_source"] == "tim"
    assert manifest["label_space_actions"] == 8
    assert manifest["narration_pool"] == {"split": "train", "disjoint_from_benchmark": True}
    assert manifest["specialist"] == {"gt_injected": 2, "gt_in_top_k_rate": 0.666667}
    # counted by hand over the 24 distractors of HARD
    assert manifest["distractor_shares_verb_rate"] == 0.166667
    assert manifest["distractor_shares_noun_rate"] == 0.083333
    assert manifest["distractor_shares_verb_or_noun_rate"] == 0.25
    assert manifest["inputs"]["predictions"] == {
        "file": "tim_pred_ids_val.json",
        "sha256": sha256_file(predictions),
    }
    assert sorted(manifest["inputs"]) == [
        "noun_classes",
        "predictions",
        "train",
        "validation",
        "verb_classes",
    ]
    assert manifest["inputs"]["train"]["sha256"] == sha256_file(tiny / "EPIC_100_train.csv")


def test_random_manifest_counts_label_fallbacks(tiny: Path, tmp_path: Path) -> None:
    manifest = build_benchmark(tiny, config("random"), tmp_path / "random.jsonl")
    assert manifest["specialist"] is None
    # 0:18 drawn as a distractor for three clips (see the golden records): no train narration
    assert manifest["label_text_fallbacks"] == {"no_narration": 3, "exhausted": 0}


def test_without_train_split_pools_come_from_the_split_itself(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = write_tiny_dir(tmp_path / "ann", train=None)
    with caplog.at_level(logging.WARNING, logger="actionmqa.mqa"):
        manifest = build_benchmark(root, config("random"), tmp_path / "random.jsonl")
    assert "EPIC_100_train.csv is absent" in caplog.text
    assert manifest["narration_pool"] == {"split": "validation", "disjoint_from_benchmark": False}
    assert manifest["label_space_actions"] == 6
    assert "train" not in manifest["inputs"]


def test_predictions_missing_a_row(tiny: Path, tmp_path: Path) -> None:
    partial = {row: ranked for row, ranked in HARD.items() if row != 4}
    with pytest.raises(InputError, match=r"1 of 6 rows missing \(first: '4'\)"):
        build_benchmark(tiny, config("hard"), tmp_path / "h.jsonl", write_hard_predictions(tiny, partial))
    assert not (tmp_path / "h.jsonl").exists()


def test_predictions_with_wrong_target(tiny: Path, tmp_path: Path) -> None:
    path = write_hard_predictions(tiny)
    document = json.loads(path.read_text(encoding="utf-8"))
    document["2"]["target"] = "0:2"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InputError, match="target '0:2' does not match the segment's class '3:3'") as error:
        build_benchmark(tiny, config("hard"), tmp_path / "h.jsonl", path)
    assert error.value.key == "2"


def test_predictions_shorter_than_k(tiny: Path, tmp_path: Path) -> None:
    short = HARD | {3: HARD[3][:4]}
    with pytest.raises(InputError, match="4 predictions, at least 5 needed") as error:
        build_benchmark(tiny, config("hard"), tmp_path / "h.jsonl", write_hard_predictions(tiny, short))
    assert error.value.key == "3"


@pytest.mark.parametrize("kind", ["medium", "hard"])
def test_specialist_kinds_need_predictions(tiny: Path, tmp_path: Path, kind: str) -> None:
    with pytest.raises(InputError, match=f"{kind} distractors need a specialist prediction file"):
        build_benchmark(tiny, config(kind), tmp_path / "h.jsonl")


def test_random_refuses_a_prediction_file(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="random distractors use no prediction file"):
        build_benchmark(tiny, config("random"), tmp_path / "r.jsonl", write_hard_predictions(tiny))


def test_duplicate_uid_names_both_lines(tmp_path: Path) -> None:
    twin = ("P01_11_3", *VALIDATION[3][1:])  # same video and times as P01_11_2 (data row 3, line 5)
    root = write_tiny_dir(tmp_path / "ann", validation=[*VALIDATION, twin])
    with pytest.raises(InputError, match="'P01-P01_11_3.00_4.10' repeats line 5") as error:
        build_benchmark(root, config("random"), tmp_path / "r.jsonl")
    assert (error.value.line, error.value.key) == (8, "uid")  # the header, six rows, then the twin
