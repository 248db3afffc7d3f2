"""Run Snakemake on this repository's Snakefile in a scratch working directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from process_group import run_captured

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def snakemake(
    workdir: Path,
    *args: str,
    configfiles: Sequence[str | Path] = ("config/config.yaml",),
    timeout: int = 900,
    prefix: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """``snakemake -s <repo>/Snakefile --directory workdir --configfile FILES... ARGS...``.

    The working directory gets a copy of the repository's ``config/`` (config files name
    mixtures and recipes by paths relative to it, as in a user's checkout). Relative config
    files are the repository's; later files override keys of earlier ones. ``prefix`` goes
    before the command, as in ``prefix=("timeout", "-k", "10", "600")``.
    """
    if not (workdir / "config").exists():
        shutil.copytree(REPO / "config", workdir / "config")
    files = [str(REPO / f) for f in configfiles]  # an absolute path stays as it is
    cmd = [
        *prefix,
        *SNAKEMAKE,
        "-s",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        *args,  # before --configfile, which takes every value up to the next option
        "--configfile",
        *files,
    ]
    # Rules call `python` from PATH (the active environment), as after `. .venv/bin/activate`.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, "PYTHONHASHSEED": "0"}
    return run_captured(cmd, timeout=timeout, env=env)


#: The smallest toy run the pipeline allows (a 120/30-segment world at 32 px, a base model of one
#: layer trained for two steps, one model, one benchmark); its recipe is TINY_RECIPE, written to
#: ``tiny_base.yaml`` in the working directory.
TINY_RUN = """\
toyworld: {n_train: 120, n_val: 30, size: 32}
specialist: {folds: 3, frames: 4}
toy_base:
  vocab_size: 512
  image_size: 32
  vision_hidden: 32
  vision_layers: 1
  vision_steps: 4
  vision_batch_size: 8
  language_steps: 2
  language_batch_size: 4
  hidden: 32
  layers: 1
  heads: 2
  recipe: tiny_base.yaml
models:
  base: {build: toy_base, paper: LLaVA-Video-7B}
evaluate:
  models: [base]
  frames: [4]
  benchmarks: [egoschema]
  benchmark_frames: 4
  max_new_tokens: 4
"""

TINY_RECIPE = """\
deepspeed: zero2
bf16: false
tf32: false
gradient_checkpointing: false
learning_rate: 2.0e-3
vision_tower_lr: 1.0e-4
lr_scheduler: cosine
warmup_ratio: 0.0
num_train_epochs: 1
max_steps: 2
global_batch_size: 4
per_device_train_batch_size: 4
save_steps: 2
save_total_limit: 1
logging_steps: 1
frames: 4
seed: 0
tunable_parts: [mm_mlp_adapter, mm_language_model]
clip_cache: true
"""


def planned_jobs(output: str) -> dict[str, int]:
    """``{rule: count}`` from a dry run's first "Job stats" table."""
    lines = output.split("Job stats:", 1)[1].splitlines()
    jobs = {}
    for line in lines[3:]:
        if not line.strip() or line.startswith("total"):
            break
        rule, count = line.split()
        jobs[rule] = int(count)
    return jobs


def merged_config(*files: str) -> dict:
    """Config files merged as ``--configfile A B`` merges them (nested keys of later files win)."""
    import yaml

    def merge(base: dict, over: dict) -> dict:
        merged = dict(base)
        for key, value in over.items():
            both = isinstance(value, dict) and isinstance(merged.get(key), dict)
            merged[key] = merge(merged[key], value) if both else value
        return merged

    config: dict = {}
    for name in files:
        config = merge(config, yaml.safe_load((REPO / name).read_text()))
    return config
