"""The paper's tables and figures from fabricated evaluation summaries: exact values with the
paper's beside ours, errors that name the file and key, byte-identical rebuilds."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest

from actionmqa.cli import main
from actionmqa.errors import InputError
from actionmqa.report import FIGURE_FORMATS, FIGURES, TABLE_FORMATS, TABLES
from actionmqa.report.collect import RunLayout, classify, collect, read_loss_curve
from actionmqa.report.paper import load_paper_results, paper_reference_errors
from actionmqa.report.tables import Context, build_tables, latex_escape, to_markdown, write_tables
from workflow_helpers import REPO

PAPER = REPO / "config" / "paper_results.yaml"
MODELS = ("base", "llavaction", "llavaction_no_action_token")
PAPER_MODELS = {
    "base": "LLaVA-Video-7B",
    "llavaction": "LLaVAction-7B",
    "llavaction_no_action_token": "LLaVAction-7B (no action token)",
}
BENCHMARKS = ("egoschema", "mvbench")
LAYOUT = RunLayout(MODELS, (8,), 20, BENCHMARKS)

#: hard-MQA accuracy and likelihood accuracy (%) per model; random/medium derive from it
HARD = {"base": (25.0, 40.0), "llavaction": (55.0, 70.0), "llavaction_no_action_token": (50.0, 61.0)}


def _mqa(accuracy: float, likelihood: float | None, frames: int = 8) -> dict:
    return {
        "n": 60,
        "accuracy": accuracy,
        "accuracy_strict": accuracy / 2,
        "accuracy_likelihood": likelihood,
        "unparsed": 3,
        "frames": frames,
        "time_instruction": False,
        "max_new_tokens": 24,
        "unit": "percent",
    }


def _bench(name: str, accuracy: float) -> dict:
    return {
        "accuracy": accuracy,
        "benchmark": name,
        "headline_mode": "lmms_eval",
        "n": 32,
        "modes": {},
        "unit": "percent",
    }


def fabricate(root: Path, models=MODELS, frames=(8,)) -> list[Path]:
    """Summaries of a finished run, in the writers' formats, under root/results/toy/eval."""
    paths = []
    for index, model in enumerate(models):
        folder = root / "results" / "toy" / "eval" / model
        folder.mkdir(parents=True, exist_ok=True)
        hard, likelihood = HARD.get(model, (30.0, 50.0))
        files = {}
        for n in frames:
            files[f"ek100_mqa_random_{n}f.json"] = _mqa(hard + 30, likelihood + 20, n)
            files[f"ek100_mqa_medium_{n}f.json"] = _mqa(hard + 10, likelihood + 10, n)
            files[f"ek100_mqa_hard_{n}f.json"] = _mqa(hard, likelihood, n)
        first = frames[0]
        files[f"ek100_mqa_hard_{first}f_sap.json"] = {
            "n": 60,
            "frames": first,
            "first_pass": _mqa(hard, likelihood),
            "second_pass": {**_mqa(hard + 5, likelihood), "accuracy": hard + 5},
            "unit": "percent",
        }
        files[f"recognition_top20_{first}f.json"] = {
            "n": 60,
            "top_k": 20,
            "frames": first,
            "text": "narration",
            "two_stage": {"verb_top1": 50.0 + index, "noun_top1": 60.0 + index, "action_top1": 40.0 + index},
            "specialist": {"verb_top1": 56.8, "noun_top1": 87.6, "action_top1": 52.4},
            "top_k_recall": 99.6,
            "unit": "percent",
        }
        for b, name in enumerate(BENCHMARKS):
            files[f"{name}.json"] = _bench(name, 30.0 + 10 * index + b)
        for name, data in files.items():
            (folder / name).write_text(json.dumps(data))
            paths.append(folder / name)
    return paths


@pytest.fixture
def run(tmp_path):
    return fabricate(tmp_path)


def _tables(run, context=None):
    context = context or Context(PAPER_MODELS, 5, {"verb_top1": 50.4, "noun_top1": 82.0, "action_top1": 48.0})
    results = collect(run, LAYOUT)
    return {t.name: t for t in build_tables(results, load_paper_results(PAPER), context)}


def _csv(tmp_path, table) -> pd.DataFrame:
    write_tables([table], tmp_path)
    return pd.read_csv(tmp_path / f"{table.name}.csv")


