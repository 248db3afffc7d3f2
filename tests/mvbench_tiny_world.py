"""A tiny MVBench in its real layout, for the ``eval bench`` and sharding tests.

Two unbounded tasks and one bounded one over pattern videos, and a TVQA frame folder at 3 fps
(MVBench's episodic_reasoning layout); ``ORACLE`` holds the right letter of every question.
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from actionmqa.video.synthetic import pattern_frame, write_pattern_video

FPS = 10
VIDEO_FRAMES = 40  # 4 s
TASKS = {
    "action_antonym": [
        {"video": "a1.mp4", "question": "Which action is shown?", "candidates": ["opening", "closing"]}
        | {"answer": "closing"},
        {"video": "a2.mp4", "question": "What does the hand do?", "candidates": ["pushing", "pulling"]}
        | {"answer": "pushing"},
    ],
    "action_sequence": [
        {
            "video": "s1.mp4",
            "question": "What happened after the person took the food?",
            "candidates": [
                "Ate the medicine.",
                "Tidied up the blanket.",
                "Put down the cup.",
                "Took the box.",
            ],
            "answer": "Took the box.",
            "start": 1.0,
            "end": 2.0,
        },
    ],
    "episodic_reasoning": [
        {
            "video": "clip_01",
            "question": "Who enters the room?",
            "candidates": ["Sheldon", "Penny", "Leonard"],
            "answer": "Penny",
            "start": 1.0,
            "end": 3.0,
        },
    ],
}
#: The correct letter of every question, by the ids the adapter gives them.
ORACLE = {
    "action_antonym_0": "B",
    "action_antonym_1": "A",
    "action_sequence_0": "D",
    "episodic_reasoning_0": "B",
}


def write_mvbench(root: Path) -> Path:
    """The tasks' JSON files, their pattern videos, and a TVQA frame folder at 3 fps."""
    (root / "json").mkdir(parents=True)
    for task, records in TASKS.items():
        (root / "json" / f"{task}.json").write_text(json.dumps(records))
    for folder, name in (("ssv2_video_mp4", "a1.mp4"), ("ssv2_video_mp4", "a2.mp4")):
        write_pattern_video(root / folder / name, VIDEO_FRAMES, FPS)
    write_pattern_video(root / "star" / "Charades_segment" / "s1.mp4", VIDEO_FRAMES, FPS)
    frames = root / "tvqa" / "video_fps3_hq_segment" / "clip_01"
    frames.mkdir(parents=True)
    for index in range(12):  # 4 s at 3 fps
        Image.fromarray(pattern_frame(index)).save(frames / f"{index + 1:05d}.jpg", quality=95)
    return root


def oracle(samples):
    """A fake model that knows every answer: it finds the question in the prompt."""
    by_question = {
        record["question"]: ORACLE[f"{task}_{row}"]
        for task, records in TASKS.items()
        for row, record in enumerate(records)
    }
    return [next(letter for q, letter in by_question.items() if q in s.prompt) for s in samples]
