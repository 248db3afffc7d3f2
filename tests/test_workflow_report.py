"""The report stage inside the workflow: tables, figures and report.html from a tiny finished run,
and the partial-rerun guarantee: a changed evaluation setting re-runs only evaluation, tables
and figures (Snakemake's default rerun triggers include params).

The module's run is as small as the pipeline allows (a 120/30-segment world at 32 px, a base
model of one layer trained for two steps, one model, one benchmark), so that Snakemake's own
metadata, which records every job's params, is real.
"""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest

from workflow_helpers import TINY_RECIPE, TINY_RUN, planned_jobs, snakemake

#: What a changed evaluation setting may re-run, and what it must never touch.
EVALUATION_AND_REPORT = {
    "eval_mqa",
    "eval_sap",
    "eval_recognition",
    "eval_bench",
    "report_tables",
    "report_figures",
    "report_wording",
    "report_letters",
    "report_targets",
}


def _configs(workdir, *extra):
    return ("config/config.yaml", workdir / "tiny.yaml", *extra)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Tables and figures of one complete tiny run (everything they need, from the world up)."""
    workdir = tmp_path_factory.mktemp("report_run")
    (workdir / "tiny.yaml").write_text(TINY_RUN)
    (workdir / "tiny_base.yaml").write_text(TINY_RECIPE)
    result = snakemake(workdir, "-c2", "report_targets", configfiles=_configs(workdir), timeout=1500)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return workdir


@pytest.mark.slow
def test_tables_and_figures_of_the_run_hold_its_summaries(tiny_run):
    results = tiny_run / "results" / "toy"
    summary = json.loads((results / "eval" / "base" / "ek100_mqa_hard_4f.json").read_text())
    frame = pd.read_csv(results / "tables" / "distractors.csv")
    base = frame[frame.model == "base"].iloc[0]
    assert summary["unit"] == "percent" and base.hard_ours == round(summary["accuracy"], 2)
    assert base.paper_row == "LLaVA-Video-7B (zero-shot)" and base.hard_paper == 35.7
    for name in ("distractors", "benchmarks", "loss", "frames"):
        for ext in ("png", "svg"):
            assert (results / "figures" / f"{name}.{ext}").stat().st_size > 1000
    assert (tiny_run / "logs" / "toy" / "report_tables.log").is_file()
    wording = pd.read_csv(results / "tables" / "answer_wording.csv")
    assert len(wording) == 3  # the one model x the three distractor sets, at 4 frames
    hard = wording[(wording.model == "base") & (wording.distractors == "hard")].iloc[0]
    assert (hard.n, round(hard.accuracy, 4)) == (
        summary["n"],
        round(summary["accuracy"] / 100, 4),
    )  # a fraction
    assert hard.names_action >= hard.accuracy
    letters = pd.read_csv(results / "tables" / "benchmark_letters.csv")
    assert list(letters.benchmark) == ["egoschema"]  # the one model on the one benchmark
    for row in letters.itertuples():
        bench = json.loads((results / "eval" / "base" / f"{row.benchmark}.json").read_text())
        score = bench["modes"]["lmms_eval"]
        assert (row.model, row.n, row.excluded) == ("base", score["denominator"], score["excluded"])
        assert round(row.accuracy, 4) == round(score["accuracy"] / 100, 4)
        assert row.text_accuracy <= row.names_option


@pytest.mark.slow
def test_finished_run_has_nothing_left_to_do(tiny_run):
    result = snakemake(tiny_run, "-n", "report_targets", configfiles=_configs(tiny_run))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Nothing to be done" in result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("setting", ["max_new_tokens: 6", "batch_size: 4"])
def test_changed_evaluation_setting_reruns_only_evaluation_tables_and_figures(tiny_run, setting):
    changed = tiny_run / f"changed_{setting.split(':')[0]}.yaml"
    changed.write_text(f"evaluate: {{{setting}}}\n")
    result = snakemake(tiny_run, "-n", "report_targets", configfiles=_configs(tiny_run, changed))
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = planned_jobs(result.stdout + result.stderr)
    assert set(jobs) <= EVALUATION_AND_REPORT, jobs
    assert {
        "eval_mqa",
        "eval_sap",
        "eval_recognition",
        "report_tables",
        "report_figures",
        "report_wording",
    } <= set(jobs)
    assert jobs["eval_mqa"] == 1  # random, medium and hard at 4 frames in one job, nothing upstream
    assert "Params have changed since last execution" in result.stdout + result.stderr


@pytest.mark.slow
def test_sharded_evaluation_through_snakemake_equals_the_run_byte_for_byte(tiny_run, tmp_path):
    """The run's models and inputs, its evaluations redone as 2 shards (one of the two batches of
    EK100-MQA's 30 questions each) and a gather each."""
    workdir = tmp_path / "sharded"
    shutil.copytree(
        tiny_run, workdir, symlinks=True, ignore=shutil.ignore_patterns("eval", "tables", "figures")
    )
    (workdir / "shards.yaml").write_text("evaluate: {shards: 2}\n")
    result = snakemake(workdir, "-c2", "evaluate", configfiles=_configs(workdir, workdir / "shards.yaml"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    jobs = planned_jobs(result.stdout + result.stderr)
    assert (jobs["eval_mqa"], jobs["eval_sap"], jobs["eval_gather"]) == (2, 2, 3 + 1 + 1 + 1)
    assert set(jobs) <= EVALUATION_AND_REPORT | {"eval_gather", "evaluate"}, jobs
    ours, theirs = (root / "results" / "toy" / "eval" / "base" for root in (workdir, tiny_run))
    outputs = sorted(path.name for path in theirs.iterdir() if path.is_file())
    assert len(outputs) == 2 * (3 + 1 + 1 + 1)  # a summary and predictions per evaluation
    for name in outputs:
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name
    assert not list(ours.glob("*.progress.jsonl")) and not list((ours / "shards").glob("*.progress.jsonl"))


@pytest.mark.slow
def test_report_html_is_self_contained_and_lists_tables_and_figures(tiny_run):
    report = tiny_run / "results" / "report.html"
    result = snakemake(tiny_run, "--report", str(report), "report_targets", configfiles=_configs(tiny_run))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = report.read_text(encoding="utf-8")
    # nothing fetched from the network when opened: no external script, stylesheet or image
    assert not re.search(r"<script[^>]*\bsrc\s*=\s*[\"']?(https?:)?//", html, re.I)
    assert not re.search(r"<link[^>]*\bhref\s*=\s*[\"']?(https?:)?//", html, re.I)
    assert not re.search(r"<img[^>]*\bsrc\s*=\s*[\"']?(https?:)?//", html, re.I)
    assert not re.search(r"@import\s+(url\()?[\"']?(https?:)?//", html, re.I)
    results = json.loads(re.search(r"var results = (\{.*?\});\n", html, re.S).group(1))
    names = {entry["filename"] for entry in results.values()}
    for table in ("distractors", "mqa_frames", "ablation", "recognition", "benchmarks"):
        assert {f"{table}.csv", f"{table}.md", f"{table}.tex"} <= names
    assert {
        "answer_wording.csv",
        "answer_wording.md",
        "benchmark_letters.csv",
        "benchmark_letters.md",
    } <= names
    for figure in ("distractors", "benchmarks", "loss", "frames"):
        assert {f"{figure}.png", f"{figure}.svg"} <= names
    assert all(entry["data_uri"].startswith("data:") for entry in results.values())
    categories = json.loads(re.search(r"var categories = (\{.*?\});\n", html, re.S).group(1))
    assert set(categories) == {"Tables", "Figures"}
    assert "the paper's numbers" in html.lower() or "paper_results.yaml" in html


def test_report_targets_plan_tables_and_figures_for_both_configs(tmp_path):
    # EK100-MQA jobs: one per model and frame count (3 models x 8 frames) in the toy run, which
    # gathers nothing; 8 shards of each of 4 models x (8, 16) in the paper's
    for configfile, mqa_jobs in (("config/config.yaml", 3), ("config/paper.yaml", 8 * 8)):
        result = snakemake(tmp_path, "-n", "report_targets", configfiles=[configfile])
        assert result.returncode == 0, result.stderr[-3000:]
        jobs = planned_jobs(result.stdout + result.stderr)
        assert jobs["report_tables"] == jobs["report_figures"] == jobs["report_wording"] == 1
        assert jobs["eval_mqa"] == mqa_jobs
        assert ("eval_gather" in jobs) == ("paper" in configfile)


def test_unknown_paper_model_is_a_config_error(tmp_path):
    models = "models={'base': {'build': 'toy_base', 'paper': 'GPT-5'}}"
    result = snakemake(tmp_path, "-n", "--config", models, "evaluate={'models': ['base']}")
    assert result.returncode != 0
    assert "config key 'models.base.paper': 'GPT-5' is not a paper model" in result.stdout + result.stderr
