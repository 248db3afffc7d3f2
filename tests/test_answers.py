"""Golden cases for upstream's process_raw_pred, the strict letter parser and MQA scoring."""

from __future__ import annotations

import pytest

from actionmqa.answers import (
    MQAPrediction,
    parse_strict_letter,
    parse_upstream,
    read_llava_output,
    score_mqa_output,
    score_option_text,
)
from actionmqa.errors import InputError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("C. open fridge", "open fridge"),
        ("The answer is B. take cup.", "take cup"),
        ("B. take cup. It is clearly a cup.", "take cup"),
        # one match per line; the last line's wins
        ("A. open fridge\nB. take cup", "take cup"),
        ("I think A. open fridge.\nOn reflection: D. wash knife", "wash knife"),
        # (.+) swallows the rest of the line, so a later letter on the SAME line is not a new match
        ("A. open fridge, B. take cup", "open fridge, B"),
        # the cut starts at the first period of the match, even inside a narration
        ("E. pour 2.5 cups", "pour 2"),
        # "None" anywhere wins over the letter rule, and only "None. " is removed
        ("None. open fridge", "open fridge"),
        ("None of the above", "None of the above"),
        ("A. None. take cup", "A. take cup"),
        # no "X. " pattern: the output comes back unchanged
        ("open fridge", "open fridge"),
        ("C", "C"),
        ("(C)", "(C)"),
        ("C.", "C."),
        ("c. open fridge", "c. open fridge"),
        ("", ""),
    ],
)
def test_parse_upstream(raw: str, expected: str) -> None:
    assert parse_upstream(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # ek_eval.ensemble_llava_evaluation: pred.rstrip(','), then process_raw_pred (read by hand)
        ("C. open fridge,", "open fridge"),
        ("C. open fridge,,,", "open fridge"),
        ("open fridge,", "open fridge"),  # no "X. ": the stripped output itself
        (",", ""),
        ("None. open fridge,", "open fridge"),
        ("C. open fridge.,", "open fridge"),  # comma gone, then the cut at the period
        ("A. take cup, B. open fridge,", "take cup, B"),  # one match per line, as before
        # only commas at the very end go: a space or a period after the comma keeps it
        ("C. open fridge, ", "open fridge, "),
        ("C. open fridge,.", "open fridge,"),
        (",C. open fridge", "open fridge"),
    ],
)
def test_read_llava_output_strips_trailing_commas_first(raw: str, expected: str) -> None:
    assert read_llava_output(raw) == expected


def test_gpt_answers_keep_their_trailing_commas() -> None:
    """Upstream's GPT path (chatgpt_utils.GPTInferenceAnnotator.run) calls process_raw_pred alone."""
    assert parse_upstream("C. open fridge,") == "open fridge,"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("C", 2),
        ("C.", 2),
        ("(C)", 2),
        ("C. open fridge", 2),
        ("  B. take cup.\n", 1),
        ("A", 0),
        ("E", 4),
        ("F", None),  # past the fifth option
        ("c", None),
        ("The answer is B.", None),
        ("A cup is taken", None),
        ("B.take cup", None),
        ("(B", None),
        ("", None),
    ],
)
def test_parse_strict_letter(raw: str, expected: int | None) -> None:
    assert parse_strict_letter(raw, 5) == expected


def test_score_option_text_is_exact_equality() -> None:
    assert score_option_text("open fridge", "open fridge")
    assert not score_option_text("open fridge ", "open fridge")
    assert not score_option_text("Open fridge", "open fridge")


RECORD = {
    "uid": "P01-P01_11_24.97_26.2",
    "options": ["take cup", "open fridge", "put down mug", "wash knife", "close drawer"],
    "answer_index": 1,
}


def test_score_mqa_output_correct_both_ways() -> None:
    assert score_mqa_output(RECORD, "B. open fridge") == MQAPrediction(
        uid="P01-P01_11_24.97_26.2",
        raw_output="B. open fridge",
        parsed_text="open fridge",
        parsed_index=1,
        correct_upstream=True,
        correct_strict=True,
    )


def test_score_mqa_output_text_right_letter_wrong() -> None:
    """Upstream compares text, so a wrong letter with the right text still counts."""
    prediction = score_mqa_output(RECORD, "D. open fridge")
    assert (prediction.parsed_text, prediction.parsed_index) == ("open fridge", 3)
    assert prediction.correct_upstream and not prediction.correct_strict


def test_score_mqa_output_bare_letter_is_wrong_upstream() -> None:
    """A bare "B" has no "X. " to parse, so upstream compares "B" to the narration."""
    prediction = score_mqa_output(RECORD, "B")
    assert (prediction.parsed_text, prediction.parsed_index) == ("B", 1)
    assert not prediction.correct_upstream and prediction.correct_strict


def test_score_mqa_output_free_text() -> None:
    prediction = score_mqa_output(RECORD, "I am opening the fridge.")
    assert prediction.parsed_text == "I am opening the fridge."
    assert prediction.parsed_index is None
    assert not prediction.correct_upstream and not prediction.correct_strict


def test_score_mqa_output_missing_key_names_it() -> None:
    with pytest.raises(InputError, match="'answer_index'"):
        score_mqa_output({"uid": "u1", "options": ["a", "b"]}, "A. a")


def test_score_mqa_output_answer_index_out_of_range() -> None:
    with pytest.raises(InputError, match="answer_index 2 outside"):
        score_mqa_output({"uid": "u1", "options": ["a", "b"], "answer_index": 2}, "A. a")


def test_score_mqa_output_trailing_comma_as_upstream() -> None:
    """Upstream marks "B. open fridge," right for a LLaVA model and wrong for GPT."""
    llava = score_mqa_output(RECORD, "B. open fridge,")
    assert llava.parsed_text == "open fridge" and llava.correct_upstream and llava.correct_strict
    gpt = score_mqa_output(RECORD, "B. open fridge,", strip_trailing_commas=False)
    assert gpt.parsed_text == "open fridge," and not gpt.correct_upstream
