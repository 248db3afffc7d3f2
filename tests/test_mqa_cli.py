"""``actionmqa mqa build``: flags reach the builder, defaults name the source, bad input is an InputError."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from actionmqa.cli import main
from actionmqa.errors import InputError
from actionmqa.mqa.cli import register
from mqa_tiny_world import write_hard_predictions, write_tiny_dir


def run(*argv: str) -> None:
    parser = argparse.ArgumentParser(prog="actionmqa")
    register(parser.add_subparsers(dest="stage", required=True))
    args = parser.parse_args(["mqa", "build", *argv])
    args.func(args)


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    return write_tiny_dir(tmp_path / "ann")


def test_build_hard_with_source_stem(tiny: Path, tmp_path: Path) -> None:
    predictions = write_hard_predictions(tiny)
    out = tmp_path / "mqa" / "hard.jsonl"
    run(
        *("--annotations-dir", str(tiny), "--split", "validation", "--distractors", "hard"),
        *("--predictions", str(predictions), "--options", "5", "--text", "label"),
        *("--seed", "13", "--out", str(out)),
    )
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert first["distractor_source"] == "tim_pred_ids_val"
    assert first["options"] == ["open cupboard", "take plate", "put plate", "wash spoon", "take spoon"]
    manifest = json.loads((tmp_path / "mqa" / "hard.manifest.json").read_text(encoding="utf-8"))
    assert (manifest["text"], manifest["distractors"], manifest["seed"]) == ("label", "hard", 13)


def test_required_flags(tiny: Path) -> None:
    with pytest.raises(SystemExit):
        run("--annotations-dir", str(tiny), "--distractors", "random")


def test_three_options_with_source_name(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "random3.jsonl"
    run(
        *("--annotations-dir", str(tiny), "--distractors", "random", "--options", "3"),
        *("--source-name", "uniform", "--seed", "1", "--out", str(out)),
    )
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 6
    assert {len(r["options"]) for r in records} == {3}
    assert {r["distractor_source"] for r in records} == {"uniform"}


@pytest.mark.parametrize("kind", ["medium", "hard"])
def test_specialist_kinds_without_predictions_fail(tiny: Path, tmp_path: Path, kind: str) -> None:
    with pytest.raises(InputError, match="need a specialist prediction file"):
        run(
            "--annotations-dir", str(tiny), "--distractors", kind, "--seed", "0", "--out", str(tmp_path / "x")
        )


def test_option_count_is_bounded(tiny: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--options 27"):
        run(
            *("--annotations-dir", str(tiny), "--distractors", "random", "--options", "27"),
            *("--seed", "0", "--out", str(tmp_path / "x.jsonl")),
        )


def test_a_split_without_rows_is_an_error_not_an_empty_benchmark(tmp_path: Path, capsys) -> None:
    empty = write_tiny_dir(tmp_path / "ann", validation=[])
    out = tmp_path / "random.jsonl"
    argv = ["--annotations-dir", str(empty), "--distractors", "random", "--seed", "0", "--out", str(out)]
    assert main(["mqa", "build", *argv]) == 2
    message = capsys.readouterr().err
    assert f"{empty / 'EPIC_100_validation.csv'}: split 'validation' has no segments" in message
    assert not out.exists()
