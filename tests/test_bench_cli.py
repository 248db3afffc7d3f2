"""``actionmqa bench score|prompts|submit`` end to end on a tiny MVBench layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actionmqa.bench.cli import run
from actionmqa.errors import InputError
from actionmqa.io import read_jsonl

RECORDS = {
    "action_antonym": [
        {
            "video": "1.webm",
            "question": "Which action?",
            "candidates": ["opening", "closing"],
            "answer": "closing",
        },
        {
            "video": "2.webm",
            "question": "Which action?",
            "candidates": ["pushing", "pulling"],
            "answer": "pushing",
        },
    ],
    "object_existence": [
        {"video": "v3.mp4", "question": "Is there a cube?", "candidates": ["yes", "no"], "answer": "no"},
        {"video": "v4.mp4", "question": "Is there a ball?", "candidates": ["yes", "no"], "answer": "yes"},
    ],
}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "mvbench"
    (root / "json").mkdir(parents=True)
    for task, records in RECORDS.items():
        (root / "json" / f"{task}.json").write_text(json.dumps(records))
    return root


def write_outputs(path: Path, outputs: dict[str, str]) -> Path:
    path.write_text("".join(json.dumps({"id": k, "output": v}) + "\n" for k, v in outputs.items()))
    return path


OUTPUTS = {
    "action_antonym_0": "B",
    "action_antonym_1": "a person pushes",
    "object_existence_0": "",
    "object_existence_1": "(B) no",
}


def test_score_writes_summary_and_per_sample_predictions(data, tmp_path):
    outputs = write_outputs(tmp_path / "outputs.jsonl", OUTPUTS)
    summary_path, samples_path = tmp_path / "out" / "summary.json", tmp_path / "out" / "pred.jsonl"
    args = ["score", "--benchmark", "mvbench", "--data", data, "--outputs", outputs, "--mode", "lmms_eval"]
    run([*args, "--out", summary_path, "--per-sample", samples_path])
    summary = json.loads(summary_path.read_text())
    # action_antonym: B right, "a person" -> A right; object_existence: "" dropped, (B) wrong
    assert summary["accuracy"] == pytest.approx((100.0 + 0.0) / 2)
    assert summary["unit"] == "percent"  # as every evaluation summary states its unit
    assert (summary["n"], summary["denominator"], summary["excluded"], summary["unparsed"]) == (4, 3, 1, 1)
    assert summary["parser_mode"] == "lmms_eval"
    assert summary["groups"]["task"]["action_antonym"] == {
        "n": 2,
        "denominator": 2,
        "correct": 2,
        "accuracy": 100.0,
    }
    assert summary["empty_outputs"] == ["object_existence_0"]
    assert summary["extra"]["correct_over_total"] == pytest.approx(200 / 3)
    samples = read_jsonl(samples_path)
    assert samples[1] == {
        "id": "action_antonym_1",
        "output": "a person pushes",
        "parsed": "A",
        "answer": "A",
        "correct": True,
        "counted": True,
        "found": True,
        "random_fallback": False,
    }
    assert samples[2]["counted"] is False and samples[2]["correct"] is None


def test_score_is_byte_identical_across_runs(data, tmp_path):
    outputs = write_outputs(tmp_path / "outputs.jsonl", OUTPUTS)
    paths = [tmp_path / f"s{i}.json" for i in range(2)]
    args = ["score", "--benchmark", "mvbench", "--data", data, "--outputs", outputs, "--mode", "official"]
    for path in paths:
        run([*args, "--out", path])
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_prompts_in_both_styles(data, tmp_path):
    run(["prompts", "--benchmark", "mvbench", "--data", data, "--out", tmp_path / "p.jsonl"])
    prompts = read_jsonl(tmp_path / "p.jsonl")
    assert [p["id"] for p in prompts] == [
        "action_antonym_0",
        "action_antonym_1",
        "object_existence_0",
        "object_existence_1",
    ]
    assert (
        prompts[0]["prompt"]
        == "Question:Which action?\nOption:\n(A) opening\n(B) closing\nOnly give the best option.\n"
    )
    assert prompts[0]["video"] == str(data / "ssv2_video_mp4" / "1.webm")
    assert prompts[0]["system"] is None and prompts[0]["prefill"] is None
    run(
        [
            "prompts",
            "--benchmark",
            "mvbench",
            "--data",
            data,
            "--style",
            "official",
            "--out",
            tmp_path / "o.jsonl",
        ]
    )
    official = read_jsonl(tmp_path / "o.jsonl")[0]
    assert official["prefill"] == "Best option:(" and official["system"].startswith("Carefully watch")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ('{"id": "action_antonym_0"}\n', r"outputs.jsonl, line 1: expected \{\"id\": str, \"output\": str\}"),
        ('{"id": "nope", "output": "A"}\n', r"line 1, key 'nope': id is not a question of this benchmark"),
        ('{"id": "action_antonym_0", "output": "A"}\n' * 2, r"line 2, key 'action_antonym_0': repeated id"),
        ("not json\n", r"outputs.jsonl, line 1: not valid JSON"),
        ('\n{"id": "nope", "output": "A"}\n', r"line 2, key 'nope'"),  # blank lines count
    ],
)
def test_bad_outputs_files_name_the_line(data, tmp_path, lines, message):
    outputs = tmp_path / "outputs.jsonl"
    outputs.write_text(lines)
    with pytest.raises(InputError, match=message):
        run(
            [
                "score",
                "--benchmark",
                "mvbench",
                "--data",
                data,
                "--outputs",
                outputs,
                "--mode",
                "strict",
                "--out",
                tmp_path / "s.json",
            ]
        )


def test_missing_outputs_fail_unless_allowed_then_are_listed(data, tmp_path):
    outputs = write_outputs(tmp_path / "outputs.jsonl", {"action_antonym_0": "B"})
    args = ["score", "--benchmark", "mvbench", "--data", data, "--outputs", outputs, "--mode", "strict"]
    with pytest.raises(InputError, match="3 labelled questions have no output"):
        run([*args, "--out", tmp_path / "s.json"])
    run([*args, "--out", tmp_path / "s.json", "--allow-missing"])
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["n"] == 1 and summary["accuracy"] == 100.0
    assert [s["reason"] for s in summary["skipped"]] == ["no_output"] * 3


def test_settings_a_benchmark_lacks_are_refused(data, tmp_path):
    with pytest.raises(InputError, match="mvbench has no setting subtitles"):
        run(
            [
                "prompts",
                "--benchmark",
                "mvbench",
                "--data",
                data,
                "--subtitles",
                "--out",
                tmp_path / "p.jsonl",
            ]
        )
    with pytest.raises(SystemExit):  # argparse: mvbench has no submission format
        run(
            [
                "submit",
                "--benchmark",
                "mvbench",
                "--data",
                data,
                "--outputs",
                tmp_path / "o",
                "--mode",
                "strict",
                "--out",
                tmp_path / "s",
            ]
        )
