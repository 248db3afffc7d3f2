"""``actionmqa sft build``: flags reach the builder; bad flag combinations are InputErrors or usage errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from actionmqa.errors import InputError
from actionmqa.io import read_jsonl
from actionmqa.sft.cli import register
from sft_tiny_world import write_mixture, write_scenes, write_sft_dir, write_train_predictions


def run(*argv: str) -> None:
    parser = argparse.ArgumentParser(prog="actionmqa")
    register(parser.add_subparsers(dest="stage", required=True))
    args = parser.parse_args(["sft", *argv])
    args.func(args)


@pytest.fixture()
def world(tmp_path: Path) -> dict[str, str]:
    ann = write_sft_dir(tmp_path / "ann")
    return {
        "ann": str(ann),
        "avion": str(write_train_predictions(ann, "avion")),
        "tim": str(write_train_predictions(ann, "tim")),
        "scenes": str(write_scenes(tmp_path / "scenes.jsonl")),
        "mixture": str(write_mixture(tmp_path / "mixture.yaml", "open_qa: {pairs_per_clip: 1}\n")),
    }


def test_build_with_two_sources_scenes_and_time_instruction(world: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "sft" / "train.jsonl"
    run(
        *("build", "--annotations-dir", world["ann"], "--mixture", world["mixture"], "--seed", "0"),
        *("--predictions", f"avion={world['avion']}", "--predictions", f"tim={world['tim']}"),
        *("--scenes", world["scenes"], "--time-instruction", "--frames", "16", "--out", str(out)),
    )
    manifest = json.loads((tmp_path / "sft" / "train.manifest.json").read_text())
    assert manifest["counts"] == {
        "caption": 10,
        "direct_narration": 10,
        "hard_mqa_avion": 10,
        "hard_mqa_tim": 10,
        "open_qa": 10,
        "temporal_detection": 10,
    }
    assert manifest["time_instruction"] == {"frames": 16}
    first = read_jsonl(out)[0]
    assert first["conversations"][0]["value"].startswith(
        "<video>\nThe provided video lasts for 1.000 seconds, and 16 frames are uniformly sampled from it."
    )


def test_time_instruction_needs_frames(world: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--time-instruction and --frames N"):
        run(
            *("build", "--annotations-dir", world["ann"], "--mixture", world["mixture"], "--seed", "0"),
            *("--predictions", f"avion={world['avion']}", "--scenes", world["scenes"]),
            *("--time-instruction", "--out", str(tmp_path / "out.jsonl")),
        )


def test_repeated_source_names_are_refused(world: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--predictions names repeat: \['avion', 'avion'\]"):
        run(
            *("build", "--annotations-dir", world["ann"], "--mixture", world["mixture"], "--seed", "0"),
            *("--predictions", f"avion={world['avion']}", "--predictions", f"avion={world['tim']}"),
            *("--scenes", world["scenes"], "--out", str(tmp_path / "out.jsonl")),
        )


@pytest.mark.parametrize("value", ["avion", "Avion=x.json", "=x.json", "avion="])
def test_predictions_must_be_name_equals_file(world: dict[str, str], value: str) -> None:
    with pytest.raises(SystemExit):
        run(
            *("build", "--annotations-dir", world["ann"], "--mixture", world["mixture"], "--seed", "0"),
            *("--predictions", value, "--out", "out.jsonl"),
        )


def test_scenes_and_teacher_file_exclude_each_other(world: dict[str, str]) -> None:
    with pytest.raises(SystemExit):
        run(
            *("build", "--annotations-dir", world["ann"], "--mixture", world["mixture"], "--seed", "0"),
            *("--scenes", world["scenes"], "--teacher-file", world["scenes"], "--out", "out.jsonl"),
        )


def test_teacher_mixture_needs_seed(world: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--mixture and --seed go together"):
        run(
            *("teacher", "--annotations-dir", world["ann"], "--mixture", world["mixture"]),
            *("--teacher-config", "t.yaml", "--video-root", str(tmp_path), "--out", "t.jsonl"),
        )


def test_a_train_split_without_rows_is_an_error(tmp_path: Path) -> None:
    empty = write_sft_dir(tmp_path / "empty", train=[])
    mixture = write_mixture(
        tmp_path / "direct.yaml", "hard_mqa: {fraction: 0}\ncaption: {fraction: 0}\nopen_qa: {fraction: 0}\n"
    )
    out = tmp_path / "sft.jsonl"
    with pytest.raises(InputError, match="EPIC_100_train.csv: split 'train' has no segments"):
        run(
            "build",
            "--annotations-dir",
            str(empty),
            "--mixture",
            str(mixture),
            "--seed",
            "0",
            "--out",
            str(out),
        )
    assert not out.exists()
