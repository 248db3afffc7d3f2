"""config/rehearsal.yaml differs from the paper's run only in the stand-ins' locations and sizes,
and plans every rule of the paper's run (the slow test runs it)."""

from __future__ import annotations

import yaml

from actionmqa.config import config_errors, load_schema
from workflow_helpers import REPO, merged_config, planned_jobs, snakemake

CONFIG = REPO / "config"
REHEARSAL = ("config/paper.yaml", "config/rehearsal.yaml")
#: The rules that make the stand-ins: in the rehearsal's DAG only.
STAND_INS = {"rehearsal_videos", "rehearsal_checkpoint", "rehearsal_benchmarks", "rehearsal_specialist"}


def leaves(tree: dict, prefix: str = "") -> set[str]:
    """Dotted paths of every value that is not a mapping."""
    paths = set()
    for key, value in tree.items():
        path = f"{prefix}{key}"
        paths |= leaves(value, f"{path}.") if isinstance(value, dict) else {path}
    return paths


def test_rehearsal_changes_only_the_listed_locations_and_sizes():
    """What config/rehearsal.yaml sets is exactly what its header lists (plus its own section)."""
    overrides = leaves(yaml.safe_load((CONFIG / "rehearsal.yaml").read_text()))
    assert overrides == {
        "rehearsal.port",
        "annotations.base_url",
        "annotations.sha256.EPIC_100_train.csv",
        "annotations.sha256.EPIC_100_validation.csv",
        "annotations.sha256.EPIC_100_video_info.csv",
        "videos.root",
        "videos.short_side",
        "hub.cache_dir",
        "hub.offline",
        "specialist.releases.avion_vitl_lavila.url",
        "specialist.releases.lavila_tsfl_multihead.url",
        *(
            f"specialist.releases.{name}.sizes.{field}"
            for name in ("avion_vitl_lavila", "lavila_tsfl_multihead")
            for field in ("width", "layers", "heads", "patch", "image_size")
        ),  # fmt: skip
        "specialist.shards.train",
        "specialist.shards.validation",
        "specialist.workers",
        "sft.teacher_config",
        "models.llavaction_7b.recipe",
        "models.llavaction_7b.nodes",
        "models.llavaction_7b.gpus_per_node",
        "models.llavaction_7b.cpu_processes_per_node",
        "evaluate.benchmark_root",
        "evaluate.shards",
        "evaluate.threads",
    }
    header = (CONFIG / "rehearsal.yaml").read_text().split("\nrehearsal:")[0]
    listed = ("annotations.base_url", "videos.root", "hub", "specialist.releases.*.url", "sft.teacher_config",
              "evaluate.benchmark_root", "videos.short_side", "specialist.releases.*.sizes",
              "specialist.shards, .workers", "evaluate.shards, .threads", "models.llavaction_7b")  # fmt: skip
    for key in listed:
        assert f"#   {key} " in header, key


def test_merged_config_satisfies_the_schema():
    schema = load_schema(CONFIG / "schemas" / "config.schema.yaml")
    assert config_errors(merged_config(*REHEARSAL), schema) == []


def test_teacher_is_the_papers_with_the_loopback_endpoint():
    paper = yaml.safe_load((CONFIG / "teacher" / "gpt-4o.yaml").read_text())
    rehearsal = yaml.safe_load((CONFIG / "rehearsal" / "teacher.yaml").read_text())
    assert rehearsal == paper | {"base_url": "http://127.0.0.1:48731/v1", "api_key_env": None}


def test_training_recipe_is_the_papers_stopped_after_two_steps():
    paper = yaml.safe_load((CONFIG / "train" / "paper_7b.yaml").read_text())
    rehearsal = yaml.safe_load((CONFIG / "rehearsal" / "paper_7b.yaml").read_text())
    assert rehearsal == paper | {"max_steps": 2}


def test_lint_is_clean_with_the_rehearsal(tmp_path):
    result = snakemake(tmp_path, "--lint", configfiles=REHEARSAL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr


def test_rehearsal_plans_every_rule_of_the_paper_run(tmp_path):
    paper = planned_jobs(snakemake(tmp_path / "paper", "-n", configfiles=["config/paper.yaml"]).stdout)
    rehearsal = planned_jobs(snakemake(tmp_path / "rehearsal", "-n", configfiles=REHEARSAL).stdout)
    assert sorted(set(paper) - set(rehearsal)) == []
    assert set(rehearsal) - set(paper) == STAND_INS


def test_real_run_refuses_a_working_directory_the_rehearsal_wrote(tmp_path):
    (tmp_path / "results" / "rehearsal").mkdir(parents=True)
    result = snakemake(tmp_path, "-n", configfiles=["config/paper.yaml"])
    assert result.returncode != 0
    assert "results/ holds the rehearsal's outputs" in result.stdout + result.stderr
    (tmp_path / "results" / "rehearsal").rmdir()
    (tmp_path / "results" / "ek100").mkdir()
    result = snakemake(tmp_path, "-n", configfiles=REHEARSAL)
    assert result.returncode != 0
    assert "results/ek100 holds outputs of a run that was not this rehearsal" in result.stdout + result.stderr


def test_urls_off_the_rehearsal_server_are_refused_at_start(tmp_path):
    (tmp_path / "other.yaml").write_text("rehearsal: {port: 48732}\n")
    result = snakemake(tmp_path, "-n", configfiles=[*REHEARSAL, tmp_path / "other.yaml"])
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert (
        "config key 'annotations.base_url': 'http://127.0.0.1:48731/ek100-annotations' is not served"
        in output
    )
