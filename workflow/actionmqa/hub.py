"""Hugging Face hub snapshots at pinned revisions, for checkpoints and benchmark data alike.

- ``revision`` should be a 40-hex commit: a branch such as ``main`` moves, so the files behind
  a number could change under it. A branch is accepted with a warning, and the commit it
  resolved to is returned (and recorded by the callers) either way.
- ``allow_patterns`` limit what is fetched; huggingface_hub's own matcher filters the cached
  snapshot too, because a cache-only call returns every file cached for that commit.
- The token is ``HF_TOKEN`` from the environment and nothing else: never an argument, never a
  config key, never a stored ``hf auth login`` token (so a run does not depend on who logged in
  on the machine), and never written to a log or a file. Only whether one is set is logged.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from actionmqa.errors import InputError
from actionmqa.io import temp_sibling

log = logging.getLogger(__name__)

COMMIT = re.compile(r"[0-9a-f]{40}")
TOKEN_VARIABLE = "HF_TOKEN"


def is_commit(revision: str) -> bool:
    """A full 40-hex commit hash (lower case, as the hub writes them)."""
    return COMMIT.fullmatch(revision) is not None


def environment_token() -> str | bool:
    """``HF_TOKEN`` if set and non-empty; else ``False``, which tells huggingface_hub not to
    fall back to a token stored on disk."""
    return os.environ.get(TOKEN_VARIABLE) or False


@dataclass(frozen=True)
class Snapshot:
    """A repository's files at one commit, as the local cache holds them."""

    repo: str
    repo_type: str
    revision: str
    commit: str
    path: Path
    #: Repository paths (POSIX, relative to ``path``) that pass the allow-patterns, sorted.
    files: tuple[str, ...]

    def provenance(self, allow_patterns: Sequence[str] | None) -> dict[str, object]:
        """What was fetched, for a manifest: no machine-specific paths, no credentials."""
        return {
            "repo": self.repo,
            "repo_type": self.repo_type,
            "revision": self.revision,
            "commit": self.commit,
            "pinned": is_commit(self.revision),
            "allow_patterns": list(allow_patterns) if allow_patterns else None,
        }


def fetch_snapshot(
    repo: str,
    revision: str,
    *,
    repo_type: str = "model",
    allow_patterns: Sequence[str] | None = None,
    cache_dir: Path | None = None,
    offline: bool = False,
) -> Snapshot:
    """Download (or, ``offline``, find in the cache) ``repo`` at ``revision``.

    Raises ``InputError`` naming the repository and revision when it cannot be had, and when
    the allow-patterns select nothing (a typo there would otherwise pass as an empty download).
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        IncompleteSnapshotError,
        LocalEntryNotFoundError,
    )
    from huggingface_hub.utils import filter_repo_objects

    where = f"{repo}@{revision} ({repo_type})"
    patterns = list(allow_patterns) if allow_patterns else None
    if not is_commit(revision):
        log.warning(
            "%s: revision %r is not a commit hash; the download follows a moving ref. "
            "Pin the 40-hex commit logged below for a reproducible run.",
            where,
            revision,
        )
    token = environment_token()
    log.info(
        "fetching %s%s (allow-patterns %s; token: %s)",
        where,
        " from the local cache only" if offline else "",
        patterns or "all files",
        f"{TOKEN_VARIABLE} from the environment" if token else f"none ({TOKEN_VARIABLE} not set)",
    )
    try:
        path = Path(
            snapshot_download(
                repo_id=repo,
                repo_type=repo_type,
                revision=revision,
                allow_patterns=patterns,
                cache_dir=cache_dir,
                local_files_only=offline,
                token=token,
            )
        )
    except GatedRepoError as exc:
        raise InputError(
            None,
            f"cannot fetch {where}: the repository is gated; accept its terms on the hub and export "
            f"{TOKEN_VARIABLE} with a token of that account ({type(exc).__name__})",
            key=repo,
        ) from exc
    except (
        LocalEntryNotFoundError,
        IncompleteSnapshotError,
        HfHubHTTPError,
        HFValidationError,
        OSError,
    ) as exc:
        raise InputError(None, f"cannot fetch {where}: {exc}", key=repo) from exc
    commit = path.name
    if not is_commit(commit):
        raise InputError(path, f"{where}: the snapshot folder is not named by a commit hash", key=repo)
    if is_commit(revision) and commit != revision:
        raise InputError(path, f"{where}: got commit {commit}, expected {revision}", key=repo)
    present = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
    files = tuple(filter_repo_objects(present, allow_patterns=patterns))
    if not files:
        raise InputError(
            path,
            f"{where}: no file matches the allow-patterns {patterns} (check them against the repository)",
        )
    log.info("%s -> commit %s, %d files", where, commit, len(files))
    return Snapshot(repo, repo_type, revision, commit, path, files)


def link_or_copy(source: Path, target: Path) -> str:
    """Place ``source`` (a cache entry, possibly a symlink to a blob) at ``target`` as a real file.

    A hard link costs no space and survives a cleaned cache; across file systems the bytes are
    copied. Either way the file appears atomically. A target that already holds a file of the
    same size is kept (a resumed run). Returns ``"kept"``, ``"linked"`` or ``"copied"``.
    """
    real = source.resolve()
    if target.is_file() and target.stat().st_size == real.stat().st_size:
        return "kept"
    tmp = temp_sibling(target)
    os.unlink(tmp)  # a free name: the link (or copy) creates the file
    try:
        try:
            os.link(real, tmp)
            how = "linked"
        except OSError:
            shutil.copyfile(real, tmp)
            how = "copied"
        os.replace(tmp, target)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    return how
