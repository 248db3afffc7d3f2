"""The exact prompt and answer strings of LLaVAction (spec/llavaction.md §1.4, §2.2, §6.2).

Every string here reproduces upstream byte for byte (``llavaction/action/utils.py``:
``format_task_related_prompt``, ``format_time_instruction``, ``format_llava_prompt``), quirks
included, because a fine-tuned checkpoint is only comparable when it sees the text it was
trained on. The one deliberate change is :func:`temporal_detection_answer` (see there).
"""

from __future__ import annotations

from collections.abc import Sequence

from actionmqa.bench.letters import ANSWER_WITH_LETTER, letter, lettered

__all__ = [
    "PERSPECTIVE_PREFIX",
    "SYSTEM_PROMPT",
    "GENERAL_CAPTION_PROMPT",
    "caption_prompt",
    "chat_answer",
    "chat_prompt",
    "direct_narration_prompt",
    "format_option_lines",
    "format_options",
    "general_caption_prompt",
    "generic_mc_inline_prompt",
    "generic_mc_prompt",
    "gpt_benchmark_system_prompt",
    "letter",
    "llava_user_text",
    "mqa_answer",
    "mqa_prompt",
    "prior_actions_prompt",
    "rounded",
    "temporal_detection_answer",
    "temporal_detection_prompt",
    "time_instruction",
]

#: ``perspective="first_person"``; the trailing space is part of it.
PERSPECTIVE_PREFIX = (
    "You are seeing this video from egocentric view and you are the person. "
    "Your hands are sometimes interacting with objects. What action are you doing? "
)

_MQA_INSTRUCTION = "Given multiple choices, format your answer briefly such as 'A. move knife'. "
_MQA_OPTIONS_HEADER = "Here are the options of actions you are selecting:\n"
_PRIOR_OPTIONS_HEADER = (
    "What action are you currently performing? Here are the options of actions you can select:\n"
)


def rounded(value: float) -> str:
    """Upstream's number text: ``str(round(x, 2))``, so 3.5 prints ``"3.5"``, not ``"3.50"``.

    Both the prior-action offsets (``get_lookup_dict`` stores ``round(..., 2)`` floats that an
    f-string prints) and the temporal-detection numbers (``process = lambda x:
    str(round(x, 2))``) are written this way.
    """
    return str(round(float(value), 2))


def format_options(texts: Sequence[str]) -> str:
    """``"A. t0, B. t1, ..."``: lettered in list order, joined with ``", "`` on one line."""
    return ", ".join(lettered(texts))


def format_option_lines(texts: Sequence[str]) -> str:
    """``"A. t0"``, ``"B. t1"``, ...: lettered in list order, one per line, as lmms-eval lists options."""
    return "\n".join(lettered(texts))


def mqa_answer(index: int, text: str) -> str:
    """The MQA target and option label: ``mqa_answer(2, "open fridge") == "C. open fridge"``."""
    return f"{letter(index)}. {text}"


def mqa_prompt(options: Sequence[str]) -> str:
    """The standard MQA task prompt (eval, and 70% of training MQA); ``options`` carry no letters.

    Upstream's instruction ends ``"'A. move knife'. "`` and the newline follows that space.
    """
    return f"{PERSPECTIVE_PREFIX}{_MQA_INSTRUCTION}\n{_MQA_OPTIONS_HEADER}{format_options(options)}"


def generic_mc_prompt(question: str, options: Sequence[str]) -> str:
    """General-video multiple choice as lmms-eval words it (EgoSchema, Perception Test, ...).

    ``question``, one ``"X. option"`` line each, then the letter instruction: the format of the
    general instruction data a base model like LLaVA-Video learns to answer, before any MQA.
    """
    return f"{question}\n{format_option_lines(options)}\n{ANSWER_WITH_LETTER}"


_INLINE_OPTIONS_HEADER = "Here are the options you are selecting:\n"


def generic_mc_inline_prompt(question: str, options: Sequence[str]) -> str:
    """General multiple choice with its options on one line and a worked answer format.

    The other layout of the base model's general instruction data (real instruction sets mix
    many): ``question``, the MQA prompt's format instruction, then ``"A. t0, B. t1, ..."`` on one
    line, so that a base model meets that layout on general questions before any action MQA.
    """
    return f"{question} {_MQA_INSTRUCTION}\n{_INLINE_OPTIONS_HEADER}{format_options(options)}"


