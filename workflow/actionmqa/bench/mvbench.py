"""MVBench: 20 tasks of 200 questions whose answer is a candidate's text (spec/benchmarks.md §8).

Layout: ``<root>/json/<task>.json`` (a list of ``{video, question, candidates, answer[, start,
end]}``), videos under ``<root>/<folder>/<video>`` with the folders of lmms-eval's
``DATA_LIST`` (a frame folder counts as a video: episodic_reasoning in the official layout).
Tasks whose JSON is absent are not loaded; the headline is the mean over the tasks present.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from actionmqa.bench.base import BenchmarkAdapter
from actionmqa.bench.letters import letter
from actionmqa.bench.loading import Record, json_list_records, resolve_video
from actionmqa.bench.records import (
    UNPARSED,
    Parsed,
    ParseMode,
    Prompt,
    PromptStyle,
    Question,
    SampleResult,
    VideoMeta,
)
from actionmqa.bench.scoring import GroupStat, accuracy_pct, mean_over_groups, tally
from actionmqa.errors import InputError

#: task -> video folder (lmms-eval's DATA_LIST). lmms-eval's ``data0613`` fallback tests the
#: folder's basename against "clevrer"/"star", which never matches, so it is not reproduced.
TASK_FOLDERS: dict[str, str] = {
    "action_sequence": "star/Charades_segment",
    "action_prediction": "star/Charades_segment",
    "action_antonym": "ssv2_video_mp4",
    "fine_grained_action": "Moments_in_Time_Raw/videos",
    "unexpected_action": "FunQA_test/test",
    "object_existence": "clevrer/video_validation",
    "object_interaction": "star/Charades_segment",
    "object_shuffle": "perception/videos",
    "moving_direction": "clevrer/video_validation",
    "action_localization": "sta/sta_video_segment",
    "scene_transition": "scene_qa/video",
    "action_count": "perception/videos",
    "moving_count": "clevrer/video_validation",
    "moving_attribute": "clevrer/video_validation",
    "state_change": "perception/videos",
    "fine_grained_pose": "nturgbd_convert",
    "character_order": "perception/videos",
    "egocentric_navigation": "vlnqa",
    "episodic_reasoning": "tvqa/video_fps3_hq_segment",
    "counterfactual_inference": "clevrer/video_validation",
}
#: Tasks whose records carry ``start``/``end`` seconds.
BOUNDED_TASKS: frozenset[str] = frozenset(
    {
        "action_sequence",
        "action_prediction",
        "object_interaction",
        "action_localization",
        "episodic_reasoning",
    }
)
OFFICIAL_SYSTEM = (
    "Carefully watch the video and pay attention to the cause and sequence of events, the detail and movement"
    " of objects, and the action and pose of persons. Based on your observations, select the best option that"
    " accurately addresses the question."
)
OFFICIAL_QUESTION_SUFFIX = "\nOnly give the best option."
OFFICIAL_PREFILL = "Best option:("
LMMS_EVAL_POST_PROMPT = "Only give the best option.\n"

# lmms-eval mcq_acc's normalisation, kept verbatim including its typo: "(?!<=\d)" is a negative
# look-ahead for the text "<=digit", not the intended look-behind.
_OPTION_LINE = re.compile(r"^([A-E])\.\s*(.+)$", re.IGNORECASE)
_MCQ_LETTERS = frozenset("ABCDE")
_STANDALONE = re.compile(r"\b([A-E])\b", re.IGNORECASE)
_COMMA_STRIP = re.compile(r"(\d)(\,)(\d)")
_PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")
_PUNCTUATION = (
    ";",
    "/",
    "[",
    "]",
    '"',
    "{",
    "}",
    "(",
    ")",
    "=",
    "+",
    "\\",
    "_",
    "-",
    ">",
    "<",
    "@",
    "`",
    ",",
    "?",
    "!",
)
#: lmms-eval passes ``re.UNICODE`` where ``re.sub`` expects ``count``: at most 32 periods go.
_PERIOD_COUNT = int(re.UNICODE)


def _strip_punctuation(text: str) -> str:
    """VQA-style punctuation handling: a mark next to a space (or any digit,digit) is deleted,
    otherwise replaced by a space; then periods not followed by a digit are removed."""
    out = text
    for mark in _PUNCTUATION:
        if f"{mark} " in text or f" {mark}" in text or _COMMA_STRIP.search(text) is not None:
            out = out.replace(mark, "")
        else:
            out = out.replace(mark, " ")
    return _PERIOD_STRIP.sub("", out, count=_PERIOD_COUNT)


def mcq_normalise(text: str) -> str:
    """lmms-eval's ``mcq_acc.process``: a letter A-E if it finds one, else the cleaned text.

    ``"A. ..."`` (any case) gives its letter; otherwise the first standalone a-e word after
    lower-casing, so the English article in "a person opened the door" reads as A (spec §8.5).
    """
    match = _OPTION_LINE.match(text.strip())
    if match:
        return match.group(1).upper()
    cleaned = _strip_punctuation(text.replace("\n", " ").replace("\t", " ").strip())
    cleaned = cleaned.strip("'").strip('"').strip(")").strip("(").strip().lower()
    standalone = _STANDALONE.search(cleaned)
    return standalone.group(1).upper() if standalone else cleaned


def check_ans(pred: str, gt: str) -> bool:
    """The official notebook's test: first space-separated token, compared by *substring*.

    ``pred`` is ``"(" + first output line``; ``gt`` is ``"(x) answer text"``. Because
    ``"(" in "(b)"`` and ``")" in "(b)"`` hold, a prediction of just ``"("`` or ``")"`` is
    correct for every question (Ask-Anything issue #227); an empty output becomes ``"("``.
    """
    pred_option = pred.lower().split(" ")[0]
    gt_option = gt.lower().split(" ")[0]
    return pred_option.replace(".", "") in gt_option or gt_option in pred_option


@dataclass(frozen=True)
class MVBench(BenchmarkAdapter):
    """MVBench; the headline is the unweighted mean over the tasks loaded."""

    name: ClassVar[str] = "mvbench"
    group_keys: ClassVar[tuple[str, ...]] = ("task",)
    aggregation: ClassVar[str] = "mean over tasks of per-task accuracy"
    official_scorer: ClassVar[str] = (
        "Ask-Anything mvbench.ipynb check_ans on '(' + the first output line: substring test on the first"
        " token, so '(' and ')' pass"
    )

    # -- loading -------------------------------------------------------------------------

    def read(self, root: Path, video_root: Path | None) -> list[Question]:
        json_dir = root / "json"
        tasks = [task for task in TASK_FOLDERS if (json_dir / f"{task}.json").is_file()]
        if not tasks:
            raise InputError(
                json_dir, f"no MVBench task file (json/<task>.json for the {len(TASK_FOLDERS)} tasks)"
            )
        return [
            self._question(record, task, root, video_root)
            for task in tasks
            for record in json_list_records(json_dir / f"{task}.json")
        ]

    def _question(self, record: Record, task: str, root: Path, video_root: Path | None) -> Question:
        candidates = record.strings("candidates", (2, 3, 4, 5))
        answer_text = record.get("answer", str)
        if answer_text not in candidates:
            raise record.error(
                f"task {task}: answer {answer_text!r} equals no candidate exactly ({list(candidates)!r})",
                key="answer",
            )
        bounded = task in BOUNDED_TASKS
        folder, video = TASK_FOLDERS[task], record.text("video")
        return Question(
            id=f"{task}_{record.row}",
            video=resolve_video(
                record, root / folder, None if video_root is None else video_root / folder, video
            ),
            question=record.text("question"),
            options=candidates,
            answer=candidates.index(answer_text),
            source=record.where,
            groups={"task": task},
            start=record.number("start") if bounded else None,
            end=record.number("end") if bounded else None,
        )

    # -- prompt --------------------------------------------------------------------------

    def prompt(
        self,
        question: Question,
        style: PromptStyle | str = PromptStyle.LMMS_EVAL,
        video: VideoMeta | None = None,
    ) -> Prompt:
        """lmms-eval: ``"Question:" + q + "\\nOption:\\n" + "(A) c0\\n"...`` + the post-prompt.

        The post-prompt is ``"Only give the best option.\\n"``. Official: the system text, the
        user text ``"Question: q\\nOptions:\\n(A) c0..."`` right-stripped plus
        ``"\\nOnly give the best option."``, and the assistant turn prefilled ``Best option:(``.
        """
        lines = "".join(f"({letter(i)}) {c}\n" for i, c in enumerate(question.options))
        if PromptStyle(style) is PromptStyle.OFFICIAL:
            user = f"Question: {question.question}\nOptions:\n{lines}".rstrip() + OFFICIAL_QUESTION_SUFFIX
            return Prompt(user=user, system=OFFICIAL_SYSTEM, prefill=OFFICIAL_PREFILL)
        return Prompt(user="Question:" + question.question + "\nOption:\n" + lines + LMMS_EVAL_POST_PROMPT)

    # -- parse and score -----------------------------------------------------------------

    def parse_lmms_eval(self, raw: str, question: Question, seed: int) -> Parsed:
        normalised = mcq_normalise(raw)
        return Parsed(letter=normalised, found=True) if normalised in _MCQ_LETTERS else UNPARSED

    def parse_official(self, raw: str, question: Question, seed: int) -> Parsed:
        """The notebook keeps ``"(" + first line``; the letter shown is that token's, if any."""
        pred = "(" + raw.strip().split("\n")[0]
        token = pred.lower().split(" ")[0].replace("(", "").replace(")", "").replace(".", "")
        found = len(token) == 1 and token.isascii() and token.isalpha()
        return Parsed(letter=token.upper() if found else None, found=found, token=pred)

    def excluded(self, raw: str, parsed: Parsed, mode: ParseMode) -> bool:
        """lmms-eval's aggregation skips samples whose raw prediction is exactly ``""``."""
        return mode is ParseMode.LMMS_EVAL and raw == ""

    def is_correct(self, parsed: Parsed, question: Question, mode: ParseMode) -> bool:
        if mode is ParseMode.OFFICIAL:
            if parsed.token is None or question.answer is None:
                raise ValueError(f"{question.id}: check_ans needs the official parse and a label")
            gt = f"({letter(question.answer)}) {question.options[question.answer]}"
            return check_ans(parsed.token, gt)
        return super().is_correct(parsed, question, mode)

    # -- aggregation ---------------------------------------------------------------------

    def overall(
        self, results: Sequence[SampleResult], groups: Mapping[str, Mapping[str, GroupStat]]
    ) -> float:
        return mean_over_groups(groups["task"])

    def extra_metrics(
        self, results: Sequence[SampleResult], groups: Mapping[str, Mapping[str, GroupStat]]
    ) -> dict[str, Any]:
        """correct / total: the official ``Avg`` and lmms-eval's later sample-weighted group score."""
        return {"correct_over_total": accuracy_pct(*tally(results)), "n_tasks": len(groups["task"])}
