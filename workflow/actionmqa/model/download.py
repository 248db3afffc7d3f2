"""Checkpoints from the Hugging Face hub, at a pinned revision, with only the files we use.

``HF_TOKEN`` is read from the environment by huggingface_hub itself and never passed through
our arguments, logs or files. With ``HF_HUB_OFFLINE=1`` the same call resolves from the local
cache (how the tests run, and how a cluster without internet runs after a login-node fetch).
"""

from __future__ import annotations

import fnmatch
import logging
import shutil
from pathlib import Path

from actionmqa.errors import InputError
from actionmqa.io import atomic_dir

log = logging.getLogger(__name__)

#: What a LLaVA-NeXT checkpoint needs: configs, tokenizer files and safetensors weights (never
#: pickled ``.bin`` files, which we would refuse to load anyway).
ALLOW_PATTERNS: tuple[str, ...] = ("*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", "merges.txt")


def download_checkpoint(
    repo: str, revision: str, out: Path, *, cache_dir: Path | None = None, offline: bool = False
) -> Path:
    """Fetch (or find in the cache) ``repo`` at ``revision`` and copy its files into ``out``.

    ``offline`` reads the cache only (as ``HF_HUB_OFFLINE=1`` does when set before start-up).
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        snapshot = Path(
            snapshot_download(
                repo_id=repo,
                revision=revision,
                allow_patterns=list(ALLOW_PATTERNS),
                cache_dir=cache_dir,
                local_files_only=offline,
            )
        )
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
        raise InputError(None, f"cannot fetch {repo}@{revision}: {exc}", key=repo) from exc
    # An offline call returns the whole cached snapshot: filter here too.
    wanted = [path for path in sorted(snapshot.rglob("*")) if path.is_file() and _allowed(path.name)]
    if not any(path.suffix == ".safetensors" for path in wanted):
        raise InputError(snapshot, f"{repo}@{revision} has no safetensors weights", key=repo)
    with atomic_dir(out) as staging:
        for path in wanted:
            target = staging / path.relative_to(snapshot)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)  # follows the cache's symlinks: real files in `out`
    log.info("%s@%s -> %s (%d files)", repo, revision, out, len(wanted))
    return out


def _allowed(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in ALLOW_PATTERNS)
