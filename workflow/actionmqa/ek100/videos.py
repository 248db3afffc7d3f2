"""EK100 videos in the official download layout: check a user's root, or fetch what it lacks.

The layout is the one ``epic-kitchens-download-scripts`` (``epic_downloader.py --videos``) writes:
``<root>/<Pxx>/videos/<video_id>.MP4`` (upper-case extension). The same scripts fetch from the
University of Bristol data repository:

- EPIC-KITCHENS-55 videos (``PXX_YY``, every validation video):
  ``<epic_55_url>/videos/<train|test>/<Pxx>/<video_id>.MP4``, the EPIC-55 split of each video
  being listed in the scripts' ``data/epic_55_splits.csv``;
- extension videos (``PXX_1YY``): ``<epic_100_url>/<Pxx>/videos/<video_id>.MP4``;

and check each against the scripts' ``data/md5.csv`` (``md5,file_remote_path,version`` with
version ``55`` or ``100``). Videos are hundreds of GB, so a file already in place is kept
without re-hashing; each download goes through :func:`actionmqa.download.fetch_file`: retried,
resumed from ``<video>.MP4.part`` after a cut or a killed job, and renamed into place only once
its md5 matches, so a present file is a finished one.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from actionmqa.download import RetryPolicy, fetch_file
from actionmqa.errors import InputError

log = logging.getLogger(__name__)

EPIC_55_URL = "https://data.bris.ac.uk/datasets/3h91syskeag572hl6tvuovwv4d"
EPIC_100_URL = "https://data.bris.ac.uk/datasets/2g1n6qdydwa9u22shpxqzp0t8m"
#: ``data/`` of epic-kitchens-download-scripts at a commit whose downloader reads these tables.
TABLES_URL = (
    "https://raw.githubusercontent.com/epic-kitchens/epic-kitchens-download-scripts/"
    "93d89a783194fd8fee54e39316566cfb912597c7/data"
)
SPLITS_FILE = "epic_55_splits.csv"
MD5_FILE = "md5.csv"
#: Missing videos named in an error (the count is always complete).
MAX_LISTED = 20

Video = tuple[str, str]  # (participant_id, video_id)


def video_path(root: Path, participant_id: str, video_id: str) -> Path:
    return Path(root) / participant_id / "videos" / f"{video_id}.MP4"


def is_extension(video_id: str) -> bool:
    """``PXX_1YY`` (three digits after the underscore) was recorded for EPIC-KITCHENS-100."""
    return len(video_id.split("_", 1)[-1]) == 3


def _listing(root: Path, videos: Sequence[Video]) -> str:
    shown = [video_path(root, *v).relative_to(root).as_posix() for v in videos[:MAX_LISTED]]
    more = f" and {len(videos) - len(shown)} more" if len(videos) > len(shown) else ""
    return ", ".join(shown) + more


def check_videos(root: Path, videos: Iterable[Video]) -> dict[str, Any]:
    """Every needed video present (and non-empty) under ``root``; else one error naming the root,
    the expected layout, the first missing files and how many there are."""
    root = Path(root)
    videos = sorted(set(videos))
    present: dict[str, dict[str, Any]] = {}
    missing: list[Video] = []
    lower_case: list[Video] = []
    for participant_id, video_id in videos:
        path = video_path(root, participant_id, video_id)
        if path.is_file() and path.stat().st_size > 0:
            present[video_id] = {"participant_id": participant_id, "bytes": path.stat().st_size}
            continue
        missing.append((participant_id, video_id))
        if path.with_suffix(".mp4").is_file():
            lower_case.append((participant_id, video_id))
    if missing:
        hint = (
            f"; {len(lower_case)} exist as .mp4 (lower case): the official layout spells it .MP4"
            if lower_case
            else ""
        )
        raise InputError(
            root,
            f"{len(missing)} of {len(videos)} videos the annotations need are missing or empty in the"
            f" official layout <root>/<Pxx>/videos/<video_id>.MP4: {_listing(root, missing)}{hint}."
            " Fetch them with epic-kitchens-download-scripts (epic_downloader.py --videos"
            f" --specific-videos {','.join(v for _, v in missing[:MAX_LISTED])}"
            f"{',...' if len(missing) > MAX_LISTED else ''}) or set videos.download.enabled: true",
            key="videos.root",
        )
    total = sum(v["bytes"] for v in present.values())
    log.info("all %d videos present under %s (%.1f GB)", len(present), root, total / 1e9)
    return {"videos": len(present), "bytes": total, "by_video": present}


# ---------------------------------------------------------------- download


def _read_bytes(url: str, policy: RetryPolicy | None) -> bytes:
    """A small remote file's bytes, fetched as every download is (``file://`` reads a local checkout)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        try:
            return Path(unquote(parsed.path)).read_bytes()
        except OSError as exc:
            raise InputError(url, f"cannot read ({exc.strerror})") from exc
    with tempfile.TemporaryDirectory() as scratch:
        return fetch_file(url, Path(scratch) / Path(parsed.path).name, policy=policy).path.read_bytes()


