"""``actionmqa specialist fetch`` against a loopback server: the publisher's md5 prefix guards the output."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from actionmqa.cli import main
from actionmqa.download import DownloadError, RetryPolicy
from actionmqa.specialist.released.fetch import fetch_release, staging_path
from actionmqa.specialist.released.zoo import RELEASES
from loopback_faults import Fault, serve_faults

#: Bytes whose md5 starts with LaViLa's published prefix 4a2509 (nonce found by search, once).
DATA = b"a released checkpoint, nonce 3588333"
RELEASE = RELEASES["lavila_tsfl_multihead"]
PATH = "/lavila/clip_openai_timesformer_large.ft_ek100_cls.ep_0090.md5sum_4a2509.pth"
FAST = RetryPolicy(retries=2, backoff_s=0.001, resumes=2, timeout_s=5.0)


@pytest.fixture
def server():
    with serve_faults({PATH: DATA}) as running:
        yield running


def test_fixture_has_the_published_md5_prefix() -> None:
    assert hashlib.md5(DATA).hexdigest().startswith("4a2509") and RELEASE.md5_prefix == "4a2509"


def test_fetch_places_the_checked_file_and_nothing_else(server, tmp_path: Path) -> None:
    dest = tmp_path / "lavila.pth"
    argv = [
        "specialist",
        "fetch",
        "--checkpoint",
        RELEASE.name,
        "--url",
        server.url(PATH),
        "--out",
        str(dest),
    ]
    assert main([*argv, "--retries", "2", "--backoff-s", "0.001"]) == 0
    assert dest.read_bytes() == DATA and sorted(tmp_path.iterdir()) == [dest]


def test_pinned_sha256_is_verified(server, tmp_path: Path) -> None:
    dest = tmp_path / "lavila.pth"
    fetch_release(RELEASE, dest, sha256=hashlib.sha256(DATA).hexdigest(), url=server.url(PATH), policy=FAST)
    assert dest.read_bytes() == DATA
    with pytest.raises(DownloadError, match="sha256 mismatch") as caught:
        fetch_release(RELEASE, tmp_path / "other.pth", sha256="0" * 64, url=server.url(PATH), policy=FAST)
    assert caught.value.path == server.url(PATH) and not (tmp_path / "other.pth").exists()


def test_a_corrupt_download_fails_the_md5_prefix_and_leaves_nothing(server, tmp_path: Path) -> None:
    server.inject(PATH, Fault(corrupt=True))
    dest = tmp_path / "lavila.pth"
    with pytest.raises(DownloadError, match="does not start with the published 4a2509") as caught:
        fetch_release(RELEASE, dest, url=server.url(PATH), policy=FAST)
    assert caught.value.path == server.url(PATH) and caught.value.key == RELEASE.name
    assert not dest.exists() and not staging_path(dest).exists() and list(tmp_path.iterdir()) == []


def test_a_cut_download_resumes(server, tmp_path: Path) -> None:
    server.inject(PATH, Fault(cut_after=10))
    dest = tmp_path / "lavila.pth"
    fetch_release(RELEASE, dest, url=server.url(PATH), policy=FAST)
    assert dest.read_bytes() == DATA
    assert [s.range for s in server.served] == [None, "bytes=10-"]
