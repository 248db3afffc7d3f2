"""A tiny EK100-format kitchen for the released-specialist tests: 120 actions, one rendered video.

Train covers every pair of 12 verbs x 10 nouns (no video is read for it), so the label space has
120 actions, enough for top-100 lists. Validation has six 1-second clips of one 32x32 video.
"""

from __future__ import annotations

import csv
from pathlib import Path

import av
import numpy as np

from actionmqa.ek100.schema import NOUN_CLASSES_FILE, SEGMENT_COLUMNS, SPLIT_FILES, VERB_CLASSES_FILE
from actionmqa.ek100.timestamps import format_timestamp, nominal_frames

FPS, SIZE = 30, 32
VERBS = {
    i: key for i, key in enumerate("take put wash open close cut turn-on turn-off pour mix dry peel".split())
}
NOUNS = {i: key for i, key in enumerate("tap plate knife cup pan spoon board bowl lid onion".split())}
VAL_VIDEO = ("P02", "P02_01")
#: (verb, noun) of the validation clips, one per second of the video.
VAL_LABELS = ((0, 1), (1, 1), (10, 3), (2, 9), (11, 0), (3, 4))


def _segment_row(participant: str, video: str, index: int, start: float, stop: float, verb: int, noun: int):
    start_frame, stop_frame = nominal_frames(video, start, stop)
    return [
        f"{video}_{index}", participant, video, format_timestamp(start, 3), format_timestamp(start),
        format_timestamp(stop), str(start_frame), str(stop_frame), f"{VERBS[verb]} {NOUNS[noun]}",
        VERBS[verb], str(verb), NOUNS[noun], str(noun), f"['{NOUNS[noun]}']", f"[{noun}]",
    ]  # fmt: skip


def _write_csv(path: Path, header, rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_annotations(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, classes in ((VERB_CLASSES_FILE, VERBS), (NOUN_CLASSES_FILE, NOUNS)):
        rows = [[str(i), key, f"['{key}']", "misc"] for i, key in classes.items()]
        _write_csv(root / name, ("id", "key", "instances", "category"), rows)
    pairs = [(v, n) for v in VERBS for n in NOUNS]
    train = [_segment_row("P01", "P01_01", i, i + 0.1, i + 0.9, v, n) for i, (v, n) in enumerate(pairs)]
    _write_csv(root / SPLIT_FILES["train"], SEGMENT_COLUMNS, train)
    participant, video = VAL_VIDEO
    val = [_segment_row(participant, video, i, i + 0.1, i + 0.9, v, n) for i, (v, n) in enumerate(VAL_LABELS)]
    _write_csv(root / SPLIT_FILES["validation"], SEGMENT_COLUMNS, val)
    return root


def write_val_video(video_root: Path) -> Path:
    """The validation video in the official layout: a moving square whose colour changes per second."""
    participant, video = VAL_VIDEO
    path = video_root / participant / "videos" / f"{video}.MP4"
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width = stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        for _ in range(len(VAL_LABELS) + 1):
            colour = rng.integers(0, 256, 3, dtype=np.uint8)
            for t in range(FPS):
                frame = np.full((SIZE, SIZE, 3), 100, np.uint8)
                frame[8:16, t % 24 : t % 24 + 8] = colour
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path
