"""Reading an answer off a model's EK100-MQA output, and scoring it (spec/llavaction.md §6.1).

Two readings are kept side by side: upstream's (trailing commas stripped from a LLaVA model's
output, then ``process_raw_pred``, then exact text match), which the paper's numbers come from,
and a strict letter reading, which cannot be fooled by a narration that happens to contain
``"X. "`` or a period.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from actionmqa.bench.letters import index_of
from actionmqa.errors import InputError

__all__ = [
    "MQAPrediction",
    "parse_strict_letter",
    "parse_upstream",
    "read_llava_output",
    "score_mqa_output",
    "score_option_text",
]

_LETTERED = re.compile(r"[A-Z]\.\s(.+)")
_FROM_FIRST_PERIOD = re.compile(r"\.\s*.*$")
_STRICT = re.compile(r"\s*(?:\(([A-Z])\)|([A-Z])(?:\.(?:\s.*)?)?)\s*", re.DOTALL)


def parse_upstream(raw: str) -> str:
    """``ek_eval.process_raw_pred``, rule for rule, in upstream's order.

    1. Any ``"None"`` in the output: return it with every ``"None. "`` removed.
    2. Else take the last ``[A-Z]\\.\\s(.+)`` match and cut it from its first period on.
       ``(.+)`` runs to the end of the line, so on one line ``"A. x, B. y"`` gives ``"x, B"``:
       only a later *line* can supply a later match.
    3. Else the output unchanged.
    """
    if "None" in raw:
        return raw.replace("None. ", "")
    matches = _LETTERED.findall(raw)
    if not matches:
        return raw
    return _FROM_FIRST_PERIOD.sub("", matches[-1])


def read_llava_output(raw: str) -> str:
    """``ek_eval.ensemble_llava_evaluation``'s reading of a LLaVA model's output, for MQA and two-stage alike.

    ``pred.rstrip(',')`` first ("remove the trailing comma if there is one"), then
    ``process_raw_pred``. Upstream's GPT path (``GPTInferenceAnnotator.run``) calls
    ``process_raw_pred`` alone: use ``parse_upstream`` there.
    """
    return parse_upstream(raw.rstrip(","))


def parse_strict_letter(raw: str, n_options: int) -> int | None:
    """The option index of ``"B"``, ``"B."``, ``"(B)"`` or ``"B. text"`` (surrounding space ok).

    ``None`` for anything else, and for a letter past the last option.
    """
    match = _STRICT.fullmatch(raw)
    if match is None:
        return None
    index = index_of(match.group(1) or match.group(2))
    return index if index < n_options else None


def score_option_text(parsed_text: str, gt_text: str) -> bool:
    """Upstream's ``match_answer``: exact string equality with the GT option text."""
    return parsed_text == gt_text


@dataclass(frozen=True)
class MQAPrediction:
    """One scored output; ``parsed_index`` is the strict reading (``None`` when it fails)."""

    uid: str
    raw_output: str
    parsed_text: str
    parsed_index: int | None
    correct_upstream: bool
    correct_strict: bool


def score_mqa_output(
    record: Mapping[str, Any], raw_output: str, *, strip_trailing_commas: bool = True
) -> MQAPrediction:
    """Score one raw output against one benchmark record (``uid``, ``options``, ``answer_index``).

    Options are lettered A.. in list order, as the prompt showed them. ``strip_trailing_commas``:
    read as upstream read its LLaVA models (``read_llava_output``); off, as it read GPT's answers.
    """
    uid = str(record.get("uid", ""))
    for key in ("options", "answer_index"):
        if key not in record:
            raise InputError(None, f"MQA record {uid!r} has no {key!r}", key=key)
    options = list(record["options"])
    answer_index = int(record["answer_index"])
    if not 0 <= answer_index < len(options):
        raise InputError(None, f"MQA record {uid!r}: answer_index {answer_index} outside the options")
    parsed_text = read_llava_output(raw_output) if strip_trailing_commas else parse_upstream(raw_output)
    parsed_index = parse_strict_letter(raw_output, len(options))
    return MQAPrediction(
        uid=uid,
        raw_output=raw_output,
        parsed_text=parsed_text,
        parsed_index=parsed_index,
        correct_upstream=score_option_text(parsed_text, options[answer_index]),
        correct_strict=parsed_index == answer_index,
    )
