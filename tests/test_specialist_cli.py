"""``actionmqa specialist features | fit | validate`` end to end on a tiny rendered kitchen."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import av
import numpy as np
import pytest

from actionmqa.ek100.schema import NOUN_CLASSES_FILE, SEGMENT_COLUMNS, SPLIT_FILES, VERB_CLASSES_FILE
from actionmqa.ek100.timestamps import format_timestamp, nominal_frames
from actionmqa.errors import InputError
from actionmqa.io import sha256_file
from actionmqa.specialist.cli import register
from actionmqa.specialist.featurefile import load_features

FPS, SIZE, CLIP_SEC = 30, 32, 1.0
VERBS = {0: "take", 1: "put", 2: "wash"}  # take = slide right, put = its reverse, wash = stay
NOUNS = {0: "tap", 1: "plate"}
COLOURS = {0: (230, 40, 40), 1: (40, 40, 230)}
VIDEOS = {"train": ("P01", "P01_01"), "validation": ("P02", "P02_01")}
CLIPS_PER_VIDEO = 12


def run_cli(*argv: str | Path) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="stage"))
    args = parser.parse_args(["specialist", *map(str, argv)])
    args.func(args)


def clip_frames(verb: int, noun: int) -> list[np.ndarray]:
    n = round(CLIP_SEC * FPS)
    frames = []
    for t in range(n):
        frame = np.full((SIZE, SIZE, 3), 128, np.uint8)
        col = 14 if verb == 2 else round(t * (SIZE - 8) / (n - 1))
        frame[12:20, col : col + 8] = COLOURS[noun]
        frames.append(frame)
    return frames[::-1] if verb == 1 else frames


def write_video(path: Path, labels: list[tuple[int, int]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width = stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = 1  # intra only and lossless: a reversed clip decodes reversed
        stream.options = {"qp": "0"}
        for verb, noun in labels:
            for frame in clip_frames(verb, noun):
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def segment_row(participant: str, video: str, index: int, verb: int, noun: int) -> list[str]:
    start, stop = index * CLIP_SEC + 0.1, (index + 1) * CLIP_SEC - 0.1
    start_frame, stop_frame = nominal_frames(video, start, stop)
    return [
        f"{video}_{index}", participant, video, format_timestamp(start, 3), format_timestamp(start),
        format_timestamp(stop), str(start_frame), str(stop_frame), f"{VERBS[verb]} {NOUNS[noun]}",
        VERBS[verb], str(verb), NOUNS[noun], str(noun), f"['{NOUNS[noun]}']", f"[{noun}]",
    ]  # fmt: skip


def write_csv(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture(scope="module")
def kitchen(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("kitchen")
    annotations = root / "annotations"
    annotations.mkdir()
    for name, classes in ((VERB_CLASSES_FILE, VERBS), (NOUN_CLASSES_FILE, NOUNS)):
        rows = [[str(i), key, f"['{key}']", "misc"] for i, key in classes.items()]
        write_csv(annotations / name, ("id", "key", "instances", "category"), rows)
    for split, (participant, video) in VIDEOS.items():
        labels = [(i % 3, (i // 3) % 2) for i in range(CLIPS_PER_VIDEO)]
        write_video(root / "videos" / participant / "videos" / f"{video}.MP4", labels)
        rows = [segment_row(participant, video, i, v, n) for i, (v, n) in enumerate(labels)]
        write_csv(annotations / SPLIT_FILES[split], SEGMENT_COLUMNS, rows)
    return root


@pytest.fixture(scope="module")
def features(kitchen: Path) -> dict[str, Path]:
    paths = {}
    for split in VIDEOS:
        paths[split] = kitchen / "features" / f"{split}.npz"
        run_cli(
            "features", "--annotations-dir", kitchen / "annotations", "--video-root", kitchen / "videos",
            "--split", split, "--frames", 8, "--feature-set", "full", "--out", paths[split],
        )  # fmt: skip
    return paths


def test_features_cover_every_row_and_are_byte_stable(kitchen: Path, features: dict[str, Path]) -> None:
    table = load_features(features["train"])
    assert table.rows.tolist() == list(range(CLIPS_PER_VIDEO))
    assert table.feature_set == "full" and np.isfinite(table.values).all()
    again = kitchen / "features" / "train_again.npz"
    run_cli(
        "features", "--annotations-dir", kitchen / "annotations", "--video-root", kitchen / "videos",
        "--split", "train", "--feature-set", "full", "--out", again,
    )  # fmt: skip
    assert sha256_file(again) == sha256_file(features["train"])


def test_features_of_a_split_without_rows_are_an_error(kitchen: Path, tmp_path: Path) -> None:
    annotations = tmp_path / "annotations"
    annotations.mkdir()
    for name in (VERB_CLASSES_FILE, NOUN_CLASSES_FILE):
        (annotations / name).write_bytes((kitchen / "annotations" / name).read_bytes())
    write_csv(annotations / SPLIT_FILES["validation"], SEGMENT_COLUMNS, [])
    with pytest.raises(InputError, match="EPIC_100_validation.csv: split 'validation' has no segments"):
        run_cli(
            "features", "--annotations-dir", annotations, "--video-root", kitchen / "videos",
            "--split", "validation", "--out", tmp_path / "val.npz",
        )  # fmt: skip
    assert not (tmp_path / "val.npz").exists()


def test_fit_then_validate(kitchen: Path, features: dict[str, Path], capsys) -> None:
    out = kitchen / "fit"
    fit_args = [
        "fit", "--annotations-dir", kitchen / "annotations", "--train-features", features["train"],
        "--val-features", features["validation"], "--folds", 3, "--seed", 0, "--top-k", 20,
        "--out-train", out / "train.json", "--out-val", out / "val.json", "--metrics", out / "metrics.json",
    ]  # fmt: skip
    run_cli(*fit_args)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["feature_set"] == "full" and metrics["n_train"] == metrics["n_val"] == CLIPS_PER_VIDEO
    assert metrics["top_k"] == 6  # the label space has only 3 verbs x 2 nouns
    assert metrics["val"]["noun_top1"] == 1.0  # colour is visible to the order-blind features
    # take and put are time reverses: the blind spot shows up as their confusion
    assert {pair["names"][0] for pair in metrics["confusions"]["val"]["verb"]} <= {"take"}
    assert metrics["confusions"]["val"]["verb"][0]["names"] == ["take", "put"]

    digest = sha256_file(out / "val.json")
    run_cli(*fit_args)
    assert sha256_file(out / "val.json") == digest

    run_cli(
        "validate", "--annotations-dir", kitchen / "annotations", "--split", "validation",
        "--predictions", out / "val.json", "--min-k", 6,
    )  # fmt: skip
    assert f"valid for validation ({CLIPS_PER_VIDEO} rows, 6-6 predictions each)" in capsys.readouterr().out
    with pytest.raises(InputError, match="6 predictions, at least 10 needed"):
        run_cli(
            "validate", "--annotations-dir", kitchen / "annotations", "--split", "validation",
            "--predictions", out / "val.json", "--min-k", 10,
        )  # fmt: skip
