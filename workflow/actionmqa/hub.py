"""Hugging Face hub snapshots at pinned revisions, for checkpoints and benchmark data alike.

- ``revision`` should be a 40-hex commit: a branch such as ``main`` moves, so the files behind
  a number could change under it. A branch is accepted with a warning, and the commit it
  resolved to is returned (and recorded by the callers) either way.
- ``allow_patterns`` limit what is fetched; huggingface_hub's own matcher filters the cached
  snapshot too, because a cache-only call returns every file cached for that commit.
- The token is ``HF_TOKEN`` from the environment and nothing else: never an argument, never a
  config key, never a stored ``hf auth login`` token (so a run does not depend on who logged in
  on the machine), and never written to a log or a file. Only whether one is set is logged.

Faults (huggingface_hub 2.4, read in its ``file_download``): each file is fetched into a
process-unique ``blobs/<etag>.<random>.incomplete`` and renamed into the cache when complete.
Within a process, a body cut by a timeout or a dropped connection is resumed with Range (up to
5 times in a row without progress), and 408/429 are retried honouring ``Retry-After``; a 5xx on
the file itself, or a cut that outlasts those retries, fails the download and deletes the partial.
Xet-stored files go through hf_xet, which retries on its own. So here:

- a transient failure (a 5xx or 429 after the hub's own retries, a dropped connection, a
  timeout, a short file) calls ``snapshot_download`` again, with backoff, up to
  ``policy.retries`` times: every file already complete is in the cache and is not fetched
  again, so each retry resumes the snapshot file by file;
- a killed job's partials cannot be resumed (the next process picks new names), so they are
  garbage: those untouched for an hour (``STALE_PARTIAL_S``) are deleted before a download,
  and the rerun fetches only the files that were not yet complete.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from actionmqa.download import RETRY_STATUSES, RetryPolicy
from actionmqa.errors import InputError
from actionmqa.io import temp_sibling

log = logging.getLogger(__name__)

COMMIT = re.compile(r"[0-9a-f]{40}")
TOKEN_VARIABLE = "HF_TOKEN"
#: A partial file untouched this long belongs to no live download: huggingface_hub writes every
#: chunk as it arrives and gives up on a silent connection after HF_HUB_DOWNLOAD_TIMEOUT (10 s).
STALE_PARTIAL_S = 3600.0


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
    policy: RetryPolicy | None = None,
) -> Snapshot:
    """Download (or, ``offline``, find in the cache) ``repo`` at ``revision``.

    A transient failure is retried per ``policy`` (``retries``, backoff), keeping the files already
    cached. Raises ``InputError`` naming the repository and revision when it cannot be had, and
    when the allow-patterns select nothing (a typo there would otherwise pass as an empty download).
    """
    policy = policy or RetryPolicy()
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
    if not offline:
        remove_stale_partials(repo, repo_type, cache_dir)
    path = _download_with_retries(repo, revision, repo_type, patterns, cache_dir, offline, token, policy)
    commit = path.name
    if not is_commit(commit):
        raise InputError(path, f"{where}: the snapshot folder is not named by a commit hash", key=repo)
    if is_commit(revision) and commit != revision:
        raise InputError(path, f"{where}: got commit {commit}, expected {revision}", key=repo)
    from huggingface_hub.utils import filter_repo_objects

    present = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
    files = tuple(filter_repo_objects(present, allow_patterns=patterns))
    if not files:
        raise InputError(
            path,
            f"{where}: no file matches the allow-patterns {patterns} (check them against the repository)",
        )
    log.info("%s -> commit %s, %d files", where, commit, len(files))
    return Snapshot(repo, repo_type, revision, commit, path, files)


def _download_with_retries(
    repo: str,
    revision: str,
    repo_type: str,
    patterns: list[str] | None,
    cache_dir: Path | None,
    offline: bool,
    token: str | bool,
    policy: RetryPolicy,
) -> Path:
    """``snapshot_download``, called again after a transient failure; errors become ``InputError``."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        IncompleteSnapshotError,
        LocalEntryNotFoundError,
    )

    where = f"{repo}@{revision} ({repo_type})"
    for attempt in range(policy.retries + 1):
        try:
            return Path(
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
        except Exception as exc:
            known = (
                LocalEntryNotFoundError,
                IncompleteSnapshotError,
                HfHubHTTPError,
                HFValidationError,
                OSError,
            )
            if offline or not is_transient(exc):
                if isinstance(exc, known):
                    raise InputError(None, f"cannot fetch {where}: {exc}", key=repo) from exc
                raise
            if attempt == policy.retries:
                raise InputError(
                    None, f"cannot fetch {where} after {policy.retries} retries: {exc}", key=repo
                ) from exc
            wait = policy.backoff(attempt + 2)
            log.warning(
                "%s: %s: %s; trying again in %.1f s (retry %d of %d; complete files stay in the cache)",
                where,
                type(exc).__name__,
                exc,
                wait,
                attempt + 1,
                policy.retries,
            )
            time.sleep(wait)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_transient(exc: BaseException) -> bool:
    """A failure worth another try: a 429/5xx, a dropped or timed-out connection, a short file.

    ``snapshot_download`` reports a hub it cannot reach as "not in the local cache"
    (``LocalEntryNotFoundError``, ``IncompleteSnapshotError``), so the whole chain is looked at.
    A gated, missing or misspelt repository, a 401/403/404 and a full disk are not transient.
    """
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    for link in _chain(exc):
        if isinstance(link, HfHubHTTPError):
            return link.response.status_code in RETRY_STATUSES
        if isinstance(link, httpx2.TransportError):
            return True
        if isinstance(link, OSError) and str(link).startswith("Consistency check failed"):
            return True  # huggingface_hub: the file came out shorter or longer than announced
    return False


def remove_stale_partials(repo: str, repo_type: str, cache_dir: Path | None) -> int:
    """Delete the ``*.incomplete`` files a killed download of ``repo`` left in the hub cache.

    huggingface_hub never resumes them (each process writes its own), so they only take space:
    up to one partial file per download worker per killed job. Returns the bytes freed.
    """
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    blobs = (
        Path(cache_dir or constants.HF_HUB_CACHE)
        / repo_folder_name(repo_id=repo, repo_type=repo_type)
        / "blobs"
    )
    freed = 0
    for partial in sorted(blobs.glob("*.incomplete")):
        try:
            info = partial.stat()
            if time.time() - info.st_mtime < STALE_PARTIAL_S:
                continue  # perhaps another job's download in progress
            partial.unlink()
        except FileNotFoundError:
            continue  # finished or removed meanwhile
        freed += info.st_size
        log.info("removed %s, left by a killed download (%d bytes)", partial, info.st_size)
    return freed


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
