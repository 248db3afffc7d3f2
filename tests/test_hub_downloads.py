"""Hub downloads (checkpoints and benchmark data) from a pre-populated cache, offline: pinned
revisions, allow-patterns passed through, HF_TOKEN taken from the environment only and written
nowhere, and the workflow's fetch rules end to end."""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys

import pandas as pd
import pytest

from actionmqa.cli import main
from actionmqa.errors import InputError
from actionmqa.hub import environment_token, fetch_snapshot
from actionmqa.model.download import download_checkpoint
from hub_cache import COMMIT, SECRET, files_containing, offline_env, populate_cache
from workflow_helpers import REPO, snakemake

CHECKPOINT = {
    "config.json": b'{"model_type": "llava"}',
    "model-00001-of-00002.safetensors": b"weights-1",
    "model-00002-of-00002.safetensors": b"weights-2",
    "tokenizer.json": b"{}",
    "merges.txt": b"a b\n",
    "training_args.bin": b"pickle",
    "nested/preprocessor_config.json": b"{}",
}


@pytest.fixture(autouse=True)
def no_user_hub_settings(monkeypatch):
    """Only what each test sets: no token or cache of the person running the tests."""
    for name in ("HF_TOKEN", "HF_HUB_OFFLINE", "HF_HOME", "HF_HUB_CACHE"):
        monkeypatch.delenv(name, raising=False)


def test_pinned_checkpoint_with_allow_patterns_and_provenance(tmp_path):
    populate_cache(tmp_path / "cache", "lmms-lab/ckpt", CHECKPOINT)
    out = tmp_path / "ckpt"
    download_checkpoint(
        "lmms-lab/ckpt",
        COMMIT,
        out,
        allow_patterns=["*.safetensors", "config.json", "nested/*"],
        cache_dir=tmp_path / "cache",
        offline=True,
    )
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == [
        "config.json",
        "download.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "nested/preprocessor_config.json",
    ]
    weights = out / "model-00001-of-00002.safetensors"
    assert weights.read_bytes() == b"weights-1" and not weights.is_symlink()
    provenance = json.loads((out / "download.json").read_text())
    assert provenance == {
        "repo": "lmms-lab/ckpt",
        "repo_type": "model",
        "revision": COMMIT,
        "commit": COMMIT,
        "pinned": True,
        "allow_patterns": ["*.safetensors", "config.json", "nested/*"],
        "files": {
            "config.json": 23,
            "model-00001-of-00002.safetensors": 9,
            "model-00002-of-00002.safetensors": 9,
            "nested/preprocessor_config.json": 2,
        },
    }


def test_branch_revision_warns_and_records_the_commit(tmp_path, caplog):
    populate_cache(tmp_path / "cache", "lmms-lab/ckpt", CHECKPOINT)
    with caplog.at_level(logging.WARNING, logger="actionmqa.hub"):
        download_checkpoint(
            "lmms-lab/ckpt", "main", tmp_path / "o", cache_dir=tmp_path / "cache", offline=True
        )
    assert "revision 'main' is not a commit hash" in caplog.text
    provenance = json.loads((tmp_path / "o" / "download.json").read_text())
    assert (provenance["revision"], provenance["commit"], provenance["pinned"]) == ("main", COMMIT, False)


def test_allow_patterns_that_match_nothing_name_the_repo(tmp_path):
    populate_cache(tmp_path / "cache", "lmms-lab/ckpt", CHECKPOINT)
    with pytest.raises(
        InputError, match=r"lmms-lab/ckpt@0123.* no file matches the allow-patterns \['\*\.gguf'\]"
    ):
        fetch_snapshot(
            "lmms-lab/ckpt", COMMIT, allow_patterns=["*.gguf"], cache_dir=tmp_path / "cache", offline=True
        )


