"""Annotation download against a real HTTP server on 127.0.0.1: hashes, HTTP errors, atomic writes."""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from actionmqa.ek100.cli import register
from actionmqa.ek100.fetch import DEFAULT_FILES, KNOWN_SHA256, fetch_annotations
from actionmqa.errors import InputError
from actionmqa.io import sha256_file
from loopback_files import serve_files

TAIL_VERBS = b"verb\n10\n12\n"
UNSEEN = b"participant_id\nP18\nP32\n"


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """(directory served as <base_url>, base_url) of a server that lives for one test."""
    served = tmp_path / "served"
    commit_dir = served / "commit"
    commit_dir.mkdir(parents=True)
    (commit_dir / "EPIC_100_tail_verbs.csv").write_bytes(TAIL_VERBS)
    (commit_dir / "EPIC_100_unseen_participant_ids_validation.csv").write_bytes(UNSEEN)
    with serve_files(served) as base_url:
        yield commit_dir, f"{base_url}/commit/"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


FILES = ["EPIC_100_tail_verbs.csv", "EPIC_100_unseen_participant_ids_validation.csv"]


def test_downloads_and_verifies(remote: tuple[Path, str], tmp_path: Path) -> None:
    _, base_url = remote
    out = tmp_path / "annotations"
    fetch_annotations(base_url, FILES, out, {"EPIC_100_tail_verbs.csv": sha(TAIL_VERBS)})
    assert (out / FILES[0]).read_bytes() == TAIL_VERBS
    assert (out / FILES[1]).read_bytes() == UNSEEN
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)


def test_sha256_mismatch_leaves_nothing(remote: tuple[Path, str], tmp_path: Path) -> None:
    _, base_url = remote
    out = tmp_path / "annotations"
    wrong = "0" * 64
    with pytest.raises(InputError) as error:
        fetch_annotations(base_url, FILES[:1], out, {FILES[0]: wrong})
    message = str(error.value)
    assert str(out / FILES[0]) in message
    assert f"expected {wrong}, got {sha(TAIL_VERBS)}" in message
    assert list(out.iterdir()) == []


def test_http_404_names_the_url(remote: tuple[Path, str], tmp_path: Path) -> None:
    _, base_url = remote
    with pytest.raises(InputError) as error:
        fetch_annotations(base_url, ["EPIC_100_train.csv"], tmp_path / "out", {})
    assert str(error.value).startswith(f"{base_url}EPIC_100_train.csv: download failed: HTTP 404")
    assert not (tmp_path / "out" / "EPIC_100_train.csv").exists()


def test_verified_file_is_not_downloaded_again(remote: tuple[Path, str], tmp_path: Path) -> None:
    served, base_url = remote
    out = tmp_path / "annotations"
    hashes = {FILES[0]: sha(TAIL_VERBS)}
    fetch_annotations(base_url, FILES[:1], out, hashes)
    (served / FILES[0]).unlink()  # a second download would now fail with 404
    fetch_annotations(base_url, FILES[:1], out, hashes)
    assert (out / FILES[0]).read_bytes() == TAIL_VERBS


def test_paths_outside_the_output_dir_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"key '\.\./secret.csv'"):
        fetch_annotations("http://127.0.0.1:9", ["../secret.csv"], tmp_path, {})


def test_cli_fetch_checks_known_hashes(remote: tuple[Path, str], tmp_path: Path) -> None:
    served, base_url = remote
    (served / "EPIC_100_tail_verbs.csv").write_bytes(TAIL_VERBS + b"14\n")  # not the pinned bytes
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="stage"))
    out = tmp_path / "annotations"
    argv = ["data", "fetch", "--base-url", base_url, "--out", str(out), "--files", "EPIC_100_tail_verbs.csv"]
    args = parser.parse_args(argv)
    with pytest.raises(InputError, match=f"expected {KNOWN_SHA256['EPIC_100_tail_verbs.csv']}"):
        args.func(args)
    args = parser.parse_args([*argv, "--no-verify"])
    args.func(args)
    assert (out / "EPIC_100_tail_verbs.csv").read_bytes() == TAIL_VERBS + b"14\n"


