"""General video multiple choice on train windows of several actions: the toy base's instruction data."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from actionmqa.errors import InputError
from actionmqa.sft.build import BuildRequest, build_sft
from actionmqa.sft.mixture import MixtureConfig
from actionmqa.sft.tasks.video_mc import MAX_SECONDS, VideoMC
from actionmqa.toybench.world import Event, SourceVideo, World
from sft_tiny_world import write_mixture, write_scenes, write_sft_dir
from test_sft_tasks import segment

#: One kitchen video: (start, stop, verb, noun, narration), with pauses between the actions.
ACTIONS = (
    (0.5, 1.5, "take", "cup", "take cup"),
    (2.5, 3.5, "put", "cup", "put cup down"),
    (4.5, 5.5, "open", "fridge", "open fridge"),
    (6.5, 7.5, "close", "fridge", "shut fridge"),
    (8.5, 9.5, "wash", "plate", "wash plate"),
    (10.5, 11.5, "take", "plate", "pick up plate"),
    (12.5, 13.5, "open", "jar", "open jar"),
    (14.5, 15.5, "close", "jar", "close the jar"),
    (16.5, 17.5, "take", "cup", "pick cup up"),
    (18.5, 19.5, "put", "cup", "put down cup"),
)
PAST = {"take": "picked up", "put": "put down", "open": "opened", "close": "closed", "wash": "washed"}
SOMETHING = {
    "pick something up": "take",
    "put something down": "put",
    "open something": "open",
    "close something": "close",
    "wash something": "wash",
}
LETTERED = re.compile(r"([A-E])\. ([^,\n]+)")


def kitchen() -> World:
    events = tuple(
        Event(f"P01_01_{i}", "P01_01", start, stop, verb, noun, narration)
        for i, (start, stop, verb, noun, narration) in enumerate(ACTIONS)
    )
    video = SourceVideo("P01_01", "P01", Path("P01_01.mp4"), 21.0, 30.0, events)
    colours = {"cup": "red", "fridge": "white", "plate": "blue", "jar": "green"}
    return World(Path("world"), "train", (video,), tuple(sorted({e.action for e in events})), colours)


def segments() -> list:
    return [segment(f"P01_01_{i}", start, stop) for i, (start, stop, *_) in enumerate(ACTIONS)]


def ask_all(seed: int, inline_fraction: float = 0.5) -> list:
    task = VideoMC.of(kitchen(), fraction=1.0, seed=seed, inline_fraction=inline_fraction)
    return [(clip, task.samples(clip)[0]) for clip in segments()]


def options_of(prompt: str) -> dict[str, str]:
    return dict(LETTERED.findall(prompt.split("\n", 1)[1]))


@pytest.mark.parametrize("seed", range(8))
def test_the_answer_is_the_letter_and_text_of_a_listed_option(seed: int) -> None:
    for _, sample in ask_all(seed):
        letter, text = sample.answer.split(". ", 1)
        assert options_of(sample.prompt)[letter] == text
        assert (sample.task, sample.question_type) == ("video_mc", "mc_video")


@pytest.mark.parametrize("seed", range(8))
def test_a_window_starts_in_the_pause_before_its_segment_and_holds_the_actions_asked_about(seed: int) -> None:
    for clip, sample in ask_all(seed):
        index = int(clip.narration_id.rsplit("_", 1)[1])
        before = ACTIONS[index - 1][1] if index else 0.0
        assert before <= sample.start_sec <= clip.start_sec
        assert sample.stop_sec > clip.stop_sec and sample.stop_sec - sample.start_sec <= MAX_SECONDS + 2.0
        shown = [a for a in ACTIONS if sample.start_sec <= a[0] and a[1] <= sample.stop_sec]
        (kind,) = sample.tags
        if kind == "first":
            verb, noun = shown[0][2:4]
            said = {a[4] for a in ACTIONS if a[2:4] == (verb, noun)}
            assert sample.answer.split(". ", 1)[1] in said | {f"{PAST[verb]} the {noun}"}
        if kind == "count":
            (verb,) = [verb for phrase, verb in SOMETHING.items() if f" {phrase}?" in sample.prompt]
            assert sample.answer.endswith(f". {sum(a[2] == verb for a in shown)}")


def test_questions_spread_over_kinds_layouts_and_letters() -> None:
    samples = [sample for seed in range(6) for _, sample in ask_all(seed)]
    kinds = Counter(sample.tags[0] for sample in samples)
    assert len(kinds) >= 6
    assert {"yes", "no"} == {
        text for s in samples if s.tags == ("exists",) for text in options_of(s.prompt).values()
    }
    one_line = [s for s in samples if "Here are the options you are selecting:\n" in s.prompt]
    per_line = [
        s
        for s in samples
        if s.prompt.endswith("Answer with the option's letter from the given choices directly.")
    ]
    assert one_line and per_line and len(one_line) + len(per_line) == len(samples)
    assert len({s.answer[0] for s in samples}) >= 4


def test_action_options_are_worded_as_people_narrated_them() -> None:
    """Where every option's action was narrated, each reads as one of its narrations, so the
    answer's wording can only be copied from the list (take cup: "take cup" or "pick cup up")."""
    narrated = {a[4] for a in ACTIONS}
    samples = [
        s for seed in range(12) for _, s in ask_all(seed) if s.tags[0] in {"first", "after", "antonym"}
    ]
    worded = [s for s in samples if set(options_of(s.prompt).values()) <= narrated]
    assert len(worded) > len(samples) / 3
    answers = {s.answer.split(". ", 1)[1] for s in worded}
    assert {"take cup", "pick cup up"} <= answers or {"put cup down", "put down cup"} <= answers


def test_a_function_of_seed_and_segment() -> None:
    assert ask_all(3) == ask_all(3)
    assert [s for _, s in ask_all(3)] != [s for _, s in ask_all(4)]


def test_not_in_the_papers_mixture_by_default() -> None:
    assert MixtureConfig().video_mc.fraction == 0.0


def test_asking_without_a_world_names_the_mixture_key(tmp_path: Path) -> None:
    mixture = write_mixture(
        tmp_path / "mixture.yaml", "hard_mqa: {fraction: 0.0}\nvideo_mc: {fraction: 0.5}\n"
    )
    request = BuildRequest(
        annotations_dir=write_sft_dir(tmp_path / "ann"),
        mixture_file=mixture,
        seed=0,
        out=tmp_path / "sft.jsonl",
        scenes=write_scenes(tmp_path / "scenes.jsonl"),
    )
    with pytest.raises(InputError, match=r"mixture\.yaml, key 'video_mc\.fraction': .*pass --world"):
        build_sft(request)


def test_several_questions_per_window_are_of_distinct_kinds_and_numbered() -> None:
    task = VideoMC.of(kitchen(), fraction=1.0, seed=2, questions=3)
    for clip in segments():
        samples = task.samples(clip)
        assert [s.part for s in samples] == [0, 1, 2]
        assert len({s.tags[0] for s in samples}) == 3
        assert len({(s.start_sec, s.stop_sec) for s in samples}) == 1  # one window, asked three times
