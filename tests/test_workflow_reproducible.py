"""Two runs of the workflow from nothing write the same tables and evaluation summaries, byte for byte.

The runs differ in what the issue said must not matter: one has two cores, the other one
(Snakemake then grants every job a single core, and runs one job at a time). Each trains the
tiny base of tests/test_workflow_report.py and a fine-tune that switches the action token on
(its new weights were once drawn unseeded), replaying the base's data, then evaluates both.

The weights are compared by their mean absolute difference, not byte for byte: a single-thread
training job here has now and then computed differently in the last bits from its first forward
pass on (tests/test_train_run.py says more); in the CI run where the weights differed, the
tables and summaries had compared equal.
A weight drawn unseeded, or a different data order, differs by far more. Files are compared by
their SHA-256: on two unequal model files, pytest's assertion rewriting diffs the bytes with
difflib, which ran for hours and timed a CI run out.
"""

from __future__ import annotations

import pytest
from safetensors.torch import load_file

from actionmqa.io import sha256_file
from test_workflow_report import TINY_RECIPE, TINY_RUN
from workflow_helpers import snakemake

pytestmark = pytest.mark.slow

MODELS = """\
models:
  base: {build: toy_base, paper: LLaVA-Video-7B}
  llavaction: {finetune: base, recipe: tiny_finetune.yaml, paper: LLaVAction-7B}
evaluate:
  models: [base, llavaction]
  frames: [4]
  benchmarks: [egoschema, mvbench]
  benchmark_frames: 4
  max_new_tokens: 4
"""
FINETUNE = TINY_RECIPE.replace(
    "tunable_parts: [mm_mlp_adapter, mm_language_model]",
    "tunable_parts: [mm_vision_tower, mm_mlp_adapter, mm_language_model]\naction_token: true",
)


def tiny_config() -> str:
    """The report test's tiny run, with the models and evaluations above in place of its own."""
    return TINY_RUN.split("models:")[0] + MODELS


def run(workdir, cores: str):
    workdir.mkdir()
    (workdir / "tiny.yaml").write_text(tiny_config())
    (workdir / "tiny_base.yaml").write_text(TINY_RECIPE)
    (workdir / "tiny_finetune.yaml").write_text(FINETUNE)
    configs = ("config/config.yaml", workdir / "tiny.yaml")
    result = snakemake(workdir, cores, "report_targets", configfiles=configs, timeout=1500)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return workdir / "results" / "toy"


def outputs(results) -> dict[str, str]:
    files = [*(results / "tables").iterdir(), *(results / "eval").rglob("*.json")]
    return {path.relative_to(results).as_posix(): sha256_file(path) for path in sorted(files)}


def test_two_runs_write_byte_identical_tables_and_evaluations(tmp_path):
    first = run(tmp_path / "two_cores", "-c2")
    second = run(tmp_path / "one_core", "-c1")
    assert (
        "action token switched on by the recipe"
        in (tmp_path / "one_core" / "logs" / "toy" / "train_llavaction.log").read_text()
    )
    mine, theirs = outputs(first), outputs(second)
    assert len(mine) > 20 and "tables/distractors.csv" in mine and "eval/llavaction/mvbench.json" in mine
    assert sorted(mine) == sorted(theirs)
    assert [name for name in mine if mine[name] != theirs[name]] == []
    # the models themselves are the same model, though not always to the last bit (the docstring)
    for model in ("base", "llavaction"):
        a, b = (load_file(results / "models" / model / "model.safetensors") for results in (first, second))
        assert sorted(a) == sorted(b)
        assert [name for name in a if (a[name].float() - b[name].float()).abs().mean() > 1e-3] == [], model
