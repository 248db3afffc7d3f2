"""A hand-written EK100 annotations directory for the SFT tests, in the real file formats.

Train video P03_01 has the prior-action material: gaps of 2 s (0 -> 1), 4 s (1 -> 2), an
overlap (2 -> 3) and 1 s (3 -> 4), so only P03_01_4 has two close predecessors. P04_02_0
starts at 0.5 s, so temporal padding can hit 0. P04_02_3 and P04_02_4 share their timestamps
(one uid, as happens in EK100 train).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from actionmqa.ek100.annotations import load_segments
from actionmqa.ek100.schema import SPLIT_FILES
from actionmqa.specialist.predictions import write_predictions
from mqa_tiny_world import VALIDATION, Segment, write_tiny_dir

TRAIN: tuple[Segment, ...] = (
    ("P03_01_0", 1.00, 2.00, "pick up plate", "pick-up", 0, "plate", 2),
    ("P03_01_1", 4.00, 5.00, "put plate down", "put-down", 1, "plate", 2),
    ("P03_01_2", 9.00, 10.00, "open cupboard", "open", 3, "cupboard", 3),
    ("P03_01_3", 9.50, 11.00, "rinse knife", "rinse", 2, "knife", 4),
    ("P03_01_4", 12.00, 13.00, "take spoon", "take", 0, "spoon", 1),
    ("P04_02_0", 0.50, 2.00, "turn tap on", "turn-on", 6, "tap", 0),
    ("P04_02_1", 2.50, 3.20, "wash spoon", "wash", 2, "spoon", 1),
    ("P04_02_2", 3.00, 4.10, "take plate", "take", 0, "plate", 2),
    ("P04_02_3", 5.00, 6.00, "open cupboard door", "open", 3, "cupboard", 3),
    ("P04_02_4", 5.00, 6.00, "grab knife", "grab", 0, "knife", 4),
)

#: A specialist's ranking, best first; each row's own class moves to the rank in ``GT_RANK``.
RANKING = ("0:1", "0:2", "1:2", "2:1", "2:4", "3:3", "6:0", "0:4", "1:1", "3:1", "0:18", "1:4")
#: Rank of the ground truth per segment (0-based); P04_02_1 (2:1) has it outside the top 10.
GT_RANK = {
    "P03_01_0": 0,
    "P03_01_1": 3,
    "P03_01_2": 1,
    "P03_01_3": 9,
    "P03_01_4": 2,
    "P04_02_0": 0,
    "P04_02_1": 11,
    "P04_02_2": 5,
    "P04_02_3": 0,
    "P04_02_4": 4,
}


def ranked_for(gt_vn: str, rank: int) -> list[str]:
    others = [vn for vn in RANKING if vn != gt_vn]
    return [*others[:rank], gt_vn, *others[rank:]][: len(RANKING)]


def write_sft_dir(root: Path, train: Sequence[Segment] = TRAIN) -> Path:
    """Class files, the MQA tests' validation split and the SFT train split."""
    return write_tiny_dir(root, validation=VALIDATION, train=train)


def write_train_predictions(root: Path, name: str = "avion", ranks: Mapping[str, int] = GT_RANK) -> Path:
    """Train predictions keyed by CSV row (whatever the row order), written by the real writer."""
    segments = load_segments(root / SPLIT_FILES["train"])
    ranked = {
        row: ranked_for(segments.at[row, "vn"], ranks[segments.at[row, "narration_id"]])
        for row in segments.index
    }
    path = root / f"{name}_pred_ids_train.json"
    write_predictions(path, ranked, segments)
    return path


def write_scenes(path: Path, segments: Sequence[Segment] = TRAIN, skip: Sequence[str] = ()) -> Path:
    """A toy-world style scenes.jsonl (extra fields included, as the world writes them)."""
    with open(path, "w", encoding="utf-8") as handle:
        for narration_id, start, stop, narration, *_ in segments:
            if narration_id in skip:
                continue
            record = {
                "narration_id": narration_id,
                "split": "train",
                "video_id": narration_id.rsplit("_", 1)[0],
                "start_sec": start,
                "stop_sec": stop,
                "narration": narration,
                "description": f"I {narration} with my right hand.",
                "qa": [
                    {"question": "What am I doing?", "answer": f"I {narration}."},
                    {"question": "Which hand do I use?", "answer": "My right hand."},
                    {"question": "Where am I?", "answer": "In a kitchen."},
                    {"question": "What else is on the counter?", "answer": "A red mug."},
                ],
                "source": "toyworld ground truth (stands in for GPT-4o captions and QA)",
            }
            handle.write(json.dumps(record) + "\n")
    return path


def write_mixture(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
