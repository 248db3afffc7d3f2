"""Run a test's command so that a timeout ends everything it started, not only the command.

``subprocess.run(..., timeout=...)`` kills the child alone: a Snakemake run's jobs, torchrun's
workers or a shell script's background work outlive it, keep computing beside the tests that
follow and can hold the captured pipes open. Here the command leads a session of its own, and
on a timeout or an interruption the whole process group is killed before the error goes on.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


def run_captured(
    command: Sequence[str | Path],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(command, capture_output=True, text=True, timeout=timeout)``, with its group."""
    with subprocess.Popen(
        [str(part) for part in command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=None if env is None else dict(env),
        cwd=cwd,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:  # the timeout, or a Ctrl-C of the test run
            kill_group(process.pid)
            process.communicate()
            raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def kill_group(leader: int) -> None:
    """SIGKILL to every process of ``leader``'s group; one already gone is no error."""
    try:
        os.killpg(leader, signal.SIGKILL)
    except ProcessLookupError:
        pass
