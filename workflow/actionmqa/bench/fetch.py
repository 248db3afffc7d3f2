"""The five benchmarks' data: a Hugging Face dataset repository at a pinned revision, laid out
under ``<benchmark_root>/<benchmark>/`` the way the adapters in this package read it.

The hub copies ship videos as archives (EgoSchema, Perception Test and Video-MME as
``videos_chunked_*.zip`` whose members are ``videos/...`` or ``data/...``; LongVideoBench as
``videos.tar.part.*`` to be concatenated, and ``subtitles.tar``). lmms-eval extracts every archive
into the benchmark's folder keeping member paths, and so does :func:`fetch_benchmark`; every
other selected file (parquet, JSON, MVBench's unpacked ``video`` branch) is hard-linked (or
copied) to the same relative path. Archives stay in the hub cache only.

Each file appears atomically and a file already in place with the right size is kept, so an
interrupted fetch resumes; the manifest, written last by the caller, is what marks it complete.
A folder the user filled by hand is checked the same way without downloading anything.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import tarfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import IO, Any

from actionmqa.errors import InputError
from actionmqa.io import atomic_open

log = logging.getLogger(__name__)

#: ``videos.tar.part.aa`` ... (LongVideoBench): the base name is everything up to ``.tar``.
_TAR_PART = re.compile(r"^(?P<base>.+\.tar)\.part\.?[A-Za-z0-9]+$")
_TAR = re.compile(r"\.(tar|tar\.gz|tgz|tar\.bz2|tar\.xz)$")
#: Missing videos listed by name in the manifest and the log (the count is always complete).
MAX_LISTED = 20
_CHUNK = 1 << 20


def fetch_benchmark(
    benchmark: str,
    out_dir: Path,
    *,
    repo: str | None = None,
    revision: str | None = None,
    allow_patterns: Sequence[str] | None = None,
    cache_dir: Path | None = None,
    offline: bool = False,
    require_videos: bool = False,
) -> dict[str, Any]:
    """Download ``repo`` at ``revision`` into ``out_dir`` (or, without ``repo``, only check the
    folder the user provided), then load it with the benchmark's adapter; returns the manifest.
    """
    from actionmqa.bench import ADAPTERS

    if benchmark not in ADAPTERS:
        raise InputError(None, f"unknown benchmark {benchmark!r}; expected one of {sorted(ADAPTERS)}")
    out_dir = Path(out_dir)
    manifest: dict[str, Any] = {"benchmark": benchmark, "folder": str(out_dir)}
    if repo is None:
        manifest["source"] = None
        if not out_dir.is_dir():
            raise InputError(
                out_dir,
                f"no {benchmark} data: the folder does not exist; put the benchmark's files there or give"
                f" a hub source (config key 'evaluate.benchmark_sources.{benchmark}')",
            )
    else:
        if not revision:
            raise InputError(None, f"{benchmark}: a hub source needs a revision", key=repo)
        from actionmqa.hub import fetch_snapshot

        snapshot = fetch_snapshot(
            repo,
            revision,
            repo_type="dataset",
            allow_patterns=allow_patterns,
            cache_dir=cache_dir,
            offline=offline,
        )
        manifest["source"] = snapshot.provenance(allow_patterns)
        manifest["files"] = place_snapshot(snapshot.path, snapshot.files, out_dir)
    manifest["layout"] = check_layout(benchmark, out_dir, require_videos=require_videos)
    return manifest


def place_snapshot(snapshot: Path, files: Sequence[str], out_dir: Path) -> list[dict[str, Any]]:
    """Extract the archives among ``files`` into ``out_dir`` and link the rest; one record each."""
    from actionmqa.hub import link_or_copy

    parts: dict[str, list[str]] = {}
    records: list[dict[str, Any]] = []
    for name in files:
        match = _TAR_PART.match(name)
        if match:
            parts.setdefault(match["base"], []).append(name)
        elif name.endswith(".zip"):
            records.append({"path": name, **extract_zip(snapshot / name, out_dir)})
        elif _TAR.search(name):
            records.append({"path": name, **extract_tar([snapshot / name], out_dir)})
        else:
            target = out_dir / _safe_relative(name, snapshot)
            how = link_or_copy(snapshot / name, target)
            records.append({"path": name, "bytes": target.stat().st_size, "placed": how})
    for base, names in sorted(parts.items()):
        names = sorted(names)  # the order of `cat videos.tar.part.*`
        records.append({"path": base, "parts": names, **extract_tar([snapshot / n for n in names], out_dir)})
    return sorted(records, key=lambda r: r["path"])


def _safe_relative(name: str, where: Path) -> PurePosixPath:
    """A member or repository path that stays inside the output folder."""
    relative = PurePosixPath(name)
    if not name or relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise InputError(where, "path would leave the benchmark folder", key=name)
    return relative


def _write_member(source: IO[bytes], target: Path) -> None:
    """Stream an archive member to ``target`` through a temporary sibling."""
    with atomic_open(target, "wb") as out:
        shutil.copyfileobj(source, out, _CHUNK)


def extract_zip(archive: Path, out_dir: Path) -> dict[str, Any]:
    """Every member of ``archive`` under ``out_dir`` at its own path; members already there with
    their size are kept."""
    written = kept = size = 0
    try:
        with zipfile.ZipFile(archive) as handle:
            for info in handle.infolist():
                target = out_dir / _safe_relative(info.filename.rstrip("/") or info.filename, archive)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                size += info.file_size
                if target.is_file() and target.stat().st_size == info.file_size:
                    kept += 1
                    continue
                with handle.open(info) as member:
                    _write_member(member, target)
                written += 1
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise InputError(archive, f"not a readable zip archive ({exc})") from exc
    log.info("%s: %d members extracted, %d already in place", archive.name, written, kept)
    return {"members": written + kept, "bytes": size, "extracted": written, "kept": kept}


class _Concatenated(io.RawIOBase):
    """Several files read as one stream: ``cat part.aa part.ab ...`` without the copy."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self._pending = list(paths)
        self._current: IO[bytes] | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            if self._current is None:
                if not self._pending:
                    return 0
                self._current = open(self._pending.pop(0), "rb")  # closed at its end or in close()
            n = self._current.readinto(buffer)
            if n:
                return n
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None
        super().close()


