"""Perception Test MC: HF rows with string scalars, the official JSON, parser, breakdown, submission."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from actionmqa.bench.base import evaluate
from actionmqa.bench.perceptiontest import PerceptionTest
from actionmqa.errors import InputError

HF_ROWS = [
    {
        "video_name": "video_00001",
        "question": "What is the person doing?",
        "question_id": "0",
        "options": ["cutting", "pouring", "stirring"],
        "answer_id": "1",
        "area": "Semantics",
        "reasoning": "Descriptive",
        "tag": ["Action recognition"],
    },
    {
        "video_name": "video_00001",
        "question": "How many cups are there?",
        "question_id": "1",
        "options": ["one", "two", "three"],
        "answer_id": "2",
        "area": "Physics",
        "reasoning": "Descriptive",
        "tag": ["Counting"],
    },
    {
        "video_name": "video_00002",
        "question": "Where is the ball?",
        "question_id": "0",
        "options": ["left cup", "middle cup", "right cup"],
        "answer_id": "0",
        "area": "Memory",
        "reasoning": "Predictive",
        "tag": ["Object permanence"],
    },
]


def write_hf(root: Path, rows: list[dict]) -> Path:
    (root / "mc_question_val").mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(root / "mc_question_val" / "validation-00000-of-00001.parquet")
    return root


def official(rows: list[dict]) -> dict:
    """The same questions in mc_question_valid.json form (int ids and answers, metadata)."""
    data: dict = {}
    for row in rows:
        video = data.setdefault(
            row["video_name"],
            {
                "metadata": {
                    "video_id": row["video_name"],
                    "split": "valid",
                    "num_frames": 90,
                    "frame_rate": 30,
                    "resolution": [1080, 1920],
                    "is_cup_game": row["video_name"] == "video_00002",
                    "is_camera_moving": False,
                },
                "mc_question": [],
            },
        )
        item = {k: row[k] for k in ("question", "options", "area", "reasoning", "tag")}
        video["mc_question"].append(
            item | {"id": int(row["question_id"]), "answer_id": int(row["answer_id"])}
        )
    return data


@pytest.fixture
def hf_root(tmp_path: Path) -> Path:
    return write_hf(tmp_path / "perceptiontest_val", HF_ROWS)


@pytest.fixture
def official_root(tmp_path: Path) -> Path:
    root = tmp_path / "official"
    root.mkdir()
    (root / "mc_question_valid.json").write_text(json.dumps(official(HF_ROWS)))
    (root / "cut_frame_mapping_valid.json").write_text(json.dumps({"video_00002": 60}))
    return root


def test_hf_rows_with_string_scalars(hf_root):
    questions = PerceptionTest().load(hf_root)
    assert [q.id for q in questions] == ["video_00001_0", "video_00001_1", "video_00002_0"]
    assert [q.answer for q in questions] == [1, 2, 0]
    assert questions[0].groups == {"area": "Semantics", "reasoning": "Descriptive"}
    assert questions[0].video == hf_root / "videos" / "video_00001.mp4"


def test_golden_prompt(hf_root):
    q = PerceptionTest().load(hf_root)[0]
    assert PerceptionTest().prompt(q).user == (
        "What is the person doing?\nA. cutting\nB. pouring\nC. stirring\n"
        "Answer with the option's letter from the given choices directly."
    )


def test_official_json_matches_the_hf_rows(official_root, hf_root):
    strip = [(q.id, q.question, q.options, q.answer, dict(q.groups)) for q in PerceptionTest().load(hf_root)]
    assert [
        (q.id, q.question, q.options, q.answer, dict(q.groups)) for q in PerceptionTest().load(official_root)
    ] == strip


def test_cup_games_are_cut_only_on_request(official_root):
    assert all(q.end is None for q in PerceptionTest().load(official_root))
    cut = PerceptionTest(cut_cup_games=True).load(official_root)
    assert [(q.id, q.start, q.end) for q in cut] == [
        ("video_00001_0", None, None),
        ("video_00001_1", None, None),
        ("video_00002_0", 0.0, 2.0),  # frame 60 at 30 fps
    ]


@pytest.mark.parametrize("mode", ["lmms_eval", "official"])
@pytest.mark.parametrize(
    ("raw", "index"),
    [("A person pours water, so B", 0), ("(B) pouring", 1), ("pouring", None), ("D", 3)],
)
def test_parser_cases(hf_root, mode, raw, index):
    q = PerceptionTest().load(hf_root)[0]
    assert PerceptionTest().parse(raw, q, mode).index == index


@pytest.mark.parametrize(
    ("raw", "index"), [("B", 1), ("(B)", 1), ("pouring", 1), ("(B) pouring", None), ("D", None)]
)
def test_strict_cases(hf_root, raw, index):
    q = PerceptionTest().load(hf_root)[0]
    assert PerceptionTest().parse(raw, q, "strict").index == index


def test_accuracy_with_area_and_reasoning_breakdown(hf_root):
    questions = PerceptionTest().load(hf_root)
    outputs = {"video_00001_0": "B", "video_00001_1": "A person counts: C", "video_00002_0": "pouring"}
    summary, results = evaluate(PerceptionTest(), questions, outputs, "lmms_eval")
    assert [r.correct for r in results] == [True, False, False]  # "A person ..." reads as A
    assert (summary.accuracy, summary.unparsed) == (pytest.approx(100 / 3), 1)
    assert {k: v.to_json()["accuracy"] for k, v in summary.groups["area"].items()} == {
        "Memory": 0.0,
        "Physics": 0.0,
        "Semantics": 100.0,
    }
    assert summary.groups["reasoning"]["Descriptive"].to_json() == {
        "n": 2,
        "denominator": 2,
        "correct": 1,
        "accuracy": 50.0,
    }


def test_submission_format(hf_root):
    questions = PerceptionTest().load(hf_root)
    outputs = {"video_00001_0": "B", "video_00001_1": "C", "video_00002_0": "no idea"}
    assert PerceptionTest().submission(questions, outputs, "lmms_eval") == {
        "video_00001": [
            {"id": 0, "answer_id": 1, "answer": "pouring"},
            {"id": 1, "answer_id": 2, "answer": "three"},
        ],
        "video_00002": [{"id": 0, "answer_id": -1, "answer": ""}],
    }


def test_bad_records(tmp_path, official_root):
    rows = [dict(r) for r in HF_ROWS]
    rows[2]["answer_id"] = "3"
    with pytest.raises(InputError, match=r"row 2, key 'answer_id': answer 3 is not among the 3 options"):
        PerceptionTest().load(write_hf(tmp_path / "a", rows))
    rows = [dict(r) for r in HF_ROWS]
    rows[0]["options"] = ["cutting", "pouring"]
    with pytest.raises(InputError, match=r"row 0, key 'options': expected 3 entries, got 2"):
        PerceptionTest().load(write_hf(tmp_path / "b", rows))
    data = official(HF_ROWS)
    del data["video_00002"]["mc_question"][0]["area"]
    (official_root / "mc_question_valid.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"row video_00002/mc_question\[0\], key 'area': missing field"):
        PerceptionTest().load(official_root)


def test_repeated_question_ids_are_refused(tmp_path):
    rows = [*HF_ROWS, dict(HF_ROWS[0], question="Again?")]
    with pytest.raises(InputError, match=r"question id 'video_00001_0' repeats \(.*row 0, .*row 3\)"):
        PerceptionTest().load(write_hf(tmp_path / "dup", rows))
