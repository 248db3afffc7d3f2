"""ClipReader on frame-numbered H.264 videos: exact frame identity, both backends, errors."""

from __future__ import annotations

import shutil
from fractions import Fraction

import av
import numpy as np
import pytest

from actionmqa.errors import InputError
from actionmqa.video import pyav_decoder
from actionmqa.video.decoders import decoder_factory
from actionmqa.video.readers import ClipReader, ClipRequest
from actionmqa.video.synthetic import read_pattern_index, write_pattern_tree

BACKENDS = ("pyav", "decord")
NTSC = Fraction(30000, 1001)


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    """Two 30 fps videos (5 s, 4 s) and one at 29.97 fps; GOP 15 with B-frames."""
    root = tmp_path_factory.mktemp("videos")
    write_pattern_tree(root, {("P03", "P03_04"): 120}, fps=NTSC, keyint=20, bframes=3)
    return write_pattern_tree(root, {("P01", "P01_01"): 150, ("P02", "P02_101"): 120})


def indices(frames: np.ndarray) -> list[int]:
    return [read_pattern_index(frame) for frame in frames]


def request(key, start, end, n=4, video=("P01", "P01_01")) -> ClipRequest:
    return ClipRequest(key, video[0], video[1], start, end, n)


@pytest.mark.parametrize("backend", BACKENDS)
def test_clip_shows_exactly_the_segment_midpoint_frames(layout, backend):
    ((req, frames),) = ClipReader(layout, backend).read([request("a", 1.0, 2.0)])
    assert req.key == "a"
    assert frames.shape == (4, 64, 64, 3) and frames.dtype == np.uint8
    assert indices(frames) == [33, 41, 48, 56]


@pytest.mark.parametrize("backend", BACKENDS)
def test_fps_is_read_from_the_file(layout, backend):
    (clip,) = ClipReader(layout, backend).clips([request("n", 1.0, 2.0, n=3, video=("P03", "P03_04"))])
    assert clip.fps == pytest.approx(float(NTSC))
    # frames round(29.97) = 30 to round(59.94) = 60 in 3 segments: 35, 45, 55
    assert clip.frame_ids.tolist() == [35, 45, 55]
    assert indices(clip.frames) == [35, 45, 55]


def _many_requests() -> list[ClipRequest]:
    rng = np.random.default_rng(7)
    videos = [("P01", "P01_01", 4.9), ("P02", "P02_101", 3.9), ("P03", "P03_04", 3.9)]
    out = []
    for i in range(24):
        pid, vid, length = videos[i % 3]
        start = float(rng.uniform(0, length - 0.2))
        end = float(min(length, start + rng.uniform(0.1, 2.5)))
        out.append(ClipRequest(f"c{i:02d}", pid, vid, start, end, int(rng.integers(1, 9))))
    return out


def test_backends_return_identical_frames(layout):
    requests = _many_requests()
    pyav = list(ClipReader(layout, "pyav").clips(requests))
    decord = list(ClipReader(layout, "decord").clips(requests))
    assert [c.request.key for c in pyav] == [c.request.key for c in decord]
    for a, b in zip(pyav, decord, strict=True):
        assert np.array_equal(a.frames, b.frames), a.request.key
        assert indices(a.frames) == a.frame_ids.tolist()


def test_clips_come_grouped_by_video_and_sorted_by_start(layout):
    requests = _many_requests()
    reader = ClipReader(layout, "pyav")
    order = [(r.participant_id, r.start_sec) for r, _ in reader.read(requests[::-1])]
    assert order == sorted(order)
    assert reader.stats.n_clips == len(requests) and reader.stats.clipped == []


def test_pyav_random_access_matches_decoding_everything(layout):
    path = layout.path("P03", "P03_04")
    with av.open(str(path)) as container:
        everything = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    decoder = decoder_factory("pyav")(path)
    rng = np.random.default_rng(1)
    for _ in range(40):  # unsorted, repeated, backwards and forwards jumps
        ids = rng.integers(0, len(everything), int(rng.integers(1, 7))).tolist()
        assert np.array_equal(decoder.get(ids), everything[ids]), ids
    decoder.close()


