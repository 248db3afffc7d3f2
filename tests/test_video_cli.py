"""``actionmqa video`` verbs end to end on a tiny pattern-video tree and EK100-shaped CSVs."""

from __future__ import annotations

import argparse
import csv
import json

import pytest

from actionmqa.ek100.schema import SEGMENT_COLUMNS
from actionmqa.errors import InputError
from actionmqa.video import cli
from actionmqa.video.synthetic import write_pattern_tree

# (narration_id, participant_id, video_id, start, stop); P01_01 is 150 frames (last at 4.97 s)
ROWS = [
    ("P01_01_0", "P01", "P01_01", "00:00:00.00", "00:00:01.50"),
    ("P01_01_1", "P01", "P01_01", "00:00:04.00", "00:00:05.20"),  # runs past the end
    ("P02_101_0", "P02", "P02_101", "00:00:00.50", "00:00:02.00"),
]


def write_segments(path, rows=ROWS):
    """An EK100 segment CSV with all 15 columns; fields the video stage ignores are filler."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SEGMENT_COLUMNS)
        for narration_id, pid, vid, start, stop in rows:
            writer.writerow(
                [
                    narration_id,
                    pid,
                    vid,
                    start,
                    start,
                    stop,
                    1,
                    2,
                    "take cup",
                    "take",
                    0,
                    "cup",
                    3,
                    "['cup']",
                    "[3]",
                ]
            )
    return path


def run(*argv: str) -> None:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="stage", required=True))
    args = parser.parse_args(["video", *map(str, argv)])
    args.func(args)


def probe(video_root, segments, out) -> None:
    """``video probe`` of a tree of whole video files."""
    run("probe", "--video-root", video_root, "--layout", "whole", "--segments", segments, "--out", out)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    write_pattern_tree(root / "videos", {("P01", "P01_01"): 150, ("P02", "P02_101"): 90})
    return root


def test_probe_indexes_videos_and_lists_segments_past_the_end(tree, tmp_path):
    csv_path = write_segments(tmp_path / "EPIC_100_validation.csv")
    probe(tree / "videos", csv_path, tmp_path / "index.json")
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["layout"] == "whole" and index["n_videos"] == 2 and index["n_segments"] == 3
    assert index["videos"]["P01_01"] == {
        "participant_id": "P01",
        "fps": 30.0,
        "n_frames": 150,
        "duration_sec": 5.0,
        "width": 64,
        "height": 64,
        "n_files": 1,
    }
    assert index["n_past_end"] == 1
    (late,) = index["past_end"]
    assert (late["narration_id"], late["csv"], late["row"], late["stop_sec"]) == (
        "P01_01_1",
        "EPIC_100_validation.csv",
        1,
        5.2,
    )
    assert late["last_frame_sec"] == pytest.approx(149 / 30)


def test_chunk_then_probe_the_chunk_tree(tree, tmp_path):
    csv_path = write_segments(tmp_path / "segments.csv")
    run(
        "chunk",
        "--video-root",
        tree / "videos",
        "--out-root",
        tmp_path / "chunks",
        "--videos-from",
        csv_path,
        "--chunk-sec",
        2,
        "--fps",
        30,
    )
    assert sorted(p.name for p in (tmp_path / "chunks" / "P01" / "P01_01.MP4").iterdir()) == [
        "0.MP4",
        "2.MP4",
        "4.MP4",
    ]
    run(
        "probe",
        "--video-root",
        tmp_path / "chunks",
        "--layout",
        "chunks",
        "--chunk-sec",
        2,
        "--segments",
        csv_path,
        "--out",
        tmp_path / "index.json",
        "--backend",
        "decord",
    )
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["videos"]["P01_01"]["n_frames"] == 150 and index["videos"]["P01_01"]["n_files"] == 3
    assert index["videos"]["P02_101"]["n_files"] == 2 and index["n_past_end"] == 1


def test_probe_missing_video_names_the_file(tree, tmp_path):
    csv_path = write_segments(
        tmp_path / "s.csv", ROWS + [("P03_01_0", "P03", "P03_01", "00:00:00.00", "00:00:01.00")]
    )
    with pytest.raises(InputError, match="not found") as err:
        probe(tree / "videos", csv_path, tmp_path / "index.json")
    assert err.value.path == str(tree / "videos" / "P03" / "videos" / "P03_01.MP4")
    assert not (tmp_path / "index.json").exists()


def test_probe_finds_a_truncated_tail(tmp_path):
    layout = write_pattern_tree(tmp_path / "videos", {("P01", "P01_01"): 150}, faststart=True)
    path = layout.path("P01", "P01_01")
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])
    with pytest.raises(InputError, match="truncated") as err:
        probe(tmp_path / "videos", write_segments(tmp_path / "s.csv", ROWS[:1]), tmp_path / "i.json")
    assert err.value.path == str(path)


def test_probe_segment_starting_after_the_end_names_csv_line(tree, tmp_path):
    csv_path = write_segments(
        tmp_path / "s.csv", ROWS + [("P01_01_9", "P01", "P01_01", "00:00:07.00", "00:00:08.00")]
    )
    with pytest.raises(InputError, match="after the last frame") as err:
        probe(tree / "videos", csv_path, tmp_path / "index.json")
    assert (err.value.path, err.value.line, err.value.key) == (str(csv_path), 5, "start_timestamp")


def test_malformed_timestamp_names_csv_line_and_column(tree, tmp_path):
    csv_path = write_segments(tmp_path / "s.csv", [("P01_01_0", "P01", "P01_01", "00:00:00.00", "1.5")])
    with pytest.raises(InputError, match="HH:MM:SS") as err:
        probe(tree / "videos", csv_path, tmp_path / "index.json")
    assert (err.value.line, err.value.key) == (2, "stop_timestamp")


def test_benchmark_reports_ratios_and_identical_frames(tree, tmp_path):
    csv_path = write_segments(tmp_path / "s.csv")
    run(
        "benchmark",
        "--video-root",
        tree / "videos",
        "--segments",
        csv_path,
        "--frames",
        4,
        "--per-clip",
        "--repeats",
        1,
        "--out",
        tmp_path / "perf.json",
    )
    perf = json.loads((tmp_path / "perf.json").read_text())
    assert perf["n_clips"] == 3 and perf["frames_identical"] is True
    assert set(perf["readers"]) == {"pyav", "decord", "decord_per_clip"}
    assert perf["full_decode"]["frames"] == 240
    # keyframes every 15 frames; clip ids [5..39] from key 0, [123..145] from key 120 (clipped),
    # [20..54] from key 15: the floor decodes key..last of each
    assert perf["floor"]["frames"] == (39 - 0 + 1) + (145 - 120 + 1) + (54 - 15 + 1)
    for reader in perf["readers"].values():
        assert reader["x_floor"] == pytest.approx(reader["seconds"] / perf["floor"]["seconds"])
