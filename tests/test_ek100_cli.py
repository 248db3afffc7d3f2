"""``actionmqa data validate|labels`` on the real annotations, and their error path."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from actionmqa.ek100.cli import register
from actionmqa.ek100.labels import LabelMap
from actionmqa.errors import InputError


def run_data(*argv: str) -> None:
    """Parse and run one ``data`` verb as the top-level CLI would (without the other stages)."""
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="stage", required=True))
    args = parser.parse_args(["data", *argv])
    args.func(args)


@pytest.mark.realdata
def test_validate_writes_published_counts(real_ek100_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    run_data("validate", "--annotations-dir", str(real_ek100_dir), "--out", str(out))
    report = json.loads(out.read_text())
    val = report["splits"]["validation"]
    assert (val["rows"], val["videos"], val["participants"]) == (9668, 138, 32)
    assert (val["verb_classes"], val["noun_classes"], val["actions"]) == (78, 211, 1352)
    assert (val["unseen_rows"], val["empty_narration_timestamp"]) == (1065, 70)
    assert val["tail_action_rows"] >= max(val["tail_verb_rows"], val["tail_noun_rows"]) > 0
    assert val["duration_sec"] == {"min": 0.5, "median": 1.96, "max": pytest.approx(147, abs=1)}
    assert report["label_space"] == {"verbs": 97, "nouns": 300, "actions": 1352}
    assert report["files"]["EPIC_100_validation.csv"]["pinned"] is True
    assert "EPIC_100_train.csv" in report["absent"]


@pytest.mark.realdata
def test_labels_writes_a_loadable_label_map(real_ek100_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "labels.json"
    run_data("labels", "--annotations-dir", str(real_ek100_dir), "--out", str(out))
    obj = json.loads(out.read_text())
    assert obj["verbs"]["0"] == "take" and obj["nouns"]["18"] == "board:chopping"
    assert [a["vn"] for a in obj["actions"][:3]] == sorted(a["vn"] for a in obj["actions"])[:3]
    assert LabelMap.read(out).action_id(obj["actions"][100]["vn"]) == 100


def test_validate_without_class_files_fails_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    with pytest.raises(InputError, match="EPIC_100_verb_classes.csv: class file is required"):
        run_data("validate", "--annotations-dir", str(tmp_path), "--out", str(out))
    assert not out.exists()
