"""Video-MME, without and with subtitles (spec/benchmarks.md §7).

Layout (lmms-eval's): ``<root>/videomme/test-*.parquet`` (11 string fields, ``options`` already
prefixed ``"A. "``), videos ``<root>/data/<videoID>.mp4`` (lmms-eval falls back to ``.MP4`` and
``.mkv``), subtitles ``<root>/subtitle/<videoID>.srt`` for some videos only. Duplicate option
texts (questions 119-1, 321-2) are kept as they are (spec §7.5).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from actionmqa.bench.base import BenchmarkAdapter
from actionmqa.bench.extract import extract_mcq_answer, first_letter_after_phrases
from actionmqa.bench.letters import ANSWER_WITH_LETTER, index_of, letters_for, strip_letter_prefix
from actionmqa.bench.loading import Record, parquet_records, resolve_video, single_parquet
from actionmqa.bench.records import (
    UNPARSED,
    Parsed,
    ParseMode,
    Prompt,
    PromptStyle,
    Question,
    SubtitleLine,
    VideoMeta,
)
from actionmqa.errors import InputError

DURATIONS: tuple[str, ...] = ("short", "medium", "long")
LETTERS = letters_for(4)
#: lmms-eval's instruction mentions subtitles even in the no-subtitle task (spec §7.5, pitfall 3).
LMMS_EVAL_INSTRUCTION = (
    "Select the best answer to the following multiple-choice question based on the video and the subtitles."
    " Respond with only the letter (A, B, C, or D) of the correct option."
)
LMMS_EVAL_POST_PROMPT = "\n" + ANSWER_WITH_LETTER
#: The README's wording without subtitles ...
OFFICIAL_INSTRUCTION = (
    "Select the best answer to the following multiple-choice question based on the video."
    " Respond with only the letter (A, B, C, or D) of the correct option."
)
#: ... and with them (the README's "Frames + Subs" template names the subtitles).
OFFICIAL_SUBTITLE_INSTRUCTION = LMMS_EVAL_INSTRUCTION
ANSWER_CUE = "The best answer is:"
#: lmms-eval's subtitle header has a space before the newline; the README's has none.
LMMS_EVAL_SUBTITLE_HEADER = "This video's subtitles are listed below: \n"
OFFICIAL_SUBTITLE_HEADER = "This video's subtitles are listed below:\n"
NO_SUBTITLES = "No subtitles available"
#: Two missing commas in the official list glue four phrases into two that never match.
OFFICIAL_ANSWER_PREFIXES: tuple[str, ...] = (
    "The best answer is",
    "The correct answer is",
    "The answer is",
    "The answer",
    "The best option isThe correct option is",  # noqa: ISC001 - the official bug, reproduced
    "Best answer:Best option:",  # noqa: ISC001
)
#: Only text wrapped exactly like this survives into the prompt (lmms-eval's pattern).
_FONT = re.compile(r'<font color="white" size=".72c">(.*?)</font>')


def srt_seconds(text: str) -> float:
    """``"HH:MM:SS,mmm"`` -> seconds."""
    hours, minutes, rest = text.split(":")
    seconds, millis = rest.split(",")
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000


def parse_srt(path: Path) -> tuple[SubtitleLine, ...]:
    """SRT blocks as lmms-eval reads them: split on blank lines, text lines joined by spaces.

    Blocks with fewer than 3 lines are skipped; a repeated (start, end) keeps its first
    position but the later text, because lmms-eval stores blocks in a dict keyed by the span.
    """
    blocks: dict[tuple[float, float], str] = {}
    first_line = 1  # of the current block, in the file
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = block.split("\n")
        block_start, first_line = first_line, first_line + len(lines) + 1
        if not block.strip() or len(lines) < 3:
            continue
        try:
            start, end = (srt_seconds(t.strip()) for t in lines[1].split(" --> "))
        except ValueError:
            raise InputError(path, f"bad SRT time line {lines[1]!r}", line=block_start + 1) from None
        blocks[(start, end)] = " ".join(lines[2:])
    return tuple(SubtitleLine(start, end, text) for (start, end), text in blocks.items())


def subtitles_for_frames(lines: Sequence[SubtitleLine], video: VideoMeta, frame_num: int) -> str:
    """The font-wrapped text of the subtitles shown at ``frame_num`` uniformly sampled frames.

    As lmms-eval: subtitle spans become frame ranges ``int(t * fps)``; frames are
    ``linspace(0, n_frames - 1, frame_num)`` (``frame_num`` -1 = every frame); a subtitle is
    kept when some frame lies in ``[start, end)``. lmms-eval de-duplicates with
    ``list(set(...))``, whose order for small ints is CPython's hash-slot order (ascending
    unless indices exceed the table size); doing the same reproduces it exactly.
    """
    spans = [(int(line.start * video.fps), int(line.end * video.fps), line.text) for line in lines]
    n = video.n_frames if frame_num == -1 else frame_num
    sampled = np.linspace(0, video.n_frames - 1, n, dtype=int).tolist()
    hits = [i for frame in sampled for i, (start, end, _) in enumerate(spans) if start <= frame < end]
    texts = [m.group(1) for i in list(set(hits)) if (m := _FONT.search(spans[i][2]))]
    return "\n".join(texts)


@dataclass(frozen=True)
class VideoMME(BenchmarkAdapter):
    """Video-MME; ``subtitles`` switches to ``videomme_w_subtitle`` (lines of ``frames`` sampled frames)."""

    subtitles: bool = False
    frames: int = 32

    name: ClassVar[str] = "videomme"
    group_keys: ClassVar[tuple[str, ...]] = ("duration", "domain", "sub_category", "task_type")
    official_scorer: ClassVar[str] = (
        "eval_your_results.py: phrase list with two missing commas, first [ABCD] anywhere,"
        " unparsed responses dropped from the denominator"
    )

    # -- loading -------------------------------------------------------------------------

    def read(self, root: Path, video_root: Path | None) -> list[Question]:
        parquet = single_parquet(root / "videomme", "test-*.parquet", root, "Video-MME")
        if parquet is None:
            raise InputError(root, "no Video-MME data: expected videomme/test-*.parquet")
        return [self._question(r, root, video_root) for r in parquet_records(parquet)]

    def _question(self, record: Record, root: Path, video_root: Path | None) -> Question:
        labels = record.strings("options", 4)
        answer = record.text("answer").strip()
        if answer not in LETTERS:
            raise record.error(f"answer {answer!r} is not one of {', '.join(LETTERS)}", key="answer")
        duration = record.text("duration")
        if duration not in DURATIONS:
            raise record.error(f"duration {duration!r} not in {DURATIONS}", key="duration")
        youtube_id = record.text("videoID")
        srt = root / "subtitle" / f"{youtube_id}.srt"
        return Question(
            id=record.text("question_id"),
            video=resolve_video(
                record,
                root / "data",
                video_root,
                f"{youtube_id}.mp4",
                (f"{youtube_id}.MP4", f"{youtube_id}.mkv"),
            ),
            question=record.text("question"),
            options=tuple(strip_letter_prefix(label, i) for i, label in enumerate(labels)),
            option_labels=labels,
            answer=index_of(answer),
            source=record.where,
            groups={
                "duration": duration,
                "domain": record.text("domain"),
                "sub_category": record.text("sub_category"),
                "task_type": record.text("task_type"),
            },
            subtitles=parse_srt(srt) if self.subtitles and srt.is_file() else None,
            extra={"videoID": youtube_id, "video_id": record.text("video_id")},
        )

    # -- prompt --------------------------------------------------------------------------

    def prompt(
        self,
        question: Question,
        style: PromptStyle | str = PromptStyle.LMMS_EVAL,
        video: VideoMeta | None = None,
    ) -> Prompt:
        """lmms-eval's ``videomme``/``videomme_w_subtitle`` text, or the README's (spec §7.3-7.4)."""
        body = question.with_options()
        official = PromptStyle(style) is PromptStyle.OFFICIAL
        if not self.subtitles:
            if official:
                return Prompt(user=f"{OFFICIAL_INSTRUCTION}\n{body}\n{ANSWER_CUE}")
            return Prompt(user=f"{LMMS_EVAL_INSTRUCTION}\n{body}\n{LMMS_EVAL_POST_PROMPT}")
        header = OFFICIAL_SUBTITLE_HEADER if official else LMMS_EVAL_SUBTITLE_HEADER
        instruction = OFFICIAL_SUBTITLE_INSTRUCTION if official else LMMS_EVAL_INSTRUCTION
        return Prompt(
            user=f"{header}{self._subtitle_text(question, video)}\n{instruction}\n{body}\n{ANSWER_CUE}"
        )

    def needs_video_meta(self, question: Question, style: PromptStyle | str) -> bool:
        """Subtitle lines are chosen per sampled frame, so fps and frame count are needed."""
        return self.subtitles and question.subtitles is not None

    def _subtitle_text(self, question: Question, video: VideoMeta | None) -> str:
        if question.subtitles is None:
            return NO_SUBTITLES
        if video is None:
            raise ValueError(f"{question.id}: choosing subtitle lines needs the video's fps and frame count")
        return subtitles_for_frames(question.subtitles, video, self.frames)

    # -- parse and score -----------------------------------------------------------------

    def parse_lmms_eval(self, raw: str, question: Question, seed: int) -> Parsed:
        """The 2026 ranked ``extract_mcq_answer``; nothing found counts as wrong."""
        found = extract_mcq_answer(raw, question.letters)
        return UNPARSED if found is None else Parsed(letter=found, found=True)

    def parse_official(self, raw: str, question: Question, seed: int) -> Parsed:
        """The official first-[ABCD] regex: "Based on the video, the answer is C." reads as B."""
        found = first_letter_after_phrases(raw, OFFICIAL_ANSWER_PREFIXES, "ABCD")
        return UNPARSED if found is None else Parsed(letter=found, found=True)

    def excluded(self, raw: str, parsed: Parsed, mode: ParseMode) -> bool:
        """The official script counts only answered questions: unparsed leave the denominator."""
        return mode is ParseMode.OFFICIAL and not parsed.found
