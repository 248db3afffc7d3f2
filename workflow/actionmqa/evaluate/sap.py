"""Sequential action prediction (spec/llavaction.md §6.1, upstream ``temporal_cot_pseudo``).

A second EK100-MQA pass whose prompt tells the model what it answered, in the first pass, for
the clip's two preceding actions. Which actions precede a clip is the SFT prior-actions rule
(:func:`actionmqa.sft.prior.prior_actions_lookup`: two consecutive earlier segments with gaps of
at most 3 s); a clip without them, or whose predecessors the first pass did not answer, keeps
the base prompt, and both counts are reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any

from actionmqa.errors import InputError
from actionmqa.io import read_jsonl_lines
from actionmqa.mqa.records import MQARecord
from actionmqa.prompts import mqa_prompt, prior_actions_prompt
from actionmqa.sft.prior import PriorActions, prior_actions_lookup
from actionmqa.sft.segments import Segment

#: The first pass's reading of each answer: upstream's text (``answers.read_llava_output``), what
#: the authors stored as pseudo-labels.
FIRST_PASS_TEXT = "parsed_answer"


class PromptKind(str, Enum):
    PRIOR = "prior_actions"
    NO_PREDECESSORS = "no_close_predecessors"
    UNANSWERED = "predecessor_not_in_first_pass"


@dataclass(frozen=True)
class SAPPrompt:
    """The task prompt of one clip, which kind it is, and the predecessor texts it shows."""

    kind: PromptKind
    text: str
    prior_texts: tuple[str, str] | None = None


def predecessors(segments: Sequence[Segment], max_gap_sec: float = 3.0) -> dict[str, PriorActions]:
    """narration_id -> its two close predecessors, named by THEIR narration ids.

    The lookup copies each predecessor's ``narration`` into its result; carrying the narration
    id there instead lets the same rule name predecessors, whose texts then come from the
    first pass rather than from the annotations.
    """
    carriers = [replace(segment, narration=segment.narration_id) for segment in segments]
    return prior_actions_lookup(carriers, max_gap_sec)


def first_pass_texts(path: Path, records: Sequence[MQARecord]) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """(narration_id -> first-pass answer text, the first-pass rows) from an ``eval mqa`` JSONL.

    Rows are matched to the benchmark by uid; a uid the benchmark lacks means the wrong file.
    """
    by_uid = {record.uid: record for record in records}
    texts: dict[str, str] = {}
    numbered = read_jsonl_lines(path)
    rows = [row for _, row in numbered]
    for lineno, row in numbered:
        if not isinstance(row, dict) or not isinstance(row.get(FIRST_PASS_TEXT), str):
            raise InputError(path, f"expected an eval mqa prediction with '{FIRST_PASS_TEXT}'", line=lineno)
        uid = str(row.get("uid"))
        if uid not in by_uid:
            raise InputError(path, "uid is not a question of the benchmark", line=lineno, key=uid)
        record = by_uid[uid]
        texts[record.narration_id] = row[FIRST_PASS_TEXT]
    return texts, rows


def sap_prompt(record: MQARecord, prior: PriorActions | None, answered: Mapping[str, str]) -> SAPPrompt:
    """The prior-actions prompt with the first pass's texts, or the base prompt and why."""
    if prior is None:
        return SAPPrompt(PromptKind.NO_PREDECESSORS, mqa_prompt(record.options))
    earlier, latest = prior.prev2_narration, prior.prev1_narration
    if earlier not in answered or latest not in answered:
        return SAPPrompt(PromptKind.UNANSWERED, mqa_prompt(record.options))
    texts = (answered[earlier], answered[latest])
    text = prior_actions_prompt(record.options, texts[0], prior.prev2_offset, texts[1], prior.prev1_offset)
    return SAPPrompt(PromptKind.PRIOR, text, texts)
