"""Run Snakemake on this repository's Snakefile in a scratch working directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

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
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


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
