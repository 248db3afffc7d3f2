"""A pre-populated Hugging Face hub cache, laid out as huggingface_hub writes it, for offline tests.

``<cache>/<type>s--<org>--<name>/blobs/<sha256>`` holds the bytes, ``snapshots/<commit>/<path>``
are relative symlinks to the blobs, and ``refs/<branch>`` holds the commit a branch points to.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"
#: A stand-in HF_TOKEN: tests assert it shows up in no output, log or file.
SECRET = "hf_test-secret-0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def repo_folder(cache: Path, repo: str, repo_type: str = "model") -> Path:
    return cache / f"{repo_type}s--{repo.replace('/', '--')}"


def populate_cache(
    cache: Path,
    repo: str,
    files: Mapping[str, bytes],
    *,
    repo_type: str = "model",
    commit: str = COMMIT,
    refs: Iterable[str] = ("main",),
) -> Path:
    """Cache ``files`` (repository path -> bytes) as ``repo`` at ``commit``; returns the snapshot."""
    folder = repo_folder(cache, repo, repo_type)
    snapshot = folder / "snapshots" / commit
    (folder / "blobs").mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        blob = folder / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        link = snapshot / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (folder / "refs").mkdir(exist_ok=True)
    for ref in refs:
        (folder / "refs" / ref).write_text(commit)
    return snapshot


def offline_env(cache: Path, **extra: str) -> dict[str, str]:
    """``os.environ`` without any HF_* setting of the user's, the hub offline, its cache at
    ``cache``, and ``extra`` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    return {
        **env,
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(cache.parent / "hf_home"),
        "HF_HUB_CACHE": str(cache),
    } | extra


def files_containing(root: Path, needle: str) -> list[Path]:
    """Every file under ``root`` (symlinks followed) whose bytes contain ``needle``."""
    data = needle.encode()
    return [p for p in sorted(root.rglob("*")) if p.is_file() and data in p.read_bytes()]