def test_distractor_table_has_ours_in_percent_beside_the_paper(run, tmp_path):
    frame = _csv(tmp_path, _tables(run)["distractors"])
    base = frame[frame.model == "base"].iloc[0]
    assert base.paper_row == "LLaVA-Video-7B (zero-shot)"
    assert (base.random_ours, base.medium_ours, base.hard_ours) == (55.0, 35.0, 25.0)
    assert (base.random_ours_likelihood, base.hard_ours_likelihood) == (60.0, 40.0)
    assert (base.random_paper, base.medium_paper, base.hard_paper) == (65.0, 40.0, 35.7)
    # a model with no row in §7.1, then the paper's rows nobody stands for, for context
    assert pd.isna(frame[frame.model == "llavaction"].iloc[0].hard_paper)
    assert list(frame.paper_row[3:]) == ["GPT-4o", "GPT-4o-mini"]
    assert frame[frame.paper_row == "GPT-4o"].iloc[0].hard_paper == 52.2


def test_frames_table_has_the_paper_at_8_and_16_frames(run, tmp_path):
    frame = _csv(tmp_path, _tables(run)["mqa_frames"])
    assert list(frame.columns) == [
        "model",
        "paper_row",
        "ours_8f",
        "ours_8f_likelihood",
        "paper_8f",
        "paper_16f",
    ]
    ours = frame[frame.model == "llavaction"].iloc[0]
    assert (ours.ours_8f, ours.paper_8f, ours.paper_16f) == (55.0, 71.7, 73.4)
    # the paper's LLaVA-OV-0.5B row has no confirmed number and no model of ours: left out
    assert "LLaVA-OV-0.5B zero-shot" not in set(frame.paper_row)


def test_ablation_follows_the_paper_stack_with_the_action_token_effect(run, tmp_path):
    table = _tables(run)["ablation"]
    frame = _csv(tmp_path, table)
    assert len(frame) == 11 and frame.configuration[0] == "Zero-shot"
    zero = frame.iloc[0]
    assert (zero.model, zero.paper, zero.ours, zero.ours_sap) == ("base", 34.8, 25.0, 30.0)
    before = frame[frame.configuration == "+ Temporal detection"].iloc[0]
    assert (before.model, before.paper, before.ours) == ("llavaction_no_action_token", 65.2, 50.0)
    effect = frame.iloc[-1]
    assert effect.kind == "effect (points)"
    assert effect.model == "llavaction minus llavaction_no_action_token"
    assert (effect.paper, effect.ours, effect.ours_likelihood) == (3.9, 5.0, 9.0)
    assert "+3.9" in to_markdown(table) and "+5.0" in to_markdown(table)


def test_recognition_puts_specialists_beside_tim_and_avion(run, tmp_path):
    frame = _csv(tmp_path, _tables(run)["recognition"]).set_index("paper_row", drop=False)
    assert frame.loc["TIM"].action_top1_ours == 52.4 and frame.loc["TIM"].action_top1_paper == 56.4
    assert frame.loc["AVION"].action_top1_ours == 48.0 and frame.loc["AVION"].action_top1_paper == 54.4
    narration = frame.loc["LLaVAction-7B, two-stage, narration options"]
    assert narration.method.startswith("llavaction, two-stage (top-20, narration options")
    assert (narration.action_top1_ours, narration.action_top1_paper) == (41.0, 63.2)
    # the label-options row stays as the paper's only, verb/noun have no paper value: no column
    assert pd.isna(frame.loc["LLaVAction-7B, two-stage, action-label options"].action_top1_ours)
    assert "verb_top1_paper" not in frame.columns


def test_recognition_rows_name_the_sources_the_config_names(run, tmp_path):
    medium = {"verb_top1": 73.1, "noun_top1": 65.0, "action_top1": 54.0}
    context = Context(PAPER_MODELS, 5, medium, {"hard": "tim-standin_avion-vitl_lavila-tsfl"})
    frame = _csv(tmp_path, _tables(run, context)["recognition"]).set_index("paper_row", drop=False)
    assert (
        frame.loc["TIM"].method
        == "Specialist of the hard distractors (tim-standin_avion-vitl_lavila-tsfl), top-1"
    )
    assert frame.loc["AVION"].method == "Specialist of the medium distractors, top-1"


def test_benchmarks_mark_unconfirmed_paper_values(run, tmp_path):
    table = _tables(run)["benchmarks"]
    frame = _csv(tmp_path, table)
    ours = frame[frame.model == "llavaction"].iloc[0]
    assert (ours.egoschema_ours, ours.egoschema_paper, ours.mvbench_ours, ours.mvbench_paper) == (
        40.0,
        59.0,
        41.0,
        61.1,
    )
    markdown = to_markdown(table)
    assert "59.0†" in markdown and "† unconfirmed" in markdown
    assert "spec/llavaction.md §7.5" in markdown


