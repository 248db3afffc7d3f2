"""The dataset-level specialist metrics file: the primary variant on top, every variant below."""

from __future__ import annotations

import json

import pytest

from actionmqa.cli import main
from actionmqa.errors import InputError
from actionmqa.specialist.summary import summarize


def _metrics(tmp_path, name, top1, feature_set):
    path = tmp_path / f"{name}.json"
    path.write_text(
        json.dumps(
            {
                "val": {"action_top1": top1, "action_top5": 0.9},
                "train_cv": {"action_top1": top1 - 0.1},
                "feature_set": feature_set,
                "n_val": 250,
                "confusions": {"val": {}},
            }
        )
    )
    return path


def test_primary_variant_heads_the_summary(tmp_path):
    variants = {
        "medium": _metrics(tmp_path, "m", 0.45, "appearance"),
        "hard": _metrics(tmp_path, "h", 0.53, "full"),
    }
    summary = summarize(variants, "hard")
    assert summary["primary"] == "hard"
    assert summary["val"] == {"action_top1": 0.53, "action_top5": 0.9}
    assert summary["train_cv"] == {"action_top1": pytest.approx(0.43)}
    assert sorted(summary["variants"]) == ["hard", "medium"]
    assert summary["variants"]["medium"] == {
        "feature_set": "appearance",
        "n_val": 250,
        "val": {"action_top1": 0.45, "action_top5": 0.9},
        "train_cv": {"action_top1": pytest.approx(0.35)},
    }


def test_unknown_primary_and_broken_file_are_errors(tmp_path):
    good = _metrics(tmp_path, "h", 0.5, "full")
    with pytest.raises(InputError, match="primary specialist 'tim' is not among \\['hard'\\]"):
        summarize({"hard": good}, "tim")
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"val": 0.5}))
    with pytest.raises(InputError) as error:
        summarize({"hard": broken}, "hard")
    assert str(broken) in str(error.value) and "key 'val'" in str(error.value)


def test_cli_writes_the_summary(tmp_path, capsys):
    out = tmp_path / "metrics.json"
    args = ["specialist", "summarize", "--variant", f"hard={_metrics(tmp_path, 'h', 0.5, 'full')}"]
    assert main([*args, "--primary", "hard", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["val"]["action_top1"] == 0.5
    assert main(["specialist", "summarize", "--variant", "hard", "--primary", "hard", "--out", str(out)]) == 2
    assert "expected NAME=METRICS.json, got 'hard'" in capsys.readouterr().err