def _read_csv(
    url: str, columns: Sequence[str], policy: RetryPolicy | None
) -> tuple[list[dict[str, str]], str]:
    """Rows of a small remote CSV and its sha256."""
    data = _read_bytes(url, policy)
    reader = csv.DictReader(io.StringIO(data.decode("utf-8")))
    absent = [c for c in columns if c not in (reader.fieldnames or [])]
    if absent:
        raise InputError(url, f"missing column(s) {', '.join(absent)}; found {reader.fieldnames}")
    return list(reader), hashlib.sha256(data).hexdigest()


def read_tables(
    tables_url: str, policy: RetryPolicy | None = None
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """``({video_id: EPIC-55 split}, {remote path: md5}, {table: sha256})`` from the scripts' data."""
    base = tables_url.rstrip("/")
    split_rows, split_sha = _read_csv(f"{base}/{SPLITS_FILE}", ("video_id", "split"), policy)
    md5_rows, md5_sha = _read_csv(f"{base}/{MD5_FILE}", ("md5", "file_remote_path", "version"), policy)
    splits = {row["video_id"]: row["split"] for row in split_rows}
    md5 = {row["file_remote_path"]: row["md5"] for row in md5_rows if row["version"] in ("55", "100")}
    return splits, md5, {SPLITS_FILE: split_sha, MD5_FILE: md5_sha}


def remote_path(participant_id: str, video_id: str, epic_55_splits: Mapping[str, str]) -> str:
    """The video's path under its dataset's base URL (and its key in ``md5.csv``)."""
    if is_extension(video_id):
        return f"{participant_id}/videos/{video_id}.MP4"
    split = epic_55_splits.get(video_id)
    if split is None:
        raise InputError(SPLITS_FILE, "an EPIC-55 video that the split table does not list", key=video_id)
    return f"videos/{split}/{participant_id}/{video_id}.MP4"


def download_videos(
    root: Path,
    videos: Iterable[Video],
    *,
    epic_55_url: str = EPIC_55_URL,
    epic_100_url: str = EPIC_100_URL,
    tables_url: str = TABLES_URL,
    policy: RetryPolicy | None = None,
) -> dict[str, Any]:
    """Fetch every needed video that ``root`` lacks into the official layout, md5-checked.

    A video cut off (or killed) part-way resumes from its ``.part`` file on the next call.
    """
    root = Path(root)
    videos = sorted(set(videos))
    todo = [v for v in videos if not video_path(root, *v).is_file()]
    log.info("%d of %d videos to download into %s", len(todo), len(videos), root)
    downloaded: list[str] = []
    unverified: list[str] = []
    tables: dict[str, str] = {}
    if todo:
        splits, md5, tables = read_tables(tables_url, policy)
        for number, (participant_id, video_id) in enumerate(todo, start=1):
            remote = remote_path(participant_id, video_id, splits)
            base = epic_100_url if is_extension(video_id) else epic_55_url
            expected = md5.get(remote)
            if expected is None:
                unverified.append(video_id)
                log.warning("%s: no md5 in %s; downloading it unverified", remote, MD5_FILE)
            log.info("video %d of %d: %s", number, len(todo), video_id)
            fetch_file(
                f"{base.rstrip('/')}/{remote}",
                video_path(root, participant_id, video_id),
                md5=expected,
                policy=policy,
            )
            downloaded.append(video_id)
    return {"downloaded": downloaded, "unverified": unverified, "tables_sha256": tables}
