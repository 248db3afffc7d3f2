"""Checkpoints from the Hugging Face hub, at a pinned revision, with only the files we use.

``HF_TOKEN`` comes from the environment only (see :mod:`actionmqa.hub`) and never reaches our
arguments, logs or files. ``offline`` (or ``HF_HUB_OFFLINE=1``) resolves from the local cache
(how the tests run, and how a cluster without internet runs after a login-node fetch).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from actionmqa.errors import InputError
from actionmqa.hub import fetch_snapshot, link_or_copy
from actionmqa.io import atomic_dir, write_json

log = logging.getLogger(__name__)

#: What a LLaVA-NeXT checkpoint needs: configs, tokenizer files and safetensors weights (never
#: pickled ``.bin`` files, which we would refuse to load anyway).
ALLOW_PATTERNS: tuple[str, ...] = ("*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", "merges.txt")

#: Written beside the weights: repository, requested revision and the commit actually fetched.
PROVENANCE_FILE = "download.json"


def download_checkpoint(
    repo: str,
    revision: str,
    out: Path,
    *,
    allow_patterns: Sequence[str] = ALLOW_PATTERNS,
    cache_dir: Path | None = None,
    offline: bool = False,
) -> Path:
    """Fetch (or find in the cache) ``repo`` at ``revision`` and place its allowed files in ``out``.

    ``offline`` reads the cache only (as ``HF_HUB_OFFLINE=1`` does when set before start-up).
    """
    snapshot = fetch_snapshot(
        repo, revision, allow_patterns=allow_patterns, cache_dir=cache_dir, offline=offline
    )
    if not any(name.endswith(".safetensors") for name in snapshot.files):
        raise InputError(snapshot.path, f"{repo}@{revision} has no safetensors weights", key=repo)
    if PROVENANCE_FILE in snapshot.files:
        raise InputError(snapshot.path, f"{repo}@{revision} has its own {PROVENANCE_FILE}", key=repo)
    sizes = {}
    with atomic_dir(out) as staging:
        for name in snapshot.files:
            # real files in `out` (hard links to the cache's blobs where possible), never symlinks
            link_or_copy(snapshot.path / name, staging / name)
            sizes[name] = (staging / name).stat().st_size
        write_json(staging / PROVENANCE_FILE, {**snapshot.provenance(allow_patterns), "files": sizes})
    log.info("%s@%s (commit %s) -> %s (%d files)", repo, revision, snapshot.commit, out, len(sizes))
    return out
