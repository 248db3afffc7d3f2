"""Both on-disk layouts and the shared frame routing (spec llavaction §5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from actionmqa.errors import InputError
from actionmqa.video.layout import (
    ChunkedLayout,
    FrameLocation,
    VideoPiece,
    WholeVideoLayout,
    locate_frame,
    make_layout,
)


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_whole_layout_uses_the_official_download_path(tmp_path):
    video = _touch(tmp_path / "P01" / "videos" / "P01_11.MP4")
    assert WholeVideoLayout(tmp_path).pieces("P01", "P01_11") == [VideoPiece(video, 0)]


def test_whole_layout_missing_video_names_the_path(tmp_path):
    with pytest.raises(InputError, match="not found") as err:
        WholeVideoLayout(tmp_path).pieces("P01", "P01_11")
    assert err.value.path == str(tmp_path / "P01" / "videos" / "P01_11.MP4")


def test_chunked_layout_lists_chunks_in_numeric_order(tmp_path):
    folder = tmp_path / "P01" / "P01_11.MP4"
    for start in (0, 5, 10):  # as text, "10" would sort before "5"
        _touch(folder / f"{start}.MP4")
    _touch(folder / "notes.txt")
    pieces = ChunkedLayout(tmp_path, chunk_sec=5).pieces("P01", "P01_11")
    assert [(p.path.name, p.start_sec) for p in pieces] == [("0.MP4", 0), ("5.MP4", 5), ("10.MP4", 10)]


def test_chunked_layout_gap_names_the_missing_chunk(tmp_path):
    folder = tmp_path / "P01" / "P01_11.MP4"
    for start in (0, 30):
        _touch(folder / f"{start}.MP4")
    with pytest.raises(InputError, match="chunk missing") as err:
        ChunkedLayout(tmp_path).pieces("P01", "P01_11")
    assert err.value.path == str(folder / "15.MP4")


def test_chunked_layout_absent_video_names_its_first_chunk(tmp_path):
    with pytest.raises(InputError, match="chunks not found") as err:
        ChunkedLayout(tmp_path, chunk_sec=10).pieces("P02", "P02_101")
    assert err.value.path == str(tmp_path / "P02" / "P02_101.MP4" / "0.MP4")


CHUNKS = [VideoPiece(Path(f"{s}.MP4"), s) for s in (0, 15, 30)]


@pytest.mark.parametrize(
    ("frame", "fps", "expected"),
    [
        (0, 30, FrameLocation(0, 0)),
        (449, 30, FrameLocation(0, 449)),
        (450, 30, FrameLocation(1, 0)),  # rel = abs - 15 * 30
        (1000, 30, FrameLocation(2, 100)),
        (5000, 30, FrameLocation(2, 4100)),  # past the last chunk's start: stays in the last chunk
        (449, 29.97, FrameLocation(1, 0)),  # chunk 15 starts at int(15 * 29.97) = 449
        (448, 29.97, FrameLocation(0, 448)),
        (900, 29.97, FrameLocation(2, 1)),  # int(30 * 29.97) = 899
    ],
)
def test_locate_frame_routes_to_chunk_and_relative_id(frame, fps, expected):
    assert locate_frame(CHUNKS, frame, fps) == expected


def test_locate_frame_in_a_whole_video_is_the_identity():
    assert locate_frame([VideoPiece(Path("v.MP4"), 0)], 123456, 59.94) == FrameLocation(0, 123456)


def test_make_layout_by_kind(tmp_path):
    assert make_layout("whole", tmp_path) == WholeVideoLayout(tmp_path)
    assert make_layout("chunks", tmp_path, chunk_sec=10) == ChunkedLayout(tmp_path, 10)
    with pytest.raises(ValueError, match="unknown video layout"):
        make_layout("frames", tmp_path)