def prior_actions_prompt(
    options: Sequence[str],
    prev2_narration: str,
    prev2_offset: float,
    prev1_narration: str,
    prev1_offset: float,
) -> str:
    """The prior-actions MQA variant (``learn_neighbor_actions="prior"``).

    Upstream drops the "Given multiple choices..." line here, puts a newline right after the
    prefix's trailing space, and says "you can select" instead of "you are selecting".
    Offsets are seconds from each earlier action's start to the current start.
    """
    history = (
        f"{rounded(prev2_offset)} seconds ago, you started an action {prev2_narration}. "
        f"{rounded(prev1_offset)} seconds ago, you started an action {prev1_narration}. "
    )
    return f"{PERSPECTIVE_PREFIX}\n{history}{_PRIOR_OPTIONS_HEADER}{format_options(options)}"


def direct_narration_prompt() -> str:
    """The direct-prediction prompt; upstream's f-string adds a space after the prefix's own."""
    return f"{PERSPECTIVE_PREFIX} What action are you performing? Give a short sentence such as 'move knife'."


def caption_prompt() -> str:
    """The ``gpt-gt-reason``/``caption`` prompt: double space after the prefix, trailing space."""
    return (
        f"{PERSPECTIVE_PREFIX} Describe in details what you see from the video frames. "
        "You must talk in the first person perspective. Try to focus on what you are doing. "
    )


#: The toy base's caption request (its mixture's ``caption.prompt: general``).
GENERAL_CAPTION_PROMPT = "Describe in detail what you do in this video, in the first person."


def general_caption_prompt() -> str:
    """A plain video-description request, as general instruction data (LLaVA-Video-178K) asks
    for captions: the stand-in base never sees LLaVAction's egocentric action prompt, whose
    opening the MQA prompt shares (trained on it, the toy base answered MQA in caption voice,
    "D. I open fridge")."""
    return GENERAL_CAPTION_PROMPT


def temporal_detection_prompt(narration: str, duration: float) -> str:
    """The temporal-detection question; ``duration`` is the action's own (unpadded) length."""
    return (
        f"The provided video contains an action '{narration}' that lasts {rounded(duration)} seconds. "
        "What is the relative start and end time of the action in seconds? "
        "Format it as 'start_timestamp: end_timestamp' and round to 2 decimal places."
    )


def temporal_detection_answer(rel_start: float, rel_end: float) -> str:
    """``"0.97: 2.51"``, in the colon format the prompt asks for.

    Upstream writes ``f"{rel_start}, {rel_end}"``: a comma, contradicting its own prompt. We
    keep its number text (:func:`rounded`) and fix the separator.
    """
    return f"{rounded(rel_start)}: {rounded(rel_end)}"


def time_instruction(duration: float, n_frames: int) -> str:
    """``format_time_instruction`` without frame times (``include_frame_time=False`` upstream)."""
    return (
        f"The provided video lasts for {duration:.3f} seconds, "
        f"and {n_frames} frames are uniformly sampled from it."
    )


def llava_user_text(
    task_prompt: str, *, time_instruction: str | None = None, placeholder: str = "<video>"
) -> str:
    """``format_llava_prompt``: placeholder, newline, [time instruction], task prompt.

    Upstream concatenates the time instruction and the task prompt with no separator
    (``"...sampled from it.You are seeing..."``); the final 7B run trained and evaluated so.
    Upstream's placeholder is LLaVA-NeXT's ``"<image>"``; the default here is ``"<video>"``,
    the video token of the HF LLaVA-OneVision processor this project's model uses.
    """
    return f"{placeholder}\n{time_instruction or ''}{task_prompt}"


def gpt_benchmark_system_prompt(options: Sequence[str], duration: float, n_frames: int) -> str:
    """The GPT-4o baseline system prompt (``GPTInferenceAnnotator.predict_images``).

    Unlike :func:`llava_user_text`, upstream separates the time instruction from the MQA prompt
    with a space here.
    """
    return f"{time_instruction(duration, n_frames)} {mqa_prompt(options)}"


#: ``conv_qwen`` (template ``qwen_1_5``) system message.
SYSTEM_PROMPT = "You are a helpful assistant."


def chat_prompt(user_text: str) -> str:
    """One user turn in ``conv_qwen`` ChatML, ready for generation.

    LLaVA-NeXT ``llava/conversation.py``: ``system="<|im_start|>system\\nYou are a helpful
    assistant."``, ``roles=("<|im_start|>user", "<|im_start|>assistant")``,
    ``sep="<|im_end|>"``, ``SeparatorStyle.CHATML``, whose ``get_prompt`` writes
    ``system + sep + "\\n"``, then ``role + "\\n" + message + sep + "\\n"`` per filled turn and
    ``role + "\\n"`` for the empty assistant turn.
    """
    return (
        f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n"
        f"<|im_start|>user\n{user_text}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def chat_answer(answer: str) -> str:
    """The assistant turn's completion after :func:`chat_prompt`: ``message + sep + "\\n"``."""
    return f"{answer}<|im_end|>\n"
