"""Which rule makes each model folder: decided by the model's kind in the config (build, finetune,
hub), never by which files a previous run left behind; and the paper config means the same
whatever the toy default holds."""

from __future__ import annotations

import re

import pytest

from workflow_helpers import TINY_RECIPE, TINY_RUN, planned_jobs, snakemake

#: Rules that exist only for the toy world: none may appear in a plan of the paper config.
TOY_RULES = {"toyworld", "toy_benchmarks", "base_tokenizer", "base_vision", "base_language", "base_init"}

#: A LLaVA-NeXT checkpoint on the hub, as config/paper.yaml declares its 0.5B base.
OV_0_5B = "{hub: lmms-lab/llava-onevision-qwen2-0.5b-ov, revision: 381d9947148efb1e58a577f451c05705ceec666e}"


def planned_wildcards(output: str, rule: str) -> list[str]:
    """The ``wildcards:`` line of every job of ``rule`` in a dry run's output."""
    jobs = re.findall(rf"^rule {rule}:\n(.*?)(?:\n\n|\n\[|\Z)", output, re.M | re.S)
    return sorted(re.search(r"wildcards: (.*)", job).group(1) for job in jobs)


def assert_paper_models_planned(output: str) -> None:
    """Three hub checkpoints fetched and converted, the one fine-tune trained, nothing of the toy."""
    jobs = planned_jobs(output)
    assert jobs["fetch_checkpoint"] == jobs["convert_checkpoint"] == 3, jobs
    assert jobs["train_model"] == 1, jobs
    assert planned_wildcards(output, "train_model") == ["dataset=ek100, model=llavaction_7b"]
    assert planned_wildcards(output, "convert_checkpoint") == [
        f"dataset=ek100, model={name}"
        for name in ("llava_video_7b", "llavaction_0_5b_released", "llavaction_7b_released")
    ]
    assert not TOY_RULES & set(jobs), jobs


@pytest.fixture(scope="module")
def toy_base_run(tmp_path_factory):
    """A working directory where the toy data stages and the toy base have run (tiny sizes)."""
    workdir = tmp_path_factory.mktemp("toy_base_run")
    (workdir / "tiny.yaml").write_text(TINY_RUN)
    (workdir / "tiny_base.yaml").write_text(TINY_RECIPE)
    result = snakemake(
        workdir,
        "-c2",
        "data",
        "results/toy/models/base",
        configfiles=("config/config.yaml", workdir / "tiny.yaml"),
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert (workdir / "results" / "toy" / "models" / "base" / "training.json").is_file()
    return workdir


def test_paper_plan_of_a_clean_directory_downloads_and_converts_the_hub_models(tmp_path):
    result = snakemake(tmp_path, "-n", configfiles=["config/paper.yaml"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert_paper_models_planned(result.stdout + result.stderr)


@pytest.mark.slow
def test_paper_plan_after_the_toy_run_still_downloads_and_converts_the_hub_models(toy_base_run):
    result = snakemake(toy_base_run, "-n", configfiles=["config/paper.yaml"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert_paper_models_planned(result.stdout + result.stderr)


@pytest.mark.slow
def test_a_hub_model_in_a_toy_config_is_downloaded_and_converted_not_trained(toy_base_run):
    extra = toy_base_run / "hub_model.yaml"
    extra.write_text(f"models:\n  ov: {OV_0_5B}\nevaluate: {{models: [base, ov]}}\n")
    configs = ("config/config.yaml", toy_base_run / "tiny.yaml", extra)
    result = snakemake(toy_base_run, "-n", "models", configfiles=configs)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert planned_jobs(output) == {"fetch_checkpoint": 1, "convert_checkpoint": 1, "models": 1}, output
    assert planned_wildcards(output, "convert_checkpoint") == ["dataset=toy, model=ov"]


@pytest.mark.slow
def test_a_trained_folder_where_the_config_now_declares_a_hub_checkpoint_is_an_error(toy_base_run):
    extra = toy_base_run / "base_from_hub.yaml"
    extra.write_text(f"models:\n  base: {OV_0_5B}\nevaluate: {{models: [base]}}\n")
    result = snakemake(toy_base_run, "-n", configfiles=("config/config.yaml", extra))
    assert result.returncode != 0
    assert (
        "results/toy/models/base: it holds training.json, but config key 'models.base' declares"
        " a hub checkpoint, downloaded and converted (expected conversion.json)"
    ) in result.stdout + result.stderr


def test_paper_config_takes_nothing_from_the_toy_default(tmp_path):
    # A toy model added to the embedded default (config/config.yaml of the working directory) must
    # not reach the paper run: merged, its `build: toy_base` would be refused under dataset ek100.
    clean = snakemake(tmp_path / "clean", "-n", configfiles=["config/paper.yaml"])
    edited = tmp_path / "edited"
    snakemake(edited, "--version")  # copies config/ into the working directory
    default = edited / "config" / "config.yaml"
    default.write_text(default.read_text() + "models:\n  mine: {build: toy_base}\n")
    result = snakemake(edited, "-n", configfiles=["config/paper.yaml"])
    assert result.returncode == 0, result.stderr[-3000:]
    assert planned_jobs(result.stdout + result.stderr) == planned_jobs(clean.stdout + clean.stderr)
