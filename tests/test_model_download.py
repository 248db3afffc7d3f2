"""Hub checkpoints resolve from a pre-populated Hugging Face cache, offline, at a pinned revision."""

from __future__ import annotations

import pytest

from actionmqa.cli import main

REVISION = "0123456789abcdef0123456789abcdef01234567"


def populate_cache(cache, repo, files):
    """The hub cache layout: blobs, a snapshot folder per commit, and refs/main -> commit."""
    root = cache / f"models--{repo.replace('/', '--')}"
    snapshot = root / "snapshots" / REVISION
    snapshot.mkdir(parents=True)
    (root / "blobs").mkdir()
    for name, data in files.items():
        (snapshot / name).write_bytes(data)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(REVISION)
    return snapshot


def download(repo, out, cache):
    """``actionmqa model download`` from the cache only (``--offline``): never the network."""
    args = ["model", "download", "--repo", repo, "--revision", REVISION, "--offline"]
    return main([*args, "--out", str(out), "--cache-dir", str(cache)])


@pytest.fixture
def offline(monkeypatch):
    """No token, and every call below passes --offline (the cache only: never the network)."""
    monkeypatch.delenv("HF_TOKEN", raising=False)


def test_pinned_revision_copies_the_allowed_files(tmp_path, offline):
    files = {
        "config.json": b"{}",
        "model.safetensors": b"weights",
        "tokenizer.json": b"{}",
        "x.bin": b"pickle",
    }
    populate_cache(tmp_path / "cache", "lmms-lab/tiny", files)
    out = tmp_path / "ckpt"
    assert download("lmms-lab/tiny", out, tmp_path / "cache") == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json",
        "download.json",  # provenance: repo, revision, commit, files
        "model.safetensors",
        "tokenizer.json",
    ]
    assert (out / "model.safetensors").read_bytes() == b"weights" and not (
        out / "model.safetensors"
    ).is_symlink()


def test_uncached_revision_names_the_repo(tmp_path, offline, capsys):
    assert download("lmms-lab/absent", tmp_path / "o", tmp_path / "cache") == 2
    assert "cannot fetch lmms-lab/absent@" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_checkpoint_without_safetensors_is_refused(tmp_path, offline, capsys):
    populate_cache(tmp_path / "cache", "lmms-lab/pickled", {"config.json": b"{}", "pytorch_model.bin": b"p"})
    assert download("lmms-lab/pickled", tmp_path / "o", tmp_path / "cache") == 2
    assert "has no safetensors weights" in capsys.readouterr().err