@pytest.mark.realdata
def test_known_hashes_match_the_real_files(real_ek100_dir: Path) -> None:
    for name, digest in KNOWN_SHA256.items():
        assert sha256_file(real_ek100_dir / name) == digest, name
    assert "EPIC_100_train.csv" in DEFAULT_FILES and "EPIC_100_train.csv" not in KNOWN_SHA256


def test_returns_every_digest_and_logs_the_hash_to_pin(
    remote: tuple[Path, str], tmp_path: Path, caplog
) -> None:
    _, base_url = remote
    with caplog.at_level("WARNING", logger="actionmqa.ek100.fetch"):  # FILES[1] is left unpinned
        digests = fetch_annotations(base_url, FILES, tmp_path / "a", {FILES[0]: sha(TAIL_VERBS)})
    assert digests == {FILES[0]: sha(TAIL_VERBS), FILES[1]: sha(UNSEEN)}
    # the unpinned file: its hash and the config key to pin it under
    assert f"{FILES[1]} has no known sha256" in caplog.text
    assert f"'annotations.sha256' ({FILES[1]}: {sha(UNSEEN)})" in caplog.text


def test_frozen_runs_refuse_unpinned_files_before_any_download(
    remote: tuple[Path, str], tmp_path: Path
) -> None:
    _, base_url = remote
    out = tmp_path / "annotations"
    with pytest.raises(
        InputError, match=rf"key '{FILES[1]}': no pinned sha256 for {FILES[1]}; pin each under"
    ):
        fetch_annotations(base_url, FILES, out, {FILES[0]: sha(TAIL_VERBS)}, require_sha256=True)
    assert not out.exists()


def test_cli_pins_from_the_config_are_checked(remote: tuple[Path, str], tmp_path: Path) -> None:
    from actionmqa.cli import main

    served, base_url = remote
    train = b"narration_id,participant_id\n"  # no hash of the real train CSV is known
    (served / "EPIC_100_train.csv").write_bytes(train)
    out = tmp_path / "annotations"
    argv = ["data", "fetch", "--base-url", base_url, "--out", str(out), "--files", "EPIC_100_train.csv"]
    argv.append("--require-sha256")
    assert main(argv) == 2 and not out.exists()
    assert main([*argv, "--sha256", f"EPIC_100_train.csv={'0' * 64}"]) == 2
    assert not (out / "EPIC_100_train.csv").exists()
    assert main([*argv, "--sha256", f"EPIC_100_train.csv={sha(train).upper()}"]) == 0
    assert (out / "EPIC_100_train.csv").read_bytes() == train
    assert main([*argv, "--sha256", "EPIC_100_train.csv=abc"]) == 2


def test_cli_every_repeated_pin_counts(remote: tuple[Path, str], tmp_path: Path) -> None:
    """The rule passes one ``--sha256`` flag per pinned file: each is checked, not only the last."""
    from actionmqa.cli import main

    served, base_url = remote
    train, val = b"narration_id\nP01_01_0\n", b"narration_id\nP01_11_0\n"
    (served / "EPIC_100_train.csv").write_bytes(train)
    (served / "EPIC_100_validation.csv").write_bytes(val)
    out = tmp_path / "annotations"
    argv = ["data", "fetch", "--base-url", base_url, "--out", str(out), "--require-sha256"]
    argv += ["--files", "EPIC_100_train.csv", "EPIC_100_validation.csv"]
    wrong_first = [
        *argv,
        "--sha256",
        f"EPIC_100_train.csv={'0' * 64}",
        "--sha256",
        f"EPIC_100_validation.csv={sha(val)}",
    ]
    assert main(wrong_first) == 2 and not (out / "EPIC_100_train.csv").exists()
    pinned = [
        *argv,
        "--sha256",
        f"EPIC_100_train.csv={sha(train)}",
        "--sha256",
        f"EPIC_100_validation.csv={sha(val)}",
    ]
    assert main(pinned) == 0 and (out / "EPIC_100_validation.csv").read_bytes() == val
