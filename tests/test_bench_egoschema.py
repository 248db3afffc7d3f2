"""EgoSchema: HF Subset and official layouts, golden prompt, MMMU-style parser, submission."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from actionmqa.bench import make_adapter
from actionmqa.bench.base import evaluate
from actionmqa.bench.egoschema import EgoSchema
from actionmqa.errors import InputError

UIDS = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(1, 4)]
OPTIONS = ["A. c cooks.", "B. c cleans.", "C. c reads.", "D. c paints.", "E. c sleeps."]


def hf_rows() -> list[dict]:
    rows = [
        {
            "question_idx": f"{i:05d}",
            "question": "What is c mainly doing?",
            "video_idx": uid,
            "option": OPTIONS,
            "answer": answer,
        }
        for i, (uid, answer) in enumerate(zip(UIDS, ["3", "0", "4"], strict=True))
    ]
    # A GENERATION-style row: the answer is hidden.
    rows.append(
        {
            **rows[0],
            "question_idx": "00003",
            "video_idx": "ffffffff-0000-4000-8000-000000000009",
            "answer": None,
        }
    )
    return rows


def write_hf(root: Path, rows: list[dict]) -> Path:
    (root / "Subset").mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(root / "Subset" / "test-00000-of-00001.parquet")
    return root


@pytest.fixture
def hf_root(tmp_path: Path) -> Path:
    return write_hf(tmp_path / "egoschema", hf_rows())


@pytest.fixture
def official_root(tmp_path: Path) -> Path:
    root = tmp_path / "official"
    root.mkdir()
    questions = [
        {"q_uid": uid, "google_drive_id": f"g{i}", "question": "What is c mainly doing?"}
        | {f"option {k}": text.split(". ", 1)[1] for k, text in enumerate(OPTIONS)}
        for i, uid in enumerate(UIDS)
    ]
    (root / "questions.json").write_text(json.dumps(questions))
    (root / "subset_answers.json").write_text(json.dumps({UIDS[0]: 3, UIDS[2]: 4}))
    return root


def test_hf_subset_loads_string_answers_and_keeps_prefixed_options(hf_root):
    questions = EgoSchema().load(hf_root)
    assert [q.answer for q in questions] == [3, 0, 4, None]
    q = questions[0]
    assert q.id == UIDS[0]
    assert q.options == ("c cooks.", "c cleans.", "c reads.", "c paints.", "c sleeps.")
    assert q.option_labels == tuple(OPTIONS)
    assert q.video == hf_root / "videos" / f"{UIDS[0]}.mp4"


def test_golden_prompt(hf_root):
    q = EgoSchema().load(hf_root)[0]
    assert EgoSchema().prompt(q).user == (
        "What is c mainly doing?\nA. c cooks.\nB. c cleans.\nC. c reads.\nD. c paints.\nE. c sleeps.\n"
        "Answer with the option's letter from the given choices directly."
    )
    assert EgoSchema().prompt(q, "official") == EgoSchema().prompt(q)


def test_official_layout_gives_the_same_prompt_and_the_subset(official_root, hf_root):
    official = EgoSchema().load(official_root)
    assert [(q.id, q.answer) for q in official] == [(UIDS[0], 3), (UIDS[2], 4)]
    assert EgoSchema().prompt(official[0]) == EgoSchema().prompt(EgoSchema().load(hf_root)[0])
    assert len(EgoSchema(full_set=True).load(official_root)) == 3


@pytest.mark.parametrize("mode", ["lmms_eval", "official"])
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("D", "D"),
        ("D.", "D"),
        ("(D)", "D"),
        ("The answer is D.", "D"),
        # Several candidates: the one whose last occurrence comes earliest wins.
        ("(B) or maybe C.", "B"),
        # More than 5 words and no letter form: the prefixed option string is searched for.
        ("I believe it is d. c paints. That is all", "D"),
    ],
)
def test_parser_cases(hf_root, mode, raw, expected):
    q = EgoSchema().load(hf_root)[0]
    parsed = EgoSchema().parse(raw, q, mode, seed=0)
    assert (parsed.letter, parsed.found, parsed.fallback) == (expected, True, False)


def test_lowercase_letter_falls_back_to_a_seeded_random_choice(hf_root):
    q = EgoSchema().load(hf_root)[0]
    draws = [EgoSchema().parse("d", q, "lmms_eval", seed=s) for s in range(30)]
    assert all(p.fallback and not p.found for p in draws)
    assert len({p.letter for p in draws}) > 1  # seed-dependent, as the spec says (§10.7)
    assert [EgoSchema().parse("d", q, "lmms_eval", seed=s).letter for s in range(30)] == [
        p.letter for p in draws
    ]
    # Plain content without the "D. " prefix does not match (lmms-eval's index2ans is prefixed).
    assert EgoSchema().parse("the person in the video paints the wall", q, "lmms_eval", 0).fallback


def test_strict_mode(hf_root):
    q = EgoSchema().load(hf_root)[0]
    assert EgoSchema().parse("c paints.", q, "strict").letter == "D"
    assert EgoSchema().parse("D. c paints.", q, "strict").letter == "D"
    assert EgoSchema().parse("d", q, "strict").letter is None
    assert EgoSchema().parse("The answer is D.", q, "strict").letter is None


def test_subset_accuracy_skips_the_unlabelled_row(hf_root):
    questions = EgoSchema().load(hf_root)
    outputs = {UIDS[0]: "D", UIDS[1]: "B", UIDS[2]: "(E)", "ffffffff-0000-4000-8000-000000000009": "A"}
    summary, results = evaluate(EgoSchema(), questions, outputs, "lmms_eval")
    assert (summary.n, summary.correct, summary.denominator) == (3, 2, 3)
    assert summary.accuracy == pytest.approx(200 / 3)
    assert [s.reason for s in summary.skipped] == ["unlabelled"]
    assert [r.correct for r in results] == [True, False, True]


def test_empty_output_gets_the_random_guess_and_is_listed(hf_root):
    questions = EgoSchema().load(hf_root)[:3]
    summary, results = evaluate(EgoSchema(), questions, {q.id: "" for q in questions}, "lmms_eval", seed=5)
    assert summary.unparsed == summary.random_fallbacks == 3
    assert summary.empty_outputs == UIDS
    assert all(r.parsed.letter in "ABCDE" for r in results)
    strict, _ = evaluate(EgoSchema(), questions, {q.id: "" for q in questions}, "strict")
    assert (strict.correct, strict.unparsed) == (0, 3)


def test_submission_is_q_uid_to_index(hf_root):
    questions = EgoSchema().load(hf_root)
    outputs = {UIDS[0]: "D", UIDS[1]: "nothing", "ffffffff-0000-4000-8000-000000000009": "(B)"}
    assert EgoSchema().submission(questions, outputs, "strict") == {
        UIDS[0]: 3,
        UIDS[1]: -1,
        "ffffffff-0000-4000-8000-000000000009": 1,
    }


def test_bad_records_name_the_file_and_row(tmp_path):
    rows = hf_rows()
    rows[1]["answer"] = "7"
    root = write_hf(tmp_path / "a", rows)
    with pytest.raises(
        InputError, match=r"test-00000-of-00001.parquet, row 1, key 'answer': answer 7 is not"
    ):
        EgoSchema().load(root)
    rows = [{k: v for k, v in r.items() if k != "question"} for r in hf_rows()]
    with pytest.raises(InputError, match=r"row 0, key 'question': missing field"):
        EgoSchema().load(write_hf(tmp_path / "b", rows))


def test_missing_video_is_an_error_when_a_video_root_is_given(hf_root, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for uid in UIDS:
        (videos / f"{uid}.mp4").touch()
    with pytest.raises(
        InputError, match=r"row 3: video not found: .*ffffffff-0000-4000-8000-000000000009.mp4"
    ):
        EgoSchema().load(hf_root, videos)
    (videos / "ffffffff-0000-4000-8000-000000000009.MP4").touch()  # lmms-eval's upper-case fallback
    assert EgoSchema().load(hf_root, videos)[3].video.name.endswith(".MP4")


def test_subset_answers_must_reference_known_questions(official_root):
    (official_root / "subset_answers.json").write_text(json.dumps({"unknown-uid": 1}))
    with pytest.raises(InputError, match="subset_answers.json, key 'unknown-uid'"):
        make_adapter("egoschema").load(official_root)


def test_cli_submit_full_set(tmp_path):
    from actionmqa.bench.cli import run

    root = tmp_path / "egoschema"
    (root / "MC").mkdir(parents=True)
    pd.DataFrame([{**r, "answer": None} for r in hf_rows()]).to_parquet(
        root / "MC" / "test-00000-of-00001.parquet"
    )
    outputs = tmp_path / "outputs.jsonl"
    outputs.write_text(
        "".join(json.dumps({"id": u, "output": o}) + "\n" for u, o in zip(UIDS, "DAE", strict=True))
    )
    run(
        [
            "submit",
            "--benchmark",
            "egoschema",
            "--data",
            root,
            "--full-set",
            "--outputs",
            outputs,
            "--mode",
            "lmms_eval",
            "--out",
            tmp_path / "sub.json",
        ]
    )
    assert json.loads((tmp_path / "sub.json").read_text()) == {UIDS[0]: 3, UIDS[1]: 0, UIDS[2]: 4}
