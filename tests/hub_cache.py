"""A pre-populated Hugging Face hub cache for offline tests (``actionmqa.rehearsal.hub_cache`` writes it).

Tests fix one commit for every repository; ``SECRET`` stands in for an HF_TOKEN that must show up
in no output, log or file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from actionmqa.rehearsal import hub_cache

__all__ = ["COMMIT", "SECRET", "files_containing", "offline_env", "populate_cache"]

COMMIT = "0123456789abcdef0123456789abcdef01234567"
#: A stand-in HF_TOKEN: tests assert it shows up in no output, log or file.
SECRET = "hf_test-secret-0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def populate_cache(
    cache: Path,
    repo: str,
    files: Mapping[str, bytes],
    *,
    repo_type: str = "model",
    commit: str = COMMIT,
    refs: Iterable[str] = ("main",),
) -> Path:
    """Cache ``files`` as ``repo`` at ``commit`` (the tests' commit unless told); returns the snapshot."""
    return hub_cache.populate_cache(cache, repo, files, commit=commit, repo_type=repo_type, refs=refs)


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
