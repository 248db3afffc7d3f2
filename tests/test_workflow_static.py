"""The workflow definition itself: lint, dry runs of both configs, config errors."""

from __future__ import annotations

import pytest

from actionmqa.config import config_errors, load_schema
from workflow_helpers import REPO, snakemake

SCHEMA = load_schema(REPO / "config" / "schemas" / "config.schema.yaml")


def test_lint_is_clean(tmp_path):
    result = snakemake(tmp_path, "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/paper.yaml"])
def test_dry_run_plans_every_stage_without_data(tmp_path, configfile):
    result = snakemake(tmp_path, "-n", "--quiet", "rules", configfiles=[configfile])
    assert result.returncode == 0, result.stderr
    planned = result.stdout + result.stderr
    for rule in (
        "validate_annotations",
        "label_map",
        "probe_videos",
        "specialist_features",
        "specialist_fit",
        "mqa_build",
    ):
        assert rule in planned
    assert ("fetch_annotations" if "paper" in configfile else "toyworld") in planned


@pytest.mark.parametrize(
    ("configfile", "expected"),
    [
        (
            "config/config.yaml",
            ("base_tokenizer", "base_vision", "base_language", "base_init", "train_model", "eval_mqa"),
        ),
        (
            "config/paper.yaml",
            ("fetch_checkpoint", "convert_checkpoint", "sft_teacher", "train_model", "eval_mqa"),
        ),
    ],
)
def test_dry_run_plans_models_and_their_evaluation(tmp_path, configfile, expected):
    result = snakemake(tmp_path, "evaluate", "-n", "--quiet", "rules", configfiles=[configfile])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for rule in expected:
        assert rule in result.stdout + result.stderr


def test_unknown_model_in_evaluate_is_an_error(tmp_path):
    result = snakemake(tmp_path, "-n", "--config", "evaluate={'models': ['gpt5']}")
    assert result.returncode != 0
    assert "config key 'evaluate.models[0]': no model 'gpt5' in models" in result.stdout + result.stderr


def test_paper_run_chunks_videos_and_fetches_annotations(tmp_path):
    result = snakemake(tmp_path, "-n", "--quiet", "rules", configfiles=["config/paper.yaml"])
    assert "chunk_videos" in result.stdout + result.stderr
    assert "toyworld" not in result.stdout + result.stderr


def test_bad_config_names_the_key(tmp_path):
    result = snakemake(tmp_path, "-n", "--config", "dataset=kitchen", "seed=-1")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "config key 'dataset': 'kitchen' is not one of ['toy', 'ek100']" in output
    assert "config key 'seed': -1 is less than the minimum of 0" in output


def test_unknown_specialist_in_distractors_is_an_error(tmp_path):
    sources = "{'medium': {'specialist': 'medium'}, 'hard': {'specialist': 'tim'}}"
    result = snakemake(tmp_path, "-n", "--config", f"mqa={{'distractors': {sources}}}")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "config key 'mqa.distractors.hard.specialist': 'tim' is not one of" in output


def test_both_configs_satisfy_the_schema():
    import yaml

    for name in ("config.yaml", "paper.yaml"):
        config = yaml.safe_load((REPO / "config" / name).read_text())
        assert config_errors(config, SCHEMA) == []


def test_config_errors_lists_every_problem_with_its_path():
    errors = config_errors(
        {
            "dataset": "toy",
            "videos": {"layout": "tiles"},
            "specialist": {"folds": "5", "depth": 3, "top_k": "twenty"},
        },
        SCHEMA,
    )
    assert errors == [
        "config key 'specialist': Additional properties are not allowed ('depth' was unexpected)"
        " (unknown key: check its spelling against config/schemas/config.schema.yaml)",
        "config key 'specialist.folds': '5' is not of type 'integer' (the text reads as one: Snakemake"
        " keeps values nested in --config as text; put nested changes in a file given with --configfile)",
        "config key 'specialist.top_k': 'twenty' is not of type 'integer'",
        "config key 'videos.layout': 'tiles' is not one of ['whole', 'chunks']",
    ]


def test_a_nested_number_given_with_snakemake_config_is_named_with_the_way_round_it(tmp_path):
    result = snakemake(tmp_path, "-n", "--config", "evaluate={batch_size: 4}")
    assert result.returncode != 0
    assert (
        "config key 'evaluate.batch_size': '4' is not of type 'integer' (the text reads as one"
        in result.stdout + result.stderr
    )


@pytest.mark.parametrize(
    "cores", [["-c1"], ["-c2"], ["--profile", str(REPO / "config" / "profiles" / "local")]]
)
def test_jobs_compute_on_the_configs_threads_whatever_cores_the_run_has(tmp_path, cores):
    """The base's stages on two threads, fine-tunes and evaluations on one, also under -c1, where
    Snakemake grants every job one core: a thread count the grant decided would change the sums."""
    result = snakemake(tmp_path, "evaluate", "-n", "-p", *cores)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    commands = [line for line in (result.stdout + result.stderr).splitlines() if "OMP_NUM_THREADS=" in line]
    threads = {}
    for line in commands:
        verb = " ".join(line.split(" -m actionmqa ")[1].split()[:2])
        target = line.split("--final ")[1].split()[0] if verb == "train run" else verb
        threads.setdefault(target, set()).add(line.split("OMP_NUM_THREADS=")[1].split()[0])
    assert threads == {
        "base vision": {"2"},
        "base language": {"2"},
        "results/toy/models/base": {"2"},
        "results/toy/models/llavaction": {"1"},
        "results/toy/models/llavaction_no_action_token": {"1"},
        "eval mqa": {"1"},
        "eval sap": {"1"},
        "eval recognition": {"1"},
        "eval bench": {"1"},
    }
    assert all("--threads 2 " in line for line in commands if " -m actionmqa base " in line)
