"""Chunking whole videos and reading clips back through the chunk layout."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from actionmqa.errors import InputError
from actionmqa.video import pyav_decoder
from actionmqa.video.chunking import chunk_video, chunk_video_tree, output_size, resample
from actionmqa.video.layout import ChunkedLayout
from actionmqa.video.readers import ClipReader, ClipRequest
from actionmqa.video.synthetic import read_pattern_index, write_pattern_tree, write_pattern_video

CHUNK_SEC = 2  # 60 frames per chunk at 30 fps keeps the fixtures tiny
VIDEOS = {("P01", "P01_01"): 200, ("P02", "P02_101"): 150}


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """A whole-video tree (P01_01 at 30 fps, P02_101 at 50 fps) and its 2 s chunk tree."""
    root = tmp_path_factory.mktemp("chunking")
    whole = write_pattern_tree(root / "whole", {("P01", "P01_01"): 200})
    write_pattern_tree(root / "whole", {("P02", "P02_101"): 150}, fps=50)
    chunk_video_tree(root / "whole", root / "chunks", sorted(VIDEOS), chunk_sec=CHUNK_SEC, fps=30)
    return whole, ChunkedLayout(root / "chunks", CHUNK_SEC)


def indices(frames: np.ndarray) -> list[int]:
    return [read_pattern_index(frame) for frame in frames]


def frame_count(path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_tree_has_avion_layout_and_full_chunks(trees):
    _, chunks = trees
    p01 = chunks.pieces("P01", "P01_01")
    assert [p.path.name for p in p01] == ["0.MP4", "2.MP4", "4.MP4", "6.MP4"]
    assert [frame_count(p.path) for p in p01] == [60, 60, 60, 20]
    # 150 frames at 50 fps = 3 s -> 90 frames at 30 fps
    assert [frame_count(p.path) for p in chunks.pieces("P02", "P02_101")] == [60, 30]
    assert not [p for p in chunks.root.rglob(".*")], "no staging folders left behind"


@pytest.mark.parametrize("backend", ["pyav", "decord"])
def test_clip_across_a_chunk_boundary(trees, backend):
    _, chunks = trees
    # frames 45..75: midpoints 48, 56 in chunk 0 and 63, 71 in chunk 2 (rel 3, 11)
    (clip,) = ClipReader(chunks, backend).clips([ClipRequest("b", "P01", "P01_01", 1.5, 2.5, 4)])
    assert clip.frame_ids.tolist() == [48, 56, 63, 71]
    assert indices(clip.frames) == [48, 56, 63, 71]


def test_chunk_read_equals_whole_read(trees):
    whole, chunks = trees
    requests = [
        ClipRequest(f"k{i}", "P01", "P01_01", start, start + length, 8)
        for i, (start, length) in enumerate([(0.0, 1.0), (1.9, 0.3), (2.5, 3.0), (5.5, 1.0)])
    ]
    from_whole = {r.key: f for r, f in ClipReader(whole, "pyav").read(requests)}
    from_chunks = {r.key: f for r, f in ClipReader(chunks, "decord").read(requests)}
    for key, frames in from_whole.items():
        assert indices(frames) == indices(from_chunks[key]), key
        # re-encoding at crf 23 changes pixels a little, never the picture
        assert np.abs(frames.astype(int) - from_chunks[key]).mean() < 3.0


def test_resampled_rate_shows_nearest_source_frames(trees):
    _, chunks = trees
    # at 30 fps frames 33, 41, 48, 56; output k shows 50 fps source frame round(k * 5 / 3)
    (clip,) = ClipReader(chunks, "pyav").clips([ClipRequest("r", "P02", "P02_101", 1.0, 2.0, 4)])
    assert clip.fps == 30
    assert indices(clip.frames) == [55, 68, 80, 93]


def test_chunked_clip_past_the_end_is_clipped(trees):
    _, chunks = trees
    reader = ClipReader(chunks, "pyav")
    (clip,) = reader.clips([ClipRequest("end", "P01", "P01_01", 6.0, 8.0, 2)])
    # 200 frames in all: clipped at frame 199 -> edges 180, 189.5, 199 -> midpoints 184.75, 194.25
    assert indices(clip.frames) == [184, 194]
    assert reader.stats.clipped == ["end"]


def test_each_chunk_is_opened_once(trees, monkeypatch):
    _, chunks = trees
    opened = []

    class CountingDecoder(pyav_decoder.PyAVDecoder):
        def __init__(self, path, threads=1):
            opened.append(path.name)
            super().__init__(path, threads)

    monkeypatch.setattr(pyav_decoder, "PyAVDecoder", CountingDecoder)
    spans = [(0.1, 1.0), (0.5, 4.5), (1.0, 2.5), (3.0, 3.5), (4.1, 6.5), (6.2, 6.6)]
    requests = [ClipRequest(f"s{i}", "P01", "P01_01", a, b, 4) for i, (a, b) in enumerate(spans)]
    list(ClipReader(chunks, "pyav").read(requests))
    assert sorted(opened) == ["0.MP4", "2.MP4", "4.MP4", "6.MP4"]


def test_short_side_resize(tmp_path):
    src = write_pattern_video(tmp_path / "wide.MP4", 40, width=128, height=64)
    (chunk,) = chunk_video(src, tmp_path / "out.MP4", chunk_sec=15, fps=30, short_side=32)
    with av.open(str(chunk)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert frames[0].shape == (32, 64, 3)
    assert indices(np.stack(frames)) == list(range(40))


def test_resample_picks_nearest_source_frame():
    assert [f for _, f in resample(range(10), Fraction(60), 30)] == [0, 2, 4, 6, 8]
    assert [f for _, f in resample(range(4), Fraction(30), 30)] == [0, 1, 2, 3]
    # 25 -> 30 fps repeats a frame: round(k * 5 / 6) with halves to even (k=3 -> 2)
    assert [f for _, f in resample(range(6), Fraction(25), 30)] == [0, 1, 2, 2, 3, 4, 5]
    assert [k for k, _ in resample(range(6), Fraction(25), 30)] == list(range(7))


def test_output_size_keeps_aspect_with_even_sides():
    assert output_size(1920, 1080, 512) == (910, 512)
    assert output_size(456, 256, 128) == (228, 128)
    assert output_size(65, 64, None) == (64, 64)
    with pytest.raises(ValueError, match="even"):
        output_size(1920, 1080, 511)


def test_missing_source_names_path(tmp_path):
    with pytest.raises(InputError, match="not found") as err:
        chunk_video_tree(tmp_path, tmp_path / "chunks", [("P07", "P07_01")])
    assert err.value.path == str(tmp_path / "P07" / "videos" / "P07_01.MP4")


def test_truncated_source_leaves_no_output(tmp_path):
    src = write_pattern_video(tmp_path / "cut.MP4", 150, faststart=True)
    src.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    out = tmp_path / "chunks" / "cut.MP4"
    with pytest.raises(InputError, match="truncated") as err:
        chunk_video(src, out, chunk_sec=CHUNK_SEC)
    assert err.value.path == str(src)
    assert list((tmp_path / "chunks").iterdir()) == []
