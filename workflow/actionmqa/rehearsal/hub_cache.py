"""A Hugging Face hub cache written directly, laid out as huggingface_hub writes it.

``<cache>/<type>s--<org>--<name>/blobs/<sha256>`` holds the bytes, ``snapshots/<commit>/<path>``
are relative symlinks to the blobs, and ``refs/<branch>`` holds the commit a branch points to.
``snapshot_download(..., local_files_only=True)`` (or ``HF_HUB_OFFLINE=1``) reads it as a cache it
filled itself: how the rehearsal serves its stand-in checkpoints and benchmarks, and how the tests
serve theirs.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

_COMMIT = re.compile(r"[0-9a-f]{40}")


def repo_folder(cache: Path, repo: str, repo_type: str = "model") -> Path:
    return Path(cache) / f"{repo_type}s--{repo.replace('/', '--')}"


def content_commit(files: Mapping[str, bytes]) -> str:
    """A 40-hex commit id that is a function of the files (for a revision that is a branch)."""
    digest = hashlib.sha1()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def populate_cache(
    cache: Path,
    repo: str,
    files: Mapping[str, bytes],
    *,
    commit: str,
    repo_type: str = "model",
    refs: Iterable[str] = ("main",),
) -> Path:
    """Cache ``files`` (repository path -> bytes) as ``repo`` at ``commit``; returns the snapshot.

    A file already cached under the same path is replaced, so writing a snapshot twice is safe.
    """
    if not _COMMIT.fullmatch(commit):
        raise ValueError(f"a snapshot is named by a 40-hex commit, got {commit!r}")
    folder = repo_folder(cache, repo, repo_type)
    snapshot = folder / "snapshots" / commit
    (folder / "blobs").mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        blob = folder / "blobs" / hashlib.sha256(data).hexdigest()
        if not blob.is_file():
            blob.write_bytes(data)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(blob, link.parent))
    (folder / "refs").mkdir(exist_ok=True)
    for ref in refs:
        (folder / "refs" / ref).write_text(commit)
    return snapshot


def folder_files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by its POSIX path relative to it (what a snapshot is made from)."""
    root = Path(root)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
