"""Hub downloads through huggingface_hub against a loopback hub that fails on request.

huggingface_hub reads ``HF_ENDPOINT`` at import, so each download runs in a fresh interpreter
pointed at the loopback hub; the hub counts every GET, so what a retry or a rerun fetched again
is seen at the server.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loopback_faults import Fault, serving
from loopback_hub import COMMIT, LoopbackHub, resolve_path
from process_group import run_captured

REPO = "lmms-lab/ckpt"
FILES = {
    "config.json": b'{"model_type": "llava"}',
    "model-00001-of-00002.safetensors": bytes(range(256)) * 2000,  # 512 kB
    "model-00002-of-00002.safetensors": b"weights-2" * 1000,
}
SHARD = resolve_path(REPO, "model-00001-of-00002.safetensors")
SHA256 = {name: hashlib.sha256(data).hexdigest() for name, data in FILES.items()}

FETCH = """
import hashlib, json, logging, sys
from pathlib import Path
from actionmqa.download import RetryPolicy
from actionmqa.errors import InputError
from actionmqa.hub import fetch_snapshot
logging.basicConfig(level=logging.INFO)
try:
    snapshot = fetch_snapshot(sys.argv[1], sys.argv[2], cache_dir=Path(sys.argv[3]),
                              policy=RetryPolicy(retries=2, backoff_s=0.01))
except InputError as error:
    print(error, file=sys.stderr)
    sys.exit(2)
digests = {name: hashlib.sha256((snapshot.path / name).read_bytes()).hexdigest() for name in snapshot.files}
print(json.dumps(digests))
"""


@pytest.fixture
def hub():
    with serving(LoopbackHub({("model", REPO): FILES})) as running:
        yield running


def fetch_command(cache: Path) -> list[str]:
    return [sys.executable, "-c", FETCH, REPO, COMMIT, str(cache)]


def hub_env(hub: LoopbackHub, tmp_path: Path) -> dict[str, str]:
    """No HF setting of the user's; the hub at 127.0.0.1, no proxy in between, this checkout first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.pop("http_proxy", None), env.pop("HTTP_PROXY", None)
    return env | {
        "HF_ENDPOINT": hub.endpoint,
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "no_proxy": "127.0.0.1",
        "NO_PROXY": "127.0.0.1",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }


def run_fetch(hub: LoopbackHub, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    command = fetch_command(tmp_path / "cache")
    return run_captured(command, env=hub_env(hub, tmp_path), timeout=120)


def test_a_5xx_on_one_file_is_retried_and_only_that_file_fetched_again(
    hub: LoopbackHub, tmp_path: Path
) -> None:
    hub.inject(SHARD, Fault(status=503))
    done = run_fetch(hub, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == SHA256
    assert "HfHubHTTPError" in done.stderr and "trying again" in done.stderr
    assert hub.gets(SHARD) == [(None, 503, 0), (None, 200, len(FILES["model-00001-of-00002.safetensors"]))]
    for name in ("config.json", "model-00002-of-00002.safetensors"):  # complete after the first try
        assert len(hub.gets(resolve_path(REPO, name))) == 1


def test_a_missing_file_is_not_retried(hub: LoopbackHub, tmp_path: Path) -> None:
    hub.inject(SHARD, *[Fault(status=404)] * 5)
    done = run_fetch(hub, tmp_path)
    assert done.returncode == 2
    assert f"key '{REPO}': cannot fetch {REPO}@{COMMIT} (model):" in done.stderr
    assert "trying again" not in done.stderr
    assert len(hub.gets(SHARD)) == 1


def test_persistent_5xx_gives_up_after_the_policy_retries(hub: LoopbackHub, tmp_path: Path) -> None:
    hub.inject(SHARD, *[Fault(status=502)] * 10)
    done = run_fetch(hub, tmp_path)
    assert done.returncode == 2
    assert f"cannot fetch {REPO}@{COMMIT} (model) after 2 retries" in done.stderr
    assert [status for _, status, _ in hub.gets(SHARD)] == [502, 502, 502]


def test_killed_job_keeps_complete_files_and_its_partial_is_cleared(hub: LoopbackHub, tmp_path: Path) -> None:
    """huggingface_hub 2.4 cannot resume a killed process's partial file (each process writes its
    own), so a rerun fetches every file that was not complete, each complete one not again, and
    the dead partial is deleted; a recent partial (perhaps another job's) is left alone."""
    hub.inject(SHARD, Fault(stall_after=100_000))
    cache = tmp_path / "cache"
    blobs = cache / "models--lmms-lab--ckpt" / "blobs"
    snapshot = cache / "models--lmms-lab--ckpt" / "snapshots" / COMMIT
    job = subprocess.Popen(fetch_command(cache), env=hub_env(hub, tmp_path), stderr=subprocess.DEVNULL)
    stalled = [(SHARD, None, 100_000)]
    try:
        deadline = time.monotonic() + 60
        while not (
            (snapshot / "config.json").exists()
            and (snapshot / "model-00002-of-00002.safetensors").exists()
            and [
                (s.path, s.range, s.body_bytes)
                for s in hub.served_so_far
                if s.path == SHARD and s.method == "GET"
            ]
            == stalled
        ):
            assert time.monotonic() < deadline and job.poll() is None, "the download never reached its stall"
            time.sleep(0.05)
    finally:
        job.send_signal(signal.SIGKILL)
        job.wait()
    (dead,) = blobs.glob("*.incomplete")  # what the killed process had written of the 100 kB sent
    dead_bytes = dead.stat().st_size
    an_hour_ago = time.time() - 3700
    os.utime(dead, (an_hour_ago, an_hour_ago))
    recent = blobs / "0000.11111111.incomplete"
    recent.write_bytes(b"another job's download in progress")

    done = run_fetch(hub, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == SHA256
    size = len(FILES["model-00001-of-00002.safetensors"])
    assert hub.gets(SHARD) == [(None, 200, 100_000), (None, 200, size)]  # from byte 0 again
    for name in ("config.json", "model-00002-of-00002.safetensors"):
        assert len(hub.gets(resolve_path(REPO, name))) == 1
    assert not dead.exists() and recent.exists()
    assert f"removed {dead}, left by a killed download ({dead_bytes} bytes)" in done.stderr
