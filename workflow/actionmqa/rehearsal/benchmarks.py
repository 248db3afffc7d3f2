"""The five benchmarks in their hub repositories' layouts and archive formats, in a local hub cache.

The records come from the toy benchmarks (``actionmqa.toybench``: each benchmark's real schema,
written as its host publishes it) on a small toy world; the stand-in is how each hub dataset
ships them, which ``bench.fetch`` undoes as lmms-eval does:

- EgoSchema and Perception Test: ``videos/`` packed in ``videos_chunked_NN.zip``;
- Video-MME: ``data/`` in ``videos_chunked_NN.zip``, ``subtitle/`` in ``subtitle.zip``;
- LongVideoBench: ``videos/`` as one tar cut in ``videos.tar.part.aa``, ``.ab``, ... (joined with
  ``cat``), ``subtitles/`` in ``subtitles.tar``;
- MVBench: the unpacked ``video`` branch, file by file.

Every other file (parquet, JSON, README) is a repository file as it is, except that each question
file keeps only its first rows (``QUESTIONS_PER_FILE``): the rehearsal evaluates every model on
every benchmark, and a handful of questions each proves as much as hundreds.
"""

from __future__ import annotations

import io
import json
import logging
import tarfile
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from actionmqa.hub import is_commit
from actionmqa.rehearsal.hub_cache import content_commit, folder_files, populate_cache
from actionmqa.toybench.generate import generate_benchmarks
from actionmqa.toyworld.config import WorldConfig
from actionmqa.toyworld.generate import generate_world

log = logging.getLogger(__name__)

#: The smallest toy world whose validation split supports every toy benchmark's questions.
WORLD = WorldConfig(seed=0, n_train=10, n_val=20, size=32, fps=30)
#: Rows kept of each question file (parquet table, JSON list): MVBench has one file per task (7).
QUESTIONS_PER_FILE = {"egoschema": 8, "perceptiontest": 8, "longvideobench": 8, "videomme": 8, "mvbench": 2}


@dataclass(frozen=True)
class Archive:
    """Files under ``folder`` packed as ``name`` (``{n:02d}`` numbers zip chunks; ``.part.`` splits a tar)."""

    folder: str
    name: str
    pieces: int = 1


ARCHIVES: dict[str, tuple[Archive, ...]] = {
    "egoschema": (Archive("videos/", "videos_chunked_{n:02d}.zip", 2),),
    "perceptiontest": (Archive("videos/", "videos_chunked_{n:02d}.zip", 2),),
    "videomme": (Archive("data/", "videos_chunked_{n:02d}.zip", 2), Archive("subtitle/", "subtitle.zip")),
    "longvideobench": (Archive("videos/", "videos.tar.part.", 3), Archive("subtitles/", "subtitles.tar")),
    "mvbench": (),
}


def zip_bytes(members: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as handle:
        for name, data in members.items():
            handle.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def tar_bytes(members: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1704067200, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _split(items: list, pieces: int) -> list[list]:
    step = -(-len(items) // pieces)
    return [items[i : i + step] for i in range(0, len(items), step)]


def first_rows(name: str, data: bytes, n: int) -> bytes:
    """A question file's first ``n`` rows, in its own format (parquet keeps its schema and metadata)."""
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(data))
        buffer = io.BytesIO()
        pq.write_table(table.slice(0, n), buffer)
        return buffer.getvalue()
    records = json.loads(data)
    if not isinstance(records, list):
        raise ValueError(f"{name}: expected a JSON list of questions")
    return (json.dumps(records[:n], indent=2, ensure_ascii=False) + "\n").encode()


def trim(files: Mapping[str, bytes], archives: tuple[Archive, ...], n: int) -> dict[str, bytes]:
    """``files`` with each question file (parquet, or JSON outside the archived folders) cut to ``n`` rows."""
    packed = tuple(archive.folder for archive in archives)
    return {
        name: first_rows(name, data, n)
        if name.endswith(".parquet") or (name.endswith(".json") and not name.startswith(packed))
        else data
        for name, data in files.items()
    }


def pack(files: Mapping[str, bytes], archives: tuple[Archive, ...]) -> dict[str, bytes]:
    """A benchmark folder (path -> bytes) as its hub repository holds it."""
    repository = dict(files)
    for archive in archives:
        members = {name: repository.pop(name) for name in sorted(files) if name.startswith(archive.folder)}
        if not members:
            raise ValueError(f"nothing under {archive.folder} to pack as {archive.name}")
        if archive.name.endswith(".zip"):
            chunks = _split(sorted(members), archive.pieces)
            for n, chunk in enumerate(chunks, start=1):
                repository[archive.name.format(n=n)] = zip_bytes({name: members[name] for name in chunk})
        elif archive.name.endswith(".tar"):
            repository[archive.name] = tar_bytes(members)
        else:  # one tar, cut in parts as `split` names them
            data = tar_bytes(members)
            step = -(-len(data) // archive.pieces)
            for n, start in enumerate(range(0, len(data), step)):
                repository[f"{archive.name}a{chr(ord('a') + n)}"] = data[start : start + step]
    return repository


def cache_benchmarks(cache: Path, sources: Mapping[str, Mapping[str, str]], seed: int = 0) -> dict[str, str]:
    """Write the stand-in of every benchmark in ``sources`` (name -> {hub, revision}) into the hub
    cache as a dataset repository; returns each one's commit."""
    commits = {}
    with tempfile.TemporaryDirectory() as tmp:
        world, benchmarks = Path(tmp) / "world", Path(tmp) / "benchmarks"
        generate_world(world, WORLD)
        generate_benchmarks(world, benchmarks, seed)
        for name, source in sources.items():
            files = trim(folder_files(benchmarks / name), ARCHIVES[name], QUESTIONS_PER_FILE[name])
            repository = pack(files, ARCHIVES[name])
            revision = source["revision"]
            commit = revision if is_commit(revision) else content_commit(repository)
            refs = () if is_commit(revision) else (revision,)
            populate_cache(cache, source["hub"], repository, commit=commit, repo_type="dataset", refs=refs)
            commits[name] = commit
            log.info("%s: %s@%s, %d files", name, source["hub"], revision, len(repository))
    return commits
