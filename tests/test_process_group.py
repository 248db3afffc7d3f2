"""The tests' command runner: output captured as subprocess.run does, and a timeout ends the
command's background children too (checked with the kernel's own process table)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from process_group import run_captured


def alive(pid: int) -> bool:
    """Running by the kernel's process table; a zombie (killed, not yet reaped) is not."""
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def test_output_exit_status_environment_and_directory_come_back(tmp_path: Path) -> None:
    script = "import os, sys; print(os.environ['PROBE'], os.getcwd()); sys.stderr.write('e\\n'); sys.exit(3)"
    env = {**os.environ, "PROBE": "p"}
    done = run_captured([sys.executable, "-c", script], timeout=60, env=env, cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (3, f"p {tmp_path}\n", "e\n")


def test_a_timeout_kills_the_commands_background_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    # the grandchild writes its pid, then the shell waits on it far past the timeout
    command = ["bash", "-c", f"sleep 300 & echo $! > {pid_file}; wait"]
    with pytest.raises(subprocess.TimeoutExpired):
        run_captured(command, timeout=3)
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(grandchild), f"sleep {grandchild} outlived the timeout"


def test_subprocess_run_alone_leaves_them_running(tmp_path: Path) -> None:
    """What the runner is for: the standard library's timeout kills the shell only."""
    pid_file = tmp_path / "child.pid"
    command = ["bash", "-c", f"sleep 300 & echo $! > {pid_file}; wait"]
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run(command, timeout=3, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    grandchild = int(pid_file.read_text())
    try:
        time.sleep(0.5)
        assert alive(grandchild)
    finally:
        os.kill(grandchild, 9)
