"""Output files and folders get the umask's permissions, as any tool's outputs do, not tempfile's 0600."""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from actionmqa.bench.fetch import extract_zip
from actionmqa.hub import link_or_copy
from actionmqa.io import atomic_dir, atomic_open, temp_sibling, write_json


@pytest.fixture(params=[0o022, 0o027])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_outputs_are_readable_as_the_umask_allows(tmp_path: Path, umask: int) -> None:
    write_json(tmp_path / "summary.json", {"accuracy": 0.5})
    with atomic_open(tmp_path / "nested" / "table.csv") as handle:
        handle.write("a,b\n")
    assert mode(tmp_path / "summary.json") == 0o666 & ~umask
    assert mode(tmp_path / "nested" / "table.csv") == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["nested", "summary.json", "table.csv"]


def test_temp_sibling_is_a_new_hidden_file_beside_the_target(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "out" / "model"
    first, second = temp_sibling(target), temp_sibling(target)
    assert first != second and first.parent == second.parent == target.parent
    assert first.name.startswith(".model.") and first.name.endswith(".tmp")
    assert first.is_file() and first.stat().st_size == 0 and mode(first) == 0o666 & ~umask
    assert not target.exists()


def test_atomic_folders_are_readable_as_the_umask_allows(tmp_path: Path, umask: int) -> None:
    with atomic_dir(tmp_path / "bench") as staging:
        (staging / "clips").mkdir()
    assert mode(tmp_path / "bench") == 0o777 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench"]


def test_a_failed_write_leaves_neither_output_nor_temporary(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="killed"), atomic_open(tmp_path / "x.json") as handle:
        handle.write("{")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_extracted_members_and_copied_files_follow_the_umask(tmp_path: Path, umask: int) -> None:
    archive = tmp_path / "videos.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("clips/a.mp4", b"frames")
    extract_zip(archive, tmp_path / "bench")
    assert (tmp_path / "bench" / "clips" / "a.mp4").read_bytes() == b"frames"
    assert mode(tmp_path / "bench" / "clips" / "a.mp4") == 0o666 & ~umask

    source = tmp_path / "blob"
    source.write_bytes(b"weights")
    assert link_or_copy(source, tmp_path / "model" / "weights.bin") in {"linked", "copied"}
    assert (tmp_path / "model" / "weights.bin").read_bytes() == b"weights"
    assert [p.name for p in (tmp_path / "model").iterdir()] == ["weights.bin"]
