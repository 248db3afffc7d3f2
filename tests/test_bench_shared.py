"""Shared benchmark machinery: lettering, extraction helpers, strict mode, aggregation, policies."""

from __future__ import annotations

from pathlib import Path

import pytest

from actionmqa.bench import ADAPTERS, make_adapter
from actionmqa.bench.base import evaluate
from actionmqa.bench.extract import extract_mcq_answer, first_letter_after_phrases, or_random, strict_parse
from actionmqa.bench.letters import index_of, letter, strip_letter_prefix
from actionmqa.bench.records import Parsed, ParseMode, Question, SampleResult
from actionmqa.bench.scoring import GroupStat, group_breakdown, mean_over_groups, size_weighted_overall, tally
from actionmqa.errors import InputError


def question(options: tuple[str, ...] = ("cutting", "pouring", "stirring", "frying"), **kw) -> Question:
    base = dict(id="q1", video=Path("v.mp4"), question="What?", options=options, answer=1, source="test")
    return Question(**{**base, **kw})


def test_letters_round_trip_and_prefix_stripping():
    assert [letter(i) for i in range(5)] == ["A", "B", "C", "D", "E"]
    assert index_of("c") == 2
    with pytest.raises(ValueError):
        index_of("AB")
    assert strip_letter_prefix("A. c cooks.", 0) == "c cooks."
    assert strip_letter_prefix("B. 2.5 kg", 1) == "2.5 kg"
    # Another letter's prefix is part of the text, not a prefix.
    assert strip_letter_prefix("B. x", 0) == "B. x"


def test_lettered_options_prefer_the_source_strings():
    q = question(option_labels=("A.cutting", "B.pouring", "C.stirring", "D.frying"))
    assert q.lettered_options()[0] == "A.cutting"
    assert question().lettered_options() == ["A. cutting", "B. pouring", "C. stirring", "D. frying"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("B", "B"),
        ("  (B) ", "B"),
        ("B.", "B"),
        ("pouring", "B"),
        ("B. pouring", "B"),
        ("b", None),
        ("The answer is B", None),
        ("Based on the video, B", None),
        ("E", None),  # not an option of a 4-way question
        ("(B", None),
        ("", None),
    ],
)
def test_strict_parse(raw, expected):
    parsed = strict_parse(raw, question())
    assert parsed.letter == expected
    assert parsed.found is (expected is not None)


def test_strict_parse_refuses_a_text_two_options_share():
    q = question(options=("same", "same", "other", "x"))
    assert strict_parse("same", q).letter is None
    assert strict_parse("other", q).letter == "C"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Based on the video, the answer is C.", "C"),
        ("After careful viewing: C", "C"),
        ("(B) pouring", "B"),
        ("D", "D"),
        # Every choice letter after an answer phrase is a phrase candidate, and the later one
        # wins: lmms-eval reads this as B.
        ("The correct answer is (A). B is wrong.", "B"),
        ("A. first\nthen B.", "A"),  # the start format outranks a later "B."
        ("I choose B because", "B"),
        ("the answer is c", None),
        ("", None),
    ],
)
def test_extract_mcq_answer_ranking(raw, expected):
    assert extract_mcq_answer(raw, "ABCD") == expected


def test_first_letter_after_phrases_takes_any_capital():
    assert first_letter_after_phrases("Based on the video it is D", ("The answer is",), "ABCDE") == "B"
    assert first_letter_after_phrases("The answer is D", ("The answer is",), "ABCDE") == "D"
    assert first_letter_after_phrases("no letters at all here", (), "ABCD") is None


def test_random_fallback_is_a_function_of_seed_and_question():
    q = question()
    draws = {seed: or_random(None, seed, q, "ABCD").letter for seed in range(40)}
    assert set(draws.values()) == {"A", "B", "C", "D"}
    assert all(or_random(None, seed, q, "ABCD").letter == draws[seed] for seed in range(40))
    other = question(id="q2")
    assert [or_random(None, s, other, "ABCD").letter for s in range(40)] != list(draws.values())
    assert or_random("C", 0, q, "ABCD") == Parsed(letter="C", found=True)
    assert or_random(None, 0, q, "ABCD").fallback


def result(correct: bool | None, **groups: str) -> SampleResult:
    return SampleResult("x", "out", Parsed("A", True), "A", correct, groups)


def test_tally_and_groups_skip_excluded_samples():
    results = [
        result(True, task="a"),
        result(False, task="a"),
        result(None, task="a"),
        result(True, task="b"),
    ]
    assert tally(results) == (2, 3)
    groups = group_breakdown(results, ["task"])
    assert groups["task"]["a"] == GroupStat(n=3, denominator=2, correct=1)
    assert groups["task"]["a"].accuracy == 50.0
    assert mean_over_groups(groups["task"]) == 75.0


def test_size_weighted_overall_over_two_groupings_is_plain_accuracy_with_doubled_num():
    results = [
        result(True, d="15", c="E2O"),
        result(False, d="15", c="T3O"),
        result(True, d="600", c="T3O"),
        result(True, d="3600", c="E2O"),
        result(False, d="60", c="SSS"),
    ]
    groups = group_breakdown(results, ["d", "c"])
    overall, num = size_weighted_overall(groups["d"], groups["c"])
    assert overall == pytest.approx(60.0)
    assert num == 10


def test_make_adapter_rejects_settings_a_benchmark_lacks():
    assert sorted(ADAPTERS) == ["egoschema", "longvideobench", "mvbench", "perceptiontest", "videomme"]
    assert make_adapter("videomme", subtitles=True, frames=8).settings() == {"subtitles": True, "frames": 8}
    with pytest.raises(InputError, match="egoschema has no setting subtitles"):
        make_adapter("egoschema", subtitles=True)
    with pytest.raises(InputError, match="unknown benchmark"):
        make_adapter("nextqa")


def test_evaluate_skips_unlabelled_and_requires_outputs():
    adapter = make_adapter("perceptiontest")
    groups = {"area": "Semantics", "reasoning": "Descriptive"}
    labelled = question(options=("cutting", "pouring", "stirring"), groups=groups)
    hidden = question(id="q2", options=("a", "b", "c"), answer=None, groups=groups)
    with pytest.raises(InputError, match="1 labelled questions have no output"):
        evaluate(adapter, [labelled, hidden], {}, ParseMode.STRICT)
    summary, results = evaluate(adapter, [labelled, hidden], {}, ParseMode.STRICT, allow_missing=True)
    assert [(s.id, s.reason) for s in summary.skipped] == [("q1", "no_output"), ("q2", "unlabelled")]
    assert summary.n == 0 and summary.accuracy == 0.0 and results == []
    summary, _ = evaluate(adapter, [labelled, hidden], {"q1": "B", "q2": "A"}, "strict")
    assert (summary.n, summary.correct, summary.accuracy) == (1, 1, 100.0)
    assert summary.to_json()["skipped"] == [{"id": "q2", "reason": "unlabelled"}]
