"""General multiple choice with random distractors: the toy base model's instruction data."""

from __future__ import annotations

from pathlib import Path

from actionmqa.sft.clip_texts import SCENES_TEACHER, ClipText, ClipTexts, QAPair
from actionmqa.sft.mixture import MixtureConfig
from actionmqa.sft.tasks.base import Skip
from actionmqa.sft.tasks.generic_mc import TOO_FEW_ANSWERS_REASON, GenericMC, answer_pools
from test_sft_tasks import segment

COLOURS = ("red", "green", "blue", "white", "black", "yellow")


def world(n: int = 12) -> tuple[list, ClipTexts]:
    """``n`` clips; clip i's cup has colour i mod 6 and the hand question has only two answers."""
    segments, texts = [], {}
    for i in range(n):
        clip = segment(f"P01_01_{i}", 2.0 * i, 2.0 * i + 1.5)
        pairs = (
            QAPair(question="What colour is the cup?", answer=f"It is {COLOURS[i % 6]}."),
            QAPair(question="Which hand do I mainly use?", answer=("My left hand.", "My right hand.")[i % 2]),
        )
        segments.append(clip)
        texts[clip.narration_id] = ClipText("I take the cup.", pairs, SCENES_TEACHER, "P01_01")
    return segments, ClipTexts(Path("scenes.jsonl"), texts)


def test_answer_pools_hold_each_questions_distinct_answers_sorted() -> None:
    segments, texts = world()
    pools = answer_pools(texts, segments)
    assert pools["What colour is the cup?"] == tuple(sorted(f"It is {c}." for c in COLOURS))
    assert pools["Which hand do I mainly use?"] == ("My left hand.", "My right hand.")


def test_question_options_and_answer() -> None:
    segments, texts = world()
    task = GenericMC(texts, answer_pools(texts, segments), k=5, fraction=1.0, seed=0)
    (sample,) = task.samples(segments[3])
    lines = sample.prompt.split("\n")
    # Only the colour question has 5 distinct answers; the hand question (2) cannot be asked.
    assert lines[0] == "What colour is the cup?"
    assert lines[-1] == "Answer with the option's letter from the given choices directly."
    options = [line[3:] for line in lines[1:-1]]
    assert [line[:3] for line in lines[1:-1]] == ["A. ", "B. ", "C. ", "D. ", "E. "]
    assert len(set(options)) == 5 and "It is white." in options
    assert sample.answer == f"{'ABCDE'[options.index('It is white.')]}. It is white."
    assert (sample.task, sample.question_type, sample.teacher, sample.part) == (
        "generic_mc",
        "mc_generic",
        SCENES_TEACHER,
        0,
    )
    assert task.samples(segments[3]) == [sample]  # a function of (seed, clip)


def test_too_few_distinct_answers_is_a_counted_skip() -> None:
    segments, texts = world(n=3)  # 3 colours only
    task = GenericMC(texts, answer_pools(texts, segments), k=5, fraction=1.0, seed=0)
    assert task.samples(segments[0]) == Skip(TOO_FEW_ANSWERS_REASON)


def test_answer_positions_spread_over_the_letters() -> None:
    segments, texts = world(n=60)
    task = GenericMC(texts, answer_pools(texts, segments), k=5, fraction=1.0, seed=1)
    letters = [task.samples(clip)[0].answer[0] for clip in segments]
    assert set(letters) == set("ABCDE")


def test_not_in_the_papers_mixture_by_default() -> None:
    assert MixtureConfig().generic_mc.fraction == 0.0


def test_inline_layout_lists_the_options_on_one_line_as_mqa_does() -> None:
    segments, texts = world()
    task = GenericMC(texts, answer_pools(texts, segments), k=5, fraction=1.0, seed=0, inline_fraction=1.0)
    (sample,) = task.samples(segments[3])
    (lined,) = GenericMC(texts, answer_pools(texts, segments), k=5, fraction=1.0, seed=0).samples(segments[3])
    options = [line[3:] for line in lined.prompt.split("\n")[1:-1]]
    listed = ", ".join(f"{'ABCDE'[i]}. {o}" for i, o in enumerate(options))
    assert sample.prompt == (
        "What colour is the cup? Given multiple choices, format your answer briefly such as "
        "'A. move knife'. \nHere are the options you are selecting:\n" + listed
    )
    assert sample.answer == lined.answer  # same options, order and answer; only the layout differs


def test_inline_fraction_mixes_both_layouts() -> None:
    segments, texts = world(n=60)
    task = GenericMC(texts, answer_pools(texts, segments), k=5, fraction=1.0, seed=1, inline_fraction=0.5)
    inline = [task.samples(clip)[0].prompt.startswith("What colour is the cup? Given") for clip in segments]
    assert 15 < sum(inline) < 45
    mixture = MixtureConfig.model_validate({"generic_mc": {"fraction": 1.0, "inline_fraction": 0.5}})
    assert mixture.generic_mc.inline_fraction == 0.5
