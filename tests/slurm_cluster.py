"""A real two-node SLURM cluster for the tests: tests/slurm/cluster.sh, driven from Python.

The cluster lives in a private mount namespace (its config is bind-mounted over /etc/slurm
there only), so every SLURM command, and Snakemake itself, runs through ``Cluster.command``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from process_group import run_captured

SCRIPT = Path(__file__).parent / "slurm" / "cluster.sh"
# Jobs call `python` from PATH: the interpreter running the tests comes first, as for a local run
# (CI runs `.venv/bin/python -m pytest` without activating the venv). Daemons live in /usr/sbin,
# which a non-login PATH may lack.
PATH = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
COMMANDS = (
    "munged",
    "slurmctld",
    "slurmd",
    "sinfo",
    "squeue",
    "sbatch",
    "srun",
    "scontrol",
    "unshare",
    "nsenter",
)


def unavailable() -> str | None:
    """Why this machine cannot run the cluster, or ``None``."""
    missing = [name for name in COMMANDS if shutil.which(name, path=PATH) is None]
    if missing:
        return f"SLURM is not installed ({', '.join(missing)} missing; .ci/install adds it as root)"
    if os.geteuid() != 0:
        return "needs root: it starts munged, slurmctld and two slurmd in a mount namespace of its own"
    return None


@dataclass(frozen=True)
class Cluster:
    """A cluster whose state, logs and PIDs live under ``root``."""

    root: Path

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PATH": PATH, "ACTIONMQA_SLURM_ROOT": str(self.root)}

    def script(self, *args: str, timeout: int = 180) -> subprocess.CompletedProcess[str]:
        return run_captured(["bash", str(SCRIPT), *args], timeout=timeout, env=self.env)

    def command(self, *args: str) -> list[str]:
        """``args`` run inside the cluster's namespace (a prefix for ``workflow_helpers.snakemake``)."""
        return [
            "env",
            f"PATH={PATH}",
            f"ACTIONMQA_SLURM_ROOT={self.root}",
            "bash",
            str(SCRIPT),
            "exec",
            *args,
        ]

    def job(self, job_id: str) -> dict[str, str]:
        """``scontrol show job``'s fields of a job (finished ones stay for MinJobAge, an hour)."""
        shown = subprocess.run(
            self.command("scontrol", "-o", "show", "job", job_id),
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return dict(field.partition("=")[::2] for field in shown.stdout.split())

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.root / "log" / name
        return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else f"({path} missing)"

    def tasks(self) -> list[dict[str, str]]:
        """The task prolog's records: one per task of every job step, as SLURM set it up."""
        path = self.root / "log" / "tasks.log"
        return [dict(field.split("=", 1) for field in line.split()) for line in path.read_text().splitlines()]


def profile_set_resources(profile: dict, **changes: dict[str, object]) -> Sequence[str]:
    """The profile's ``set-resources`` as command-line values, with some resources changed.

    (``--set-resources`` on the command line replaces the profile's whole list.)
    """
    rules = {
        rule: {**resources, **changes.get(rule, {})} for rule, resources in profile["set-resources"].items()
    }
    return [f"{rule}:{key}={value}" for rule, resources in rules.items() for key, value in resources.items()]
