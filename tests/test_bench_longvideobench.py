"""LongVideoBench: parquet and JSON forms, N/A padding, subtitles, interleaving, parser, aggregation."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from actionmqa.bench.base import evaluate
from actionmqa.bench.longvideobench import LongVideoBench, interleave, lmms_eval_frame_times, parse_subtitles
from actionmqa.bench.records import VideoMeta
from actionmqa.errors import InputError

#: (video_id, duration, duration_group, category, options, correct_choice)
SPECS = [
    ("vidA", 12.0, 15, "E2O", ["o0", "o1", "o2", "o3", "o4"], 3),
    ("vidB", 45.0, 60, "T3O", ["red", "green", "blue", "black"], 1),
    ("vidC", 400.0, 600, "S2A", ["x", "y", "z", "w", "v"], 0),
    ("vidD", 2000.0, 3600, "TOS", ["p", "q", "r", "s", "t"], 4),
    ("vidE", 20.0, 60, "SSS", ["k", "l", "m", "n", "o"], -1),  # test-style row
]
SUBTITLES = [
    {"start": "00:00:03.000", "end": "00:00:04.200", "line": "first"},
    {"timestamp": [5.0, 5.4], "text": "short"},
    {"timestamp": [9.0, None], "text": "until end"},
    {"timestamp": [13.5, 14], "text": "int end"},  # an int end also means "until the end"
]


def base_row(video_id, duration, group, category, correct) -> dict:
    return {
        "video_id": video_id,
        "id": f"{video_id}_0",
        "video_path": f"{video_id}.mp4",
        "subtitle_path": f"{video_id}_en.json",
        "correct_choice": correct,
        "question": f"What happens in {video_id}?",
        "duration": duration,
        "duration_group": group,
        "question_category": category,
        "topic_category": "NP-News-Programs",
        "starting_timestamp_for_subtitles": 3.0,
    }


def parquet_rows() -> list[dict]:
    rows = []
    for video_id, duration, group, category, options, correct in SPECS:
        padded = options + ["N/A"] * (5 - len(options))
        rows.append(
            base_row(video_id, duration, group, category, correct)
            | {f"option{i}": o for i, o in enumerate(padded)}
        )
    return rows


def json_rows() -> list[dict]:
    return [
        base_row(video_id, duration, group, category, correct)
        | {
            "candidates": options,
            "question_wo_referring_query": "What happens?",
            "position": [1, 2],
            "level": "L1-Perception",
            "view_count": 10,
        }
        for video_id, duration, group, category, options, correct in SPECS
    ]


def write_root(root: Path, rows: list[dict] | None = None, as_json: bool = False) -> Path:
    (root / "subtitles").mkdir(parents=True)
    for spec in SPECS:
        (root / "subtitles" / f"{spec[0]}_en.json").write_text(json.dumps(SUBTITLES))
    if as_json:
        (root / "lvb_val.json").write_text(json.dumps(rows or json_rows()))
    else:
        pd.DataFrame(rows or parquet_rows()).to_parquet(root / "validation-00000-of-00001.parquet")
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_root(tmp_path / "lvb")


def test_parquet_padding_and_json_candidates_agree(root, tmp_path):
    questions = LongVideoBench().load(root)
    assert [len(q.options) for q in questions] == [5, 4, 5, 5, 5]
    assert [q.answer for q in questions] == [3, 1, 0, 4, None]
    assert questions[1].groups == {"duration_group": "60", "question_category": "T3O"}
    twin = LongVideoBench().load(write_root(tmp_path / "json", as_json=True))
    assert [(q.id, q.options, q.answer, dict(q.groups)) for q in twin] == [
        (q.id, q.options, q.answer, dict(q.groups)) for q in questions
    ]


def test_golden_prompt_drops_the_padding(root):
    q = LongVideoBench().load(root)[1]
    assert LongVideoBench().prompt(q).user == (
        "What happens in vidB?\nA. red\nB. green\nC. blue\nD. black\n"
        "Answer with the option's letter from the given choices directly.\n"
    )
    assert LongVideoBench().prompt(q, "official").user == (
        "Question: What happens in vidB?\nA. red\nB. green\nC. blue\nD. black\n"
        "Answer with the option's letter from the given choices directly."
    )


def test_subtitles_in_both_forms_with_the_start_offset(root):
    lines = parse_subtitles(root / "subtitles" / "vidA_en.json", offset=3.0, duration=12.0)
    assert [(line.start, line.end, line.text) for line in lines] == [
        (0.0, pytest.approx(1.2), "first"),
        (2.0, pytest.approx(2.4), "short"),
        (6.0, 9.0, "until end"),
        (10.5, 9.0, "int end"),
    ]


def test_lmms_eval_interleaving_order(root):
    q = LongVideoBench(subtitles=True).load(root)[0]
    times = lmms_eval_frame_times(12.0, 16)
    assert times == [float(i) for i in range(12)]  # short video: one frame per whole second
    assert lmms_eval_frame_times(400.0, 16)[:3] == [0.0, 25.0, 50.0]
    img = "<image>"
    expected = [img, "first", img, img, "short", *[img] * 5, "until end", img, img, "int end", img, img]
    assert interleave(times, q.subtitles) == expected
    assert (
        LongVideoBench(subtitles=True).prompt(q).user
        == "\n".join(expected) + "\n" + LongVideoBench().prompt(q).user
    )


def test_official_interleaving_uses_the_authors_frame_times(root):
    q = LongVideoBench(subtitles=True, frames=5).load(root)[0]
    prompt = LongVideoBench(subtitles=True, frames=5).prompt(q, "official", VideoMeta(fps=10, n_frames=120))
    # frames at int(120 / 5) * i / 10 = 0, 2.4, 4.8, 7.2, 9.6 s; "first" covers no frame.
    img = "<image>"
    head = [img, "short", img, img, img, "until end", img, "int end"]
    assert prompt.user.split("\n")[: len(head) + 1] == [*head, "Question: What happens in vidA?"]
    with pytest.raises(ValueError, match="fps"):
        LongVideoBench(subtitles=True).prompt(q, "official")


@pytest.mark.parametrize("mode", ["lmms_eval", "official"])
@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Based on the video it is D", "B"), ("B. x2", "B"), ("The best answer is D", "D"), ("E", "E")],
)
def test_parser_cases(root, mode, raw, expected):
    q = LongVideoBench().load(root)[1]  # 4 options: a stray E is kept, and wrong
    parsed = LongVideoBench().parse(raw, q, mode, seed=0)
    assert (parsed.letter, parsed.found) == (expected, True)


def test_no_letter_falls_back_to_a_seeded_guess_among_the_question_letters(root):
    q = LongVideoBench().load(root)[1]
    guesses = {LongVideoBench().parse("no idea at all", q, "lmms_eval", seed=s).letter for s in range(50)}
    assert guesses == {"A", "B", "C", "D"}
    assert LongVideoBench().parse("no idea at all", q, "strict").letter is None
    assert LongVideoBench().parse("green", q, "strict").letter == "B"


def test_double_counted_overall_equals_plain_accuracy(root):
    questions = LongVideoBench().load(root)
    outputs = {"vidA_0": "D", "vidB_0": "Based on it, B", "vidC_0": "B", "vidD_0": "E", "vidE_0": "A"}
    summary, _ = evaluate(LongVideoBench(), questions, outputs, "lmms_eval")
    assert (summary.n, summary.correct, summary.accuracy) == (4, 3, 75.0)
    assert summary.extra["lmms_eval_overall"] == pytest.approx(summary.accuracy)
    assert summary.extra["lmms_eval_overall_num"] == 8
    assert sorted(summary.groups["duration_group"]) == ["15", "3600", "60", "600"]
    assert summary.groups["question_category"]["S2A"].accuracy == 0.0
    assert [s.id for s in summary.skipped] == ["vidE_0"]


def test_bad_records(tmp_path):
    rows = parquet_rows()
    rows[0]["option3"] = "N/A"
    with pytest.raises(InputError, match=r"row 0, key 'option3': an option follows the 'N/A' padding"):
        LongVideoBench().load(write_root(tmp_path / "a", rows))
    rows = parquet_rows()
    rows[1]["correct_choice"] = 4
    with pytest.raises(InputError, match=r"row 1, key 'correct_choice': correct_choice 4 is not among the 4"):
        LongVideoBench().load(write_root(tmp_path / "b", rows))
    rows = json_rows()
    del rows[2]["duration"]
    with pytest.raises(InputError, match=r"lvb_val.json, row 2, key 'duration': missing field"):
        LongVideoBench().load(write_root(tmp_path / "c", rows, as_json=True))
    rows = parquet_rows()
    rows[3]["duration_group"] = 120
    with pytest.raises(InputError, match=r"row 3, key 'duration_group'"):
        LongVideoBench().load(write_root(tmp_path / "d", rows))
