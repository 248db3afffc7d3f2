"""MVBench: per-task JSON, answer text -> letter, both prompts, mcq_acc and check_ans quirks, mean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actionmqa.bench.base import evaluate
from actionmqa.bench.mvbench import MVBench, check_ans, mcq_normalise
from actionmqa.errors import InputError

TASKS = {
    "action_antonym": [
        {
            "video": "1001.webm",
            "question": "What is the action?",
            "candidates": ["opening", "closing"],
            "answer": "closing",
        },
        {
            "video": "1002.webm",
            "question": "What is the action?",
            "candidates": ["pushing", "pulling"],
            "answer": "pushing",
        },
    ],
    "action_sequence": [
        {
            "video": "ZS9XR.mp4",
            "question": "What happened after the person took the food?",
            "candidates": [
                "Ate the medicine.",
                "Tidied up the blanket.",
                "Put down the cup.",
                "Took the box.",
            ],
            "answer": "Put down the cup.",
            "start": 12.3,
            "end": 19.8,
        },
        {
            "video": "4KAUT.mp4",
            "question": "What did the person do first?",
            "candidates": ["Sat down.", "Stood up.", "Opened the door.", "Closed the book."],
            "answer": "Sat down.",
            "start": 0.0,
            "end": 7.5,
        },
    ],
    "episodic_reasoning": [
        {
            "video": "s01e02_seg02_clip_01",
            "question": "Who enters the room?",
            "candidates": ["Sheldon", "Penny", "Leonard", "Howard", "Raj"],
            "answer": "Penny",
            "start": 1.0,
            "end": 9.0,
        },
        {
            "video": "s01e02_seg02_clip_02",
            "question": "What does Penny hold?",
            "candidates": ["a cup", "a book", "a phone", "a bag", "a key"],
            "answer": "a phone",
            "start": 2.0,
            "end": 6.0,
        },
    ],
}


def write_root(root: Path, tasks: dict[str, list[dict]]) -> Path:
    (root / "json").mkdir(parents=True)
    for task, records in tasks.items():
        (root / "json" / f"{task}.json").write_text(json.dumps(records))
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_root(tmp_path / "mvbench", TASKS)


@pytest.fixture
def video_root(tmp_path: Path) -> Path:
    videos = tmp_path / "videos"
    for folder, name in [
        ("ssv2_video_mp4", "1001.webm"),
        ("ssv2_video_mp4", "1002.webm"),
        ("star/Charades_segment", "ZS9XR.mp4"),
        ("star/Charades_segment", "4KAUT.mp4"),
    ]:
        (videos / folder).mkdir(parents=True, exist_ok=True)
        (videos / folder / name).touch()
    for clip in ("s01e02_seg02_clip_01", "s01e02_seg02_clip_02"):  # frame folders, official layout
        frames = videos / "tvqa" / "video_fps3_hq_segment" / clip
        frames.mkdir(parents=True)
        (frames / "00001.jpg").touch()
    return videos


def test_load_maps_answer_text_to_a_letter_and_keeps_bounds(root, video_root):
    questions = MVBench().load(root, video_root)
    assert [q.id for q in questions] == [
        "action_sequence_0",
        "action_sequence_1",
        "action_antonym_0",
        "action_antonym_1",
        "episodic_reasoning_0",
        "episodic_reasoning_1",
    ]
    assert [q.answer for q in questions] == [2, 0, 1, 0, 1, 2]
    assert [(q.start, q.end) for q in questions[:3]] == [(12.3, 19.8), (0.0, 7.5), (None, None)]
    assert questions[0].video == video_root / "star/Charades_segment/ZS9XR.mp4"
    assert questions[4].video.is_dir()
    assert {q.groups["task"] for q in questions} == set(TASKS)


def test_golden_lmms_eval_prompt(root):
    q = MVBench().load(root)[0]
    assert MVBench().prompt(q).user == (
        "Question:What happened after the person took the food?\nOption:\n(A) Ate the medicine.\n"
        "(B) Tidied up the blanket.\n(C) Put down the cup.\n(D) Took the box.\nOnly give the best option.\n"
    )


def test_official_prompt_has_system_text_and_prefill(root):
    q = MVBench().load(root)[2]
    prompt = MVBench().prompt(q, "official")
    assert (
        prompt.user
        == "Question: What is the action?\nOptions:\n(A) opening\n(B) closing\nOnly give the best option."
    )
    assert prompt.prefill == "Best option:("
    assert prompt.system.startswith(
        "Carefully watch the video and pay attention to the cause and sequence of events"
    )
    assert prompt.system.endswith("select the best option that accurately addresses the question.")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a person opened the door", "A"),  # the English article is read as option A
        ("I think it is B", "B"),
        ("(C) Put down the cup.", "C"),
        ("b. tidied up", "B"),
        ("Put down the cup.", "put down the cup"),
        ("", ""),
    ],
)
def test_mcq_normalise(raw, expected):
    assert mcq_normalise(raw) == expected


def test_lmms_eval_parser_cases(root):
    q = MVBench().load(root)[0]
    assert MVBench().parse("a person opened the door", q, "lmms_eval").letter == "A"
    assert MVBench().parse("I think it is B", q, "lmms_eval").letter == "B"
    assert MVBench().parse("Put down the cup.", q, "lmms_eval").letter is None


def test_check_ans_substring_quirk():
    gt = "(b) closing"
    assert check_ans(")", gt) and check_ans("(", gt)
    assert check_ans("(b) closing", gt) and check_ans("(b", gt) and check_ans("((b)", gt)
    assert not check_ans("(a) opening", gt) and not check_ans("()", gt)


@pytest.mark.parametrize(
    ("raw", "official", "strict"),
    [
        ("B) closing", True, False),  # continues the "Best option:(" prefill
        ("(B)", True, True),
        ("B", True, True),
        ("", True, False),  # "(" alone passes check_ans
        ("A) opening", False, False),
        (")", False, False),  # "()" is not a substring of "(b)"
    ],
)
def test_official_versus_strict_on_raw_outputs(root, raw, official, strict):
    q = MVBench().load(root)[2]  # answer B, "closing"
    for mode, expected in (("official", official), ("strict", strict)):
        parsed = MVBench().parse(raw, q, mode)
        assert MVBench().score(raw, parsed, q, mode).correct is expected


def test_empty_prediction_leaves_the_lmms_eval_denominator(root):
    questions = MVBench().load(root)
    outputs = {q.id: q.answer_letter for q in questions} | {"action_antonym_1": "", "action_sequence_1": " "}
    summary, _ = evaluate(MVBench(), questions, outputs, "lmms_eval")
    tasks = {k: (v.correct, v.denominator) for k, v in summary.groups["task"].items()}
    assert tasks == {"action_antonym": (1, 1), "action_sequence": (1, 2), "episodic_reasoning": (2, 2)}
    assert summary.accuracy == pytest.approx((100 + 50 + 100) / 3)
    assert summary.empty_outputs == ["action_sequence_1", "action_antonym_1"]
    official, _ = evaluate(MVBench(), questions, outputs, "official")
    assert (official.correct, official.denominator) == (6, 6)  # "" and " " both become "(" -> correct


def test_mean_over_tasks_equals_correct_over_total_only_for_equal_sizes(root, tmp_path):
    questions = MVBench().load(root)
    outputs = {q.id: "A" for q in questions}  # right on action_sequence_1 and action_antonym_1
    summary, _ = evaluate(MVBench(), questions, outputs, "strict")
    assert summary.accuracy == pytest.approx(summary.extra["correct_over_total"]) == pytest.approx(100 / 3)
    unequal = write_root(tmp_path / "unequal", TASKS | {"action_antonym": TASKS["action_antonym"][:1]})
    questions = MVBench().load(unequal)
    summary, _ = evaluate(MVBench(), questions, {q.id: "A" for q in questions}, "strict")
    assert summary.accuracy == pytest.approx((0 + 50 + 0) / 3)
    assert summary.extra["correct_over_total"] == pytest.approx(100 / 5)
    assert summary.aggregation == "mean over tasks of per-task accuracy"


def test_answer_that_equals_no_candidate_names_task_file_and_record(tmp_path):
    bad = TASKS | {
        "action_antonym": [TASKS["action_antonym"][0], {**TASKS["action_antonym"][1], "answer": "Pushing"}]
    }
    with pytest.raises(
        InputError, match=r"action_antonym.json, row 1, key 'answer': task action_antonym: answer"
    ):
        MVBench().load(write_root(tmp_path / "bad", bad))


def test_bounded_task_without_end_and_missing_video(tmp_path, root, video_root):
    record = {k: v for k, v in TASKS["action_sequence"][0].items() if k != "end"}
    with pytest.raises(InputError, match=r"action_sequence.json, row 0, key 'end': missing field"):
        MVBench().load(write_root(tmp_path / "noend", {"action_sequence": [record]}))
    (video_root / "ssv2_video_mp4" / "1002.webm").unlink()
    with pytest.raises(InputError, match=r"action_antonym.json, row 1: video not found"):
        MVBench().load(root, video_root)