def test_other_commit_than_cached_is_not_found(tmp_path):
    populate_cache(tmp_path / "cache", "lmms-lab/ckpt", CHECKPOINT)
    other = "f" * 40
    with pytest.raises(
        InputError, match=f"key 'lmms-lab/ckpt': cannot fetch lmms-lab/ckpt@{other} \\(model\\)"
    ):
        fetch_snapshot("lmms-lab/ckpt", other, cache_dir=tmp_path / "cache", offline=True)


def test_arguments_reach_huggingface_hub_and_the_token_is_the_environments(tmp_path, monkeypatch):
    """The online path without a network: what snapshot_download is asked for."""
    import huggingface_hub

    snapshot = populate_cache(
        tmp_path / "cache", "org/data", {"a/x.parquet": b"x", "b.zip": b"z"}, repo_type="dataset"
    )
    calls = []

    def fake_snapshot_download(**kwargs):
        calls.append(kwargs)
        return str(snapshot)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    monkeypatch.setenv("HF_TOKEN", SECRET)
    got = fetch_snapshot("org/data", COMMIT, repo_type="dataset", allow_patterns=["a/*"])
    assert got.files == ("a/x.parquet",) and got.commit == COMMIT
    assert calls == [
        {
            "repo_id": "org/data",
            "repo_type": "dataset",
            "revision": COMMIT,
            "allow_patterns": ["a/*"],
            "cache_dir": None,
            "local_files_only": False,
            "token": SECRET,
        }
    ]
    monkeypatch.delenv("HF_TOKEN")
    fetch_snapshot("org/data", COMMIT, repo_type="dataset")
    # no HF_TOKEN: False, so huggingface_hub does not fall back to a token stored on disk
    assert calls[-1]["token"] is False and calls[-1]["allow_patterns"] is None
    assert environment_token() is False


def test_no_command_line_option_or_config_key_takes_a_token():
    import re

    import yaml

    from actionmqa.cli import build_parser

    def options(parser):
        for action in parser._actions:
            yield from action.option_strings
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from options(sub)

    def keys(node):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from (value or {}) if key == "properties" else ()
                yield from keys(value)
        elif isinstance(node, list):
            for item in node:
                yield from keys(item)

    credential = re.compile(r"-*(hf[-_]|hub[-_]|auth[-_]|api[-_])?(token|password|secret)", re.IGNORECASE)
    all_options = list(options(build_parser()))
    assert "--revision" in all_options and "--allow-pattern" in all_options
    assert not [o for o in all_options if credential.fullmatch(o)]
    schema = yaml.safe_load((REPO / "config" / "schemas" / "config.schema.yaml").read_text())
    assert "revision" in set(keys(schema))
    assert not [k for k in set(keys(schema)) if credential.fullmatch(k)]


