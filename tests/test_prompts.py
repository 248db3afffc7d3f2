"""Golden strings for every prompt: upstream's text, character for character."""

from __future__ import annotations

import pytest

from actionmqa import prompts

PREFIX = (
    "You are seeing this video from egocentric view and you are the person. "
    "Your hands are sometimes interacting with objects. What action are you doing? "
)
OPTIONS = ["open fridge", "take cup", "put down mug", "wash knife", "close drawer"]


def test_perspective_prefix_keeps_its_trailing_space() -> None:
    assert prompts.PERSPECTIVE_PREFIX == PREFIX
    assert prompts.PERSPECTIVE_PREFIX.endswith("doing? ")


@pytest.mark.parametrize(("index", "expected"), [(0, "A"), (4, "E"), (19, "T"), (25, "Z")])
def test_letter(index: int, expected: str) -> None:
    assert prompts.letter(index) == expected


def test_letter_beyond_z_is_refused() -> None:
    with pytest.raises(ValueError, match="26"):
        prompts.letter(26)


def test_format_options_one_line() -> None:
    assert prompts.format_options(OPTIONS) == (
        "A. open fridge, B. take cup, C. put down mug, D. wash knife, E. close drawer"
    )


def test_format_option_lines_one_per_line() -> None:
    assert prompts.format_option_lines(OPTIONS) == (
        "A. open fridge\nB. take cup\nC. put down mug\nD. wash knife\nE. close drawer"
    )


def test_mqa_answer() -> None:
    assert prompts.mqa_answer(2, "open fridge") == "C. open fridge"


def test_mqa_prompt() -> None:
    assert prompts.mqa_prompt(OPTIONS) == (
        "You are seeing this video from egocentric view and you are the person. Your hands are "
        "sometimes interacting with objects. What action are you doing? Given multiple choices, "
        "format your answer briefly such as 'A. move knife'. \n"
        "Here are the options of actions you are selecting:\n"
        "A. open fridge, B. take cup, C. put down mug, D. wash knife, E. close drawer"
    )


def test_prior_actions_prompt_has_no_given_multiple_choices_line() -> None:
    text = prompts.prior_actions_prompt(OPTIONS[:3], "take plate", 4.5, "open tap", 1.234)
    assert text == (
        "You are seeing this video from egocentric view and you are the person. Your hands are "
        "sometimes interacting with objects. What action are you doing? \n"
        "4.5 seconds ago, you started an action take plate. "
        "1.23 seconds ago, you started an action open tap. "
        "What action are you currently performing? Here are the options of actions you can select:\n"
        "A. open fridge, B. take cup, C. put down mug"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3.5, "3.5"), (12.0, "12.0"), (1.234, "1.23"), (2.516, "2.52"), (0.0, "0.0"), (7, "7.0")],
)
def test_rounded_is_upstream_str_of_round(value: float, expected: str) -> None:
    assert prompts.rounded(value) == expected


def test_direct_narration_prompt_has_double_space() -> None:
    assert prompts.direct_narration_prompt() == (
        "You are seeing this video from egocentric view and you are the person. Your hands are "
        "sometimes interacting with objects. What action are you doing?  What action are you "
        "performing? Give a short sentence such as 'move knife'."
    )


def test_caption_prompt_double_space_and_trailing_space() -> None:
    assert prompts.caption_prompt() == (
        "You are seeing this video from egocentric view and you are the person. Your hands are "
        "sometimes interacting with objects. What action are you doing?  Describe in details what "
        "you see from the video frames. You must talk in the first person perspective. Try to "
        "focus on what you are doing. "
    )


def test_temporal_detection_prompt() -> None:
    assert prompts.temporal_detection_prompt("open fridge", 1.5400001) == (
        "The provided video contains an action 'open fridge' that lasts 1.54 seconds. What is the "
        "relative start and end time of the action in seconds? Format it as "
        "'start_timestamp: end_timestamp' and round to 2 decimal places."
    )


def test_temporal_detection_answer_uses_the_colon_the_prompt_asks_for() -> None:
    assert prompts.temporal_detection_answer(0.971, 2.508) == "0.97: 2.51"
    assert prompts.temporal_detection_answer(0.0, 3.5) == "0.0: 3.5"


def test_time_instruction() -> None:
    assert prompts.time_instruction(2.5, 8) == (
        "The provided video lasts for 2.500 seconds, and 8 frames are uniformly sampled from it."
    )


def test_llava_user_text_without_time_instruction() -> None:
    assert prompts.llava_user_text("Q?") == "<video>\nQ?"
    assert prompts.llava_user_text("Q?", placeholder="<image>") == "<image>\nQ?"


def test_llava_user_text_joins_time_instruction_without_separator() -> None:
    text = prompts.llava_user_text("Q?", time_instruction=prompts.time_instruction(1.0, 16))
    assert text == (
        "<video>\nThe provided video lasts for 1.000 seconds, and 16 frames are uniformly sampled from it.Q?"
    )


def test_gpt_benchmark_system_prompt_separates_with_a_space() -> None:
    assert prompts.gpt_benchmark_system_prompt(OPTIONS[:2], 3.25, 8) == (
        "The provided video lasts for 3.250 seconds, and 8 frames are uniformly sampled from it. "
        "You are seeing this video from egocentric view and you are the person. Your hands are "
        "sometimes interacting with objects. What action are you doing? Given multiple choices, "
        "format your answer briefly such as 'A. move knife'. \n"
        "Here are the options of actions you are selecting:\n"
        "A. open fridge, B. take cup"
    )


def test_chat_template_qwen_1_5() -> None:
    assert prompts.SYSTEM_PROMPT == "You are a helpful assistant."
    assert prompts.chat_prompt("hi") == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nhi<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert prompts.chat_answer("C. open fridge") == "C. open fridge<|im_end|>\n"


def test_full_mqa_model_input_end_to_end() -> None:
    task = prompts.mqa_prompt(OPTIONS)
    user = prompts.llava_user_text(task, time_instruction=prompts.time_instruction(1.2345, 8))
    full = prompts.chat_prompt(user) + prompts.chat_answer(prompts.mqa_answer(0, OPTIONS[0]))
    assert full == (
        "<|im_start|>system\n"
        "You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n"
        "<video>\n"
        "The provided video lasts for 1.234 seconds, and 8 frames are uniformly sampled from it."
        "You are seeing this video from egocentric view and you are the person. Your hands are "
        "sometimes interacting with objects. What action are you doing? Given multiple choices, "
        "format your answer briefly such as 'A. move knife'. \n"
        "Here are the options of actions you are selecting:\n"
        "A. open fridge, B. take cup, C. put down mug, D. wash knife, E. close drawer<|im_end|>\n"
        "<|im_start|>assistant\n"
        "A. open fridge<|im_end|>\n"
    )