def _tar_members(stream: IO[bytes], where: Path) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            for member in tar:
                yield tar, member
    except (tarfile.TarError, EOFError) as exc:
        raise InputError(where, f"not a readable tar archive ({exc})") from exc


def extract_tar(parts: Sequence[Path], out_dir: Path) -> dict[str, Any]:
    """A tar archive, possibly split in parts, streamed into ``out_dir``. Only regular files and
    folders are written; links and devices are counted as skipped."""
    written = kept = size = 0
    skipped: list[str] = []
    with io.BufferedReader(_Concatenated(parts), buffer_size=_CHUNK) as stream:
        for tar, member in _tar_members(stream, parts[0]):
            target = out_dir / _safe_relative(member.name.rstrip("/") or member.name, parts[0])
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif not member.isfile():
                skipped.append(member.name)
            elif target.is_file() and target.stat().st_size == member.size:
                kept += 1
                size += member.size
            else:
                source = tar.extractfile(member)
                assert source is not None  # a regular file always has data
                _write_member(source, target)
                written += 1
                size += member.size
    if skipped:
        log.warning(
            "%s: %d members that are not regular files skipped: %s", parts[0].name, len(skipped), skipped[:5]
        )
    log.info("%s: %d members extracted, %d already in place", parts[0].name, written, kept)
    return {
        "members": written + kept,
        "bytes": size,
        "extracted": written,
        "kept": kept,
        "skipped": sorted(skipped),
    }


def check_layout(benchmark: str, folder: Path, *, require_videos: bool = False) -> dict[str, Any]:
    """Load the folder with the benchmark's adapter (a missing or malformed file raises its
    ``InputError``) and count the videos its questions point to that are not there."""
    from actionmqa.bench import make_adapter

    questions = make_adapter(benchmark).load(folder)
    videos = sorted({q.video for q in questions})
    missing = [v for v in videos if not v.exists()]
    listed = [v.relative_to(folder).as_posix() if v.is_relative_to(folder) else str(v) for v in missing]
    if missing:
        message = (
            f"{len(missing)} of {len(videos)} videos the questions need are missing under {folder}"
            f" (first {min(len(missing), MAX_LISTED)}: {listed[:MAX_LISTED]})"
        )
        if require_videos:
            raise InputError(folder, message)
        log.warning("%s: %s", benchmark, message)
    log.info("%s: %d questions, %d videos, %d missing", benchmark, len(questions), len(videos), len(missing))
    return {
        "questions": len(questions),
        "videos": len(videos),
        "videos_missing": len(missing),
        "missing_first": listed[:MAX_LISTED],
    }