def test_cli_writes_the_token_nowhere(tmp_path):
    """``actionmqa -v`` (debug logging) for a checkpoint and a benchmark with HF_TOKEN set."""
    cache = tmp_path / "cache"
    populate_cache(cache, "lmms-lab/ckpt", CHECKPOINT)
    populate_cache(cache, "org/ego", egoschema_files(), repo_type="dataset")
    env = offline_env(cache, HF_TOKEN=SECRET, PYTHONPATH=str(REPO / "workflow"))
    runs = [
        ["model", "download", "--repo", "lmms-lab/ckpt", "--revision", "main", "--out", "out/ckpt"],
        ["bench", "fetch", "--benchmark", "egoschema", "--data", "out/egoschema", "--repo", "org/ego"]
        + ["--revision", COMMIT, "--manifest", "out/egoschema.json"],
    ]
    output = ""
    for argv in runs:
        done = subprocess.run(
            [sys.executable, "-m", "actionmqa", "-v", *argv],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        output += done.stdout + done.stderr
    assert "token: HF_TOKEN from the environment" in output
    assert SECRET not in output
    assert files_containing(tmp_path, SECRET) == []
    assert json.loads((tmp_path / "out" / "egoschema.json").read_text())["layout"]["questions"] == 2


# ---------------------------------------------------------------- benchmark data


def egoschema_files() -> dict[str, bytes]:
    """EgoSchema as lmms-lab/egoschema ships it: the Subset parquet and a videos zip."""
    import io
    import zipfile

    rows = [
        {
            "question_idx": f"{i:05d}",
            "question": "What is c doing?",
            "video_idx": uid,
            "option": [f"{letter}. c does {letter}." for letter in "ABCDE"],
            "answer": str(i),
        }
        for i, uid in enumerate(["uid-a", "uid-b"])
    ]
    parquet = io.BytesIO()
    pd.DataFrame(rows).to_parquet(parquet)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("videos/uid-a.mp4", b"video a")
        handle.writestr("videos/uid-b.mp4", b"video b")
    return {
        "Subset/test-00000-of-00001.parquet": parquet.getvalue(),
        "videos_chunked_01.zip": archive.getvalue(),
        "README.md": b"not fetched",
    }


def test_cli_bench_fetch_offline_from_the_cache(tmp_path):
    populate_cache(tmp_path / "cache", "org/ego", egoschema_files(), repo_type="dataset")
    argv = [
        "bench",
        "fetch",
        "--benchmark",
        "egoschema",
        "--data",
        str(tmp_path / "ego"),
        "--repo",
        "org/ego",
    ]
    argv += ["--revision", COMMIT, "--allow-pattern", "Subset/*", "videos_chunked_*.zip", "--offline"]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--manifest", str(tmp_path / "m.json")]
    assert main(argv) == 0
    manifest = json.loads((tmp_path / "m.json").read_text())
    assert manifest["source"]["allow_patterns"] == ["Subset/*", "videos_chunked_*.zip"]
    assert [f["path"] for f in manifest["files"]] == [
        "Subset/test-00000-of-00001.parquet",
        "videos_chunked_01.zip",
    ]
    assert (tmp_path / "ego" / "videos" / "uid-b.mp4").read_bytes() == b"video b"
    assert not (tmp_path / "ego" / "README.md").exists()


def test_cli_bench_fetch_without_repo_rejects_a_revision(tmp_path, capsys):
    argv = ["bench", "fetch", "--benchmark", "mvbench", "--data", str(tmp_path), "--revision", COMMIT]
    assert main([*argv, "--manifest", str(tmp_path / "m.json")]) == 2
    assert "--revision and --allow-pattern need --repo" in capsys.readouterr().err


# ---------------------------------------------------------------- the workflow's rules


def test_fetch_rules_end_to_end_offline_and_the_token_is_written_nowhere(tmp_path, monkeypatch):
    """fetch_checkpoint and fetch_benchmark of config/paper.yaml from a pre-populated cache."""
    cache = tmp_path / "hub"
    populate_cache(
        cache,
        "lmms-lab/llava-onevision-qwen2-0.5b-ov",
        CHECKPOINT,
        commit="381d9947148efb1e58a577f451c05705ceec666e",
    )
    populate_cache(
        cache,
        "lmms-lab/egoschema",
        egoschema_files(),
        repo_type="dataset",
        commit="58350524ea7eb29c47000121f4f4b65eb6b4acb9",
    )
    for name, value in offline_env(cache, HF_TOKEN=SECRET).items():
        monkeypatch.setenv(name, value)
    work = tmp_path / "work"
    work.mkdir()
    targets = ["results/ek100/checkpoints/llava_ov_0_5b", "results/ek100/benchmarks/egoschema.json"]
    result = snakemake(work, "-c1", *targets, configfiles=["config/paper.yaml"])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    checkpoint = work / targets[0]
    assert sorted(p.name for p in checkpoint.iterdir() if p.name != ".snakemake_timestamp") == [
        "config.json",
        "download.json",
        "merges.txt",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "nested",
        "tokenizer.json",
    ]  # paper.yaml's allow-patterns: no training_args.bin
    manifest = json.loads((work / targets[1]).read_text())
    assert manifest["source"]["commit"] == "58350524ea7eb29c47000121f4f4b65eb6b4acb9"
    assert manifest["layout"] == {"questions": 2, "videos": 2, "videos_missing": 0, "missing_first": []}
    assert (work / "data" / "benchmarks" / "egoschema" / "videos" / "uid-a.mp4").is_file()
    log = (work / "logs" / "ek100" / "fetch_benchmark_egoschema.log").read_text()
    assert "token: HF_TOKEN from the environment" in log
    assert SECRET not in result.stdout + result.stderr
    assert files_containing(work, SECRET) == [] and files_containing(cache, SECRET) == []


# ---------------------------------------------------------------- pinning in the config


def test_paper_config_lists_exactly_its_unpinned_downloads():
    from actionmqa.config import unpinned_downloads
    from test_config import filled

    keys = [problem.split("'")[1] for problem in unpinned_downloads(filled("paper.yaml"))]
    assert keys == [
        "models.llavaction_7b_released.revision",
        "models.llavaction_0_5b_released.revision",
        "evaluate.benchmark_sources.perceptiontest.revision",
        "specialist.checkpoint_sha256.avion_vitl_lavila",
        "specialist.checkpoint_sha256.lavila_tsfl_multihead",
        "annotations.sha256.EPIC_100_train.csv",
    ]
    assert unpinned_downloads(filled("config.yaml")) == []
    config = filled("paper.yaml")
    config["annotations"]["sha256"]["EPIC_100_train.csv"] = "a" * 64
    config["specialist"]["checkpoint_sha256"] = {
        "avion_vitl_lavila": "c" * 64,
        "lavila_tsfl_multihead": "d" * 64,
    }
    config["evaluate"]["benchmarks"] = ["egoschema"]  # a source of a benchmark not evaluated is not fetched
    for name in ("llavaction_7b_released", "llavaction_0_5b_released"):
        config["models"][name]["revision"] = "b" * 40
    assert unpinned_downloads(config) == []


def test_schema_rejects_bad_sources():
    from actionmqa.config import config_errors, load_schema
    from test_config import filled

    schema = load_schema(REPO / "config" / "schemas" / "config.schema.yaml")
    config = filled("paper.yaml")
    config["evaluate"]["benchmark_sources"]["nextqa"] = {"hub": "a/b", "revision": COMMIT}
    config["evaluate"]["benchmark_sources"]["egoschema"]["allow_patterns"] = []
    config["models"]["llava_video_7b"]["revision"] = ""
    config["annotations"]["sha256"]["EPIC_100_train.csv"] = "not hex"
    problems = "\n".join(config_errors(config, schema))
    assert "config key 'evaluate.benchmark_sources': 'nextqa' is not one of" in problems
    assert (
        "config key 'evaluate.benchmark_sources.egoschema.allow_patterns': [] should be non-empty" in problems
    )
    assert "config key 'models.llava_video_7b.revision': '' should be non-empty" in problems
    assert "config key 'annotations.sha256.EPIC_100_train.csv': 'not hex' does not match" in problems


def test_frozen_run_refuses_to_start_with_unpinned_downloads(tmp_path):
    result = snakemake(tmp_path, "-n", "--config", "frozen=True", configfiles=["config/paper.yaml"])
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "frozen: true needs every download pinned" in output
    assert "config key 'models.llavaction_7b_released.revision': 'main' is not a 40-hex commit" in output
    assert "config key 'annotations.sha256.EPIC_100_train.csv': no sha256" in output
    assert "config key 'specialist.checkpoint_sha256.avion_vitl_lavila': AVION ViT-L/14" in output


def test_paper_dry_run_plans_the_downloads_and_warns_about_unpinned_ones(tmp_path):
    result = snakemake(tmp_path, "evaluate", "-n", "--quiet", "rules", configfiles=["config/paper.yaml"])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "WARNING: unpinned downloads (frozen: true would refuse them):" in result.stderr
    for rule in ("fetch_annotations", "source_videos", "fetch_benchmark", "fetch_checkpoint", "eval_bench"):
        assert rule in output