def test_each_video_is_opened_once(layout, monkeypatch):
    opened = []

    class CountingDecoder(pyav_decoder.PyAVDecoder):
        def __init__(self, path, threads=1):
            opened.append(path.name)
            super().__init__(path, threads)

    monkeypatch.setattr(pyav_decoder, "PyAVDecoder", CountingDecoder)
    list(ClipReader(layout, "pyav").read(_many_requests()))
    assert sorted(opened) == ["P01_01.MP4", "P02_101.MP4", "P03_04.MP4"]

    # one clip per call, as training loaders ask: recent videos stay open between calls
    opened.clear()
    with ClipReader(layout, "pyav", max_open_videos=2) as reader:
        for req in _many_requests()[:6]:  # videos P01, P02, P03, P01, P02, P03
            (clip,) = reader.clips([req])
            assert indices(clip.frames) == clip.frame_ids.tolist()
    assert opened == ["P01_01.MP4", "P02_101.MP4", "P03_04.MP4"] * 2  # 2 open < 3 in rotation
    opened.clear()
    with ClipReader(layout, "pyav", max_open_videos=3) as reader:
        for req in _many_requests()[:6]:
            list(reader.read([req]))
    assert opened == ["P01_01.MP4", "P02_101.MP4", "P03_04.MP4"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_clip_past_the_end_is_clipped_and_counted(layout, backend):
    reader = ClipReader(layout, backend)
    clips = list(reader.clips([request("late", 4.0, 6.0), request("fine", 1.0, 2.0)]))
    late = next(c for c in clips if c.request.key == "late")
    # end clipped to the last frame, 149 / 30 s: frames 120..149 in 4 segments
    assert late.clipped and late.end_sec == pytest.approx(149 / 30)
    assert indices(late.frames) == [123, 130, 138, 145]
    assert reader.stats.clipped == ["late"] and reader.stats.n_clips == 2


def test_clip_starting_after_the_end_names_file_and_key(layout):
    with pytest.raises(InputError, match="after the video's last frame") as err:
        list(ClipReader(layout, "pyav").read([request("gone", 6.0, 7.0)]))
    assert err.value.path == str(layout.path("P01", "P01_01")) and err.value.key == "gone"


@pytest.mark.parametrize("backend", BACKENDS)
def test_missing_video_names_path_and_key(layout, backend):
    with pytest.raises(InputError, match="not found") as err:
        list(ClipReader(layout, backend).read([request("x", 1.0, 2.0, video=("P09", "P09_01"))]))
    assert err.value.path == str(layout.path("P09", "P09_01")) and err.value.key == "x"


@pytest.fixture(params=[False, True], ids=["moov-at-end", "faststart"])
def truncated_layout(request, tmp_path):
    """A video cut to half its bytes: unopenable (index at the end) or short (index first)."""
    layout = write_pattern_tree(tmp_path, {("P05", "P05_01"): 150}, faststart=request.param)
    path = layout.path("P05", "P05_01")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return layout


@pytest.mark.parametrize("backend", BACKENDS)
def test_truncated_video_names_path_and_key(truncated_layout, backend):
    late = request("cut", 3.5, 4.9, video=("P05", "P05_01"))
    with pytest.raises(InputError, match="truncated|cannot open") as err:
        list(ClipReader(truncated_layout, backend).read([late]))
    assert err.value.path == str(truncated_layout.path("P05", "P05_01")) and err.value.key == "cut"


def test_unreadable_file_names_path(tmp_path):
    layout = write_pattern_tree(tmp_path, {("P06", "P06_01"): 10})
    shutil.copyfile(__file__, layout.path("P06", "P06_01"))
    with pytest.raises(InputError, match="cannot open"):
        list(ClipReader(layout, "pyav").read([request("t", 0.0, 0.2, video=("P06", "P06_01"))]))


def test_resize_is_identical_across_backends(layout):
    requests = _many_requests()[:6]
    pyav = [f for _, f in ClipReader(layout, "pyav", size=32).read(requests)]
    decord = [f for _, f in ClipReader(layout, "decord", size=32).read(requests)]
    for a, b in zip(pyav, decord, strict=True):
        assert a.shape[1:] == (32, 32, 3)
        assert np.array_equal(a, b)


def test_frame_times_are_relative_to_the_clip_start(layout):
    (clip,) = ClipReader(layout, "pyav").clips([request("a", 1.0, 2.0)])
    assert clip.frame_times == pytest.approx([0.1, 11 / 30, 0.6, 26 / 30])


def test_reversed_span_names_the_clip(layout):
    with pytest.raises(InputError, match="ends before it starts") as err:
        list(ClipReader(layout, "pyav").read([request("rev", 2.0, 1.0)]))
    assert err.value.key == "rev"


def test_source_rejects_ids_outside_the_video(layout):
    from actionmqa.video.source import VideoSource

    with VideoSource(layout.pieces("P01", "P01_01"), decoder_factory("pyav")) as source:
        assert source.info.n_frames == 150 and source.info.last_frame_sec == pytest.approx(149 / 30)
        assert indices(source.frames([149, 0])) == [149, 0]
        with pytest.raises(ValueError, match=r"0\.\.149"):
            source.frames([150])
