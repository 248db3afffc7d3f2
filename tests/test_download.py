"""The one plain-HTTP download path against a loopback server that injects faults.

Each fault ends either with the right bytes (checked against hashlib's digests of the served
file) or with an error naming the URL; bytes are counted at the server, so a resumed download
is seen to fetch only what it lacked.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import pytest

from actionmqa.cli import main
from actionmqa.download import CHUNK_BYTES, DownloadError, RetryPolicy, fetch_file, partial_path
from actionmqa.errors import InputError
from loopback_faults import Fault, FaultServer, serve_faults

#: Three chunks and a bit of deterministic, non-repeating bytes.
DATA = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(3 * CHUNK_BYTES // 32 + 100))
SIZE = len(DATA)
SHA256 = hashlib.sha256(DATA).hexdigest()
MD5 = hashlib.md5(DATA).hexdigest()
PATH = "/ckpt/avion_vitl.pth"
#: Fast retries: the tests check behaviour, not patience.
FAST = RetryPolicy(retries=3, backoff_s=0.001, resumes=2, timeout_s=5.0)


@pytest.fixture
def server():
    with serve_faults({PATH: DATA}) as running:
        yield running


def ranges(server: FaultServer) -> list[str | None]:
    return [s.range for s in server.served]


def test_plain_download_verifies_sha256_and_md5(server: FaultServer, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "avion.pth"
    result = fetch_file(server.url(PATH), dest, sha256=SHA256, policy=FAST)
    assert dest.read_bytes() == DATA
    assert (result.size, result.sha256, result.md5, result.verified) == (SIZE, SHA256, None, ("sha256",))
    assert (result.resumed_from, result.received) == (0, SIZE)
    assert list(dest.parent.iterdir()) == [dest]  # no partial left behind
    result = fetch_file(server.url(PATH), tmp_path / "by_md5.pth", md5=MD5.upper(), policy=FAST)
    assert (result.md5, result.verified) == (MD5, ("md5",))


def test_progress_bar_reports_bytes_and_rate(server: FaultServer, tmp_path: Path, capsys) -> None:
    fetch_file(server.url(PATH), tmp_path / "avion.pth", policy=FAST)
    err = capsys.readouterr().err
    mib = f"{SIZE / 2**20:.2f}M"  # tqdm: binary prefixes, unit "B" on the rate
    assert "avion.pth: 100%" in err and f"{mib}/{mib}" in err and "B/s]" in err


def test_connection_cut_mid_body_resumes_from_the_partial(server: FaultServer, tmp_path: Path) -> None:
    server.inject(PATH, Fault(cut_after=1000))
    dest = tmp_path / "avion.pth"
    result = fetch_file(server.url(PATH), dest, sha256=SHA256, policy=FAST)
    assert dest.read_bytes() == DATA
    assert ranges(server) == [None, "bytes=1000-"]
    assert [s.body_bytes for s in server.served] == [1000, SIZE - 1000]
    assert result.received == SIZE


def test_503_with_retry_after_is_waited_out(server: FaultServer, tmp_path: Path) -> None:
    server.inject(PATH, *[Fault(status=503, headers={"Retry-After": "1"})] * 2)
    dest = tmp_path / "avion.pth"
    fetch_file(server.url(PATH), dest, sha256=SHA256, policy=FAST)
    assert dest.read_bytes() == DATA
    assert [s.status for s in server.served] == [503, 503, 200]
    arrivals = [s.time for s in server.served]
    # FAST backs off for milliseconds: only honouring Retry-After explains a second between tries
    assert all(later - earlier >= 0.95 for earlier, later in pairwise(arrivals))


def test_429_is_retried(server: FaultServer, tmp_path: Path) -> None:
    server.inject(PATH, Fault(status=429), Fault(status=429))
    fetch_file(server.url(PATH), tmp_path / "avion.pth", sha256=SHA256, policy=FAST)
    assert [s.status for s in server.served] == [429, 429, 200]
    assert (tmp_path / "avion.pth").read_bytes() == DATA


def test_persistent_5xx_fails_naming_the_url(server: FaultServer, tmp_path: Path) -> None:
    server.inject(PATH, *[Fault(status=502)] * 10)
    dest = tmp_path / "avion.pth"
    with pytest.raises(DownloadError) as error:
        fetch_file(server.url(PATH), dest, sha256=SHA256, policy=FAST)
    assert str(error.value) == f"{server.url(PATH)}: download failed: HTTP 502 Bad Gateway after 3 retries"
    assert len(server.served) == 4 and not dest.exists()


def test_404_is_not_retried(server: FaultServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"/missing\.pth: download failed: HTTP 404 Not Found$"):
        fetch_file(server.url("/missing.pth"), tmp_path / "x", policy=FAST)
    assert len(server.served) == 1


def test_server_ignoring_range_restarts_instead_of_appending(server: FaultServer, tmp_path: Path) -> None:
    server.inject(PATH, Fault(cut_after=5000), Fault(ignore_range=True))
    dest = tmp_path / "avion.pth"
    fetch_file(server.url(PATH), dest, sha256=SHA256, policy=FAST)
    assert dest.read_bytes() == DATA
    assert ranges(server) == [None, "bytes=5000-"]
    assert [s.status for s in server.served] == [200, 200]


def test_corrupted_body_is_an_error_and_keeps_nothing(server: FaultServer, tmp_path: Path) -> None:
    server.inject(PATH, Fault(corrupt=True))
    middle = SIZE // 2
    corrupted = hashlib.sha256(DATA[:middle] + bytes([DATA[middle] ^ 0xFF]) + DATA[middle + 1 :]).hexdigest()
    dest = tmp_path / "avion.pth"
    with pytest.raises(DownloadError) as error:
        fetch_file(server.url(PATH), dest, sha256=SHA256, policy=FAST)
    assert str(error.value) == (
        f"{server.url(PATH)}: sha256 mismatch: expected {SHA256}, got {corrupted}; {dest} not written"
    )
    assert list(tmp_path.iterdir()) == []


def test_stalled_body_times_out_and_resumes(server: FaultServer, tmp_path: Path) -> None:
    server.inject(PATH, Fault(stall_after=CHUNK_BYTES))
    dest = tmp_path / "avion.pth"
    policy = RetryPolicy(retries=3, backoff_s=0.001, resumes=2, timeout_s=0.3)
    fetch_file(server.url(PATH), dest, sha256=SHA256, policy=policy)
    assert dest.read_bytes() == DATA
    assert ranges(server)[-1] == f"bytes={CHUNK_BYTES}-"


def test_repeated_cuts_without_progress_give_up_and_keep_the_partial(
    server: FaultServer, tmp_path: Path
) -> None:
    server.inject(PATH, Fault(cut_after=700), *[Fault(cut_after=0)] * 10)
    dest = tmp_path / "avion.pth"
    with pytest.raises(DownloadError, match=r"cut off at byte 700 3 times in a row without new bytes"):
        fetch_file(server.url(PATH), dest, sha256=SHA256, policy=FAST)
    assert partial_path(dest).read_bytes() == DATA[:700] and not dest.exists()
    served = len(server.served)
    server.faults[PATH].clear()
    fetch_file(server.url(PATH), dest, sha256=SHA256, policy=FAST)  # the rerun resumes at 700
    assert ranges(server)[served:] == ["bytes=700-"] and dest.read_bytes() == DATA


def test_partial_already_complete_is_verified_without_a_body(server: FaultServer, tmp_path: Path) -> None:
    dest = tmp_path / "avion.pth"
    partial_path(dest).write_bytes(DATA)  # a job killed between the last byte and the rename
    result = fetch_file(server.url(PATH), dest, sha256=SHA256, policy=FAST)
    assert [(s.status, s.body_bytes) for s in server.served] == [(416, 0)]
    assert dest.read_bytes() == DATA and (result.resumed_from, result.received) == (SIZE, 0)


def test_partial_longer_than_the_file_restarts(server: FaultServer, tmp_path: Path) -> None:
    dest = tmp_path / "avion.pth"
    partial_path(dest).write_bytes(DATA + b"stale tail")  # left by a different file of that name
    fetch_file(server.url(PATH), dest, sha256=SHA256, policy=FAST)
    assert [(s.range, s.status) for s in server.served] == [(f"bytes={SIZE + 10}-", 416), (None, 200)]
    assert dest.read_bytes() == DATA


def test_target_already_verified_sends_no_request(server: FaultServer, tmp_path: Path) -> None:
    dest = tmp_path / "avion.pth"
    dest.write_bytes(DATA)
    assert fetch_file(server.url(PATH), dest, sha256=SHA256, policy=FAST).received == 0
    assert server.served == []


def test_refused_connection_is_retried_then_named(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.pth"
    with pytest.raises(
        DownloadError, match=rf"^{url}: download failed after 3 retries: .*Connection refused"
    ):
        fetch_file(url, tmp_path / "x.pth", policy=FAST)


def test_malformed_digest_is_refused_before_any_request(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"key 'sha256=abc': expected 64 hex digits"):
        fetch_file("http://127.0.0.1:9/x", tmp_path / "x", sha256="abc")


def test_killed_download_rerun_fetches_only_the_remaining_bytes(server: FaultServer, tmp_path: Path) -> None:
    """A real ``kill -9`` of the CLI mid-file, then a rerun: the server sends each byte once."""
    server.inject(PATH, Fault(stall_after=CHUNK_BYTES))
    dest = tmp_path / "avion.pth"
    argv = ["data", "fetch-file", "--url", server.url(PATH), "--out", str(dest), "--sha256", SHA256]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "no_proxy": "127.0.0.1"}
    job = subprocess.Popen([sys.executable, "-m", "actionmqa", *argv], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (partial_path(dest).exists() and partial_path(dest).stat().st_size == CHUNK_BYTES):
            assert time.monotonic() < deadline and job.poll() is None, "the download never reached its stall"
            time.sleep(0.02)
    finally:
        job.send_signal(signal.SIGKILL)
        job.wait()
    assert not dest.exists()
    assert main([*argv, "--backoff-s", "0.001"]) == 0
    assert dest.read_bytes() == DATA
    assert [(s.range, s.body_bytes) for s in server.served] == [
        (None, CHUNK_BYTES),
        (f"bytes={CHUNK_BYTES}-", SIZE - CHUNK_BYTES),
    ]
    assert server.body_bytes == SIZE


def test_cli_mismatch_exits_2_naming_url(server: FaultServer, tmp_path: Path, capsys) -> None:
    wrong = "0" * 64
    argv = [
        "data",
        "fetch-file",
        "--url",
        server.url(PATH),
        "--out",
        str(tmp_path / "a.pth"),
        "--sha256",
        wrong,
    ]
    assert main([*argv, "--retries", "1"]) == 2
    assert f"{server.url(PATH)}: sha256 mismatch: expected {wrong}, got {SHA256}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