def test_every_table_is_written_in_every_format(run, tmp_path):
    written = write_tables(_tables(run).values(), tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{n}.{e}" for n in TABLES for e in TABLE_FORMATS)
    tex = (tmp_path / "distractors.tex").read_text()
    assert "llavaction\\_no\\_action\\_token" in tex and "\\toprule" in tex and "\\caption{" in tex
    assert latex_escape("a_b & 5% †") == r"a\_b \& 5\% $^\dagger$"


def test_missing_summary_names_the_file(run):
    missing = next(p for p in run if p.name == "ek100_mqa_medium_8f.json" and p.parent.name == "llavaction")
    missing.unlink()
    with pytest.raises(InputError) as error:
        collect(run, LAYOUT)
    assert str(missing) in str(error.value) and "missing" in str(error.value)


def test_summary_left_out_of_the_list_names_where_it_should_be(run):
    given = [p for p in run if p.name != "mvbench.json" or p.parent.name != "base"]
    with pytest.raises(InputError, match=r"eval/base/mvbench\.json: evaluation summary is missing"):
        collect(given, LAYOUT)


@pytest.mark.parametrize(
    ("name", "edit", "key", "problem"),
    [
        ("ek100_mqa_hard_8f.json", lambda d: d.update(accuracy="high"), "accuracy", "expected a number"),
        (
            "ek100_mqa_hard_8f.json",
            lambda d: d.update(accuracy=173.4),
            "accuracy",
            "a percentage in [0, 100]",
        ),
        ("ek100_mqa_hard_8f.json", lambda d: d.update(unit="fraction"), "unit", "expected 'percent', found"),
        ("ek100_mqa_hard_8f.json", lambda d: d.pop("unit"), "unit", "evaluate again to rewrite this one"),
        ("recognition_top20_8f.json", lambda d: d.pop("unit"), "unit", "summaries state their unit"),
        ("ek100_mqa_hard_8f.json", lambda d: d.update(frames=16), "frames", "the file name says 8"),
        ("ek100_mqa_hard_8f_sap.json", lambda d: d.pop("second_pass"), "second_pass.accuracy", "missing"),
        (
            "recognition_top20_8f.json",
            lambda d: d["two_stage"].update(action_top1=None),
            "two_stage.action_top1",
            "expected a number",
        ),
        ("egoschema.json", lambda d: d.update(accuracy=130.0), "accuracy", "a percentage in [0, 100]"),
    ],
)
def test_malformed_summary_names_the_file_and_key(run, name, edit, key, problem):
    path = next(p for p in run if p.name == name and p.parent.name == "llavaction")
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as error:
        collect(run, LAYOUT)
    assert error.value.path == str(path) and error.value.key == key
    assert problem in str(error.value)


def test_unreadable_summary_names_the_file(run):
    path = run[0]
    path.write_text("{not json")
    with pytest.raises(InputError, match="cannot read the evaluation summary") as error:
        collect(run, LAYOUT)
    assert error.value.path == str(path)


def test_summary_names_are_classified_as_the_workflow_writes_them():
    assert classify(Path("x/ek100_mqa_medium_16f.json")) == ("mqa", "medium", 16)
    assert classify(Path("x/ek100_mqa_hard_8f_sap.json")) == ("sap", 8)
    assert classify(Path("x/recognition_top5_8f.json")) == ("recognition", 5, 8)
    assert classify(Path("x/videomme.json")) == ("bench", "videomme")
    with pytest.raises(InputError, match="not an evaluation summary"):
        classify(Path("x/ek100_mqa_hard_8f.predictions.jsonl"))


def test_loss_curve_errors_name_the_line_and_column(tmp_path):
    path = tmp_path / "loss.csv"
    path.write_text("step,epoch,loss,lm_loss\n5,0.1,2.0,1.9\n10,0.2,oops,1.5\n")
    with pytest.raises(InputError) as error:
        read_loss_curve(path)
    assert (error.value.path, error.value.line, error.value.key) == (str(path), 3, "loss")
    path.write_text("step,loss\n5,2.0\n")
    with pytest.raises(InputError, match="key 'lm_loss'"):
        read_loss_curve(path)


def test_paper_results_know_every_default_paper_model():
    import yaml

    paper = load_paper_results(PAPER)
    schema = yaml.safe_load((REPO / "config" / "schemas" / "config.schema.yaml").read_text())
    assert paper_reference_errors(schema["properties"]["models"]["default"], paper) == []
    assert paper_reference_errors({"m": {"paper": "GPT-5"}}, paper) == [
        "config key 'models.m.paper': 'GPT-5' is not a paper model of the paper's results"
        f" ({sorted(paper.models)})"
    ]


def test_malformed_paper_results_name_the_key(tmp_path):
    import yaml

    data = yaml.safe_load(PAPER.read_text())
    broken = copy.deepcopy(data)
    broken["tables"]["distractors"]["rows"][0]["values"]["hardest"] = 1.0
    path = tmp_path / "paper.yaml"
    path.write_text(yaml.safe_dump(broken))
    with pytest.raises(InputError, match="columns \\['hardest'\\] not in columns") as error:
        load_paper_results(path)
    assert error.value.key == "tables.distractors"
    broken = copy.deepcopy(data)
    broken["tables"]["benchmarks"]["rows"][0]["value"] = {}
    path.write_text(yaml.safe_dump(broken))
    with pytest.raises(InputError, match="unknown key") as error:
        load_paper_results(path)
    assert error.value.key == "tables.benchmarks.rows.0.value"


def _cli(verb, run, out_dir, *extra, paper_models=None):
    return main(
        [
            "report",
            verb,
            "--summaries",
            *map(str, run),
            "--models",
            *MODELS,
            "--frames",
            "8",
            "--top-k",
            "20",
            "--benchmarks",
            *BENCHMARKS,
            "--paper",
            str(PAPER),
            "--paper-models",
            *(paper_models or (f"{m}={p}" for m, p in PAPER_MODELS.items())),
            "--options",
            "5",
            "--out-dir",
            str(out_dir),
            *extra,
        ]
    )


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_cli_rebuilds_tables_and_figures_byte_identically(run, tmp_path):
    loss = tmp_path / "loss.csv"
    loss.write_text("step,epoch,loss,lm_loss,verb_loss\n5,0.1,3.0,2.5,\n10,0.2,2.0,1.8,\n15,0.3,1.5,1.4,\n")
    first, second = {}, {}
    for outputs, name in ((first, "a"), (second, "b")):
        for verb, extra in (("tables", ()), ("figures", ("--loss", f"llavaction={loss}"))):
            assert _cli(verb, run, tmp_path / name / verb, *extra) == 0
            outputs |= {f"{verb}/{k}": v for k, v in _bytes(tmp_path / name / verb).items()}
    expected = [f"figures/{n}.{e}" for n in FIGURES for e in FIGURE_FORMATS]
    expected += [f"tables/{n}.{e}" for n in TABLES for e in TABLE_FORMATS]
    assert sorted(first) == sorted(expected)
    assert first == second
    svg = first["figures/distractors.svg"].decode()
    assert svg.startswith("<?xml") and "<dc:date>" not in svg
    assert first["figures/loss.png"].startswith(b"\x89PNG")


def test_cli_names_a_missing_summary_and_exits_2(run, tmp_path, capsys):
    run[-1].unlink()
    assert _cli("tables", run, tmp_path / "tables") == 2
    message = capsys.readouterr().err
    assert message.startswith("actionmqa report: error: ") and str(run[-1]) in message
    assert not (tmp_path / "tables").exists()


def test_cli_refuses_an_unknown_paper_model(run, tmp_path, capsys):
    code = _cli("tables", run, tmp_path, paper_models=["base=GPT-5"])
    assert code == 2 and "base=GPT-5: no such paper model" in capsys.readouterr().err


def test_more_frames_add_columns_and_the_ablation_uses_the_first(tmp_path):
    run = fabricate(tmp_path, frames=(8, 16))
    layout = RunLayout(MODELS, (8, 16), 20, BENCHMARKS)
    results = collect(run, layout)
    tables = {t.name: t for t in build_tables(results, load_paper_results(PAPER), Context(PAPER_MODELS, 5))}
    frame = _csv(tmp_path, tables["mqa_frames"])
    assert [c for c in frame.columns if c.startswith("ours_")] == [
        "ours_8f",
        "ours_8f_likelihood",
        "ours_16f",
        "ours_16f_likelihood",
    ]
    assert "ours at 8 frames" in tables["ablation"].title
    # without a medium specialist, no AVION comparison of ours: the paper's row alone
    recognition = _csv(tmp_path, tables["recognition"]).set_index("paper_row")
    assert pd.isna(recognition.loc["AVION"].action_top1_ours)
