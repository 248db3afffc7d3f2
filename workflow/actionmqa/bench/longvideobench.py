"""LongVideoBench validation split (spec/benchmarks.md §6).

Layouts read: the HF parquet ``<root>/validation-*.parquet`` (``option0``..``option4`` padded
with the literal ``"N/A"``) or the JSON ``<root>/lvb_val.json`` (unpadded ``candidates``).
Videos are ``<root>/videos/<video_path>``, subtitles ``<root>/subtitles/<subtitle_path>``, read
only when the adapter interleaves them (``subtitles=True``, lmms-eval's ``_i`` variant).
Test rows (``correct_choice`` -1) load unlabelled and are skipped when scoring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from actionmqa.bench.base import BenchmarkAdapter
from actionmqa.bench.extract import first_letter_after_phrases, or_random
from actionmqa.bench.letters import ANSWER_WITH_LETTER
from actionmqa.bench.loading import (
    Record,
    json_list_records,
    object_record,
    parquet_records,
    read_json,
    resolve_video,
    single_parquet,
)
from actionmqa.bench.records import (
    Parsed,
    Prompt,
    PromptStyle,
    Question,
    SampleResult,
    SubtitleLine,
    VideoMeta,
)
from actionmqa.bench.scoring import GroupStat, size_weighted_overall
from actionmqa.errors import InputError

DURATION_GROUPS: frozenset[int] = frozenset({15, 60, 600, 3600})
QUESTION_CATEGORIES: frozenset[str] = frozenset(
    "E2O E3E O2E O3O S2A S2E S2O SAA SOS SSS T2A T2E T2O T3E T3O TAA TOS".split()
)
PADDING = "N/A"
#: Removed before looking for a letter (lmms-eval = the authors' list, spec §6.3).
ANSWER_PHRASES: tuple[str, ...] = (
    "The best answer is",
    "The correct answer is",
    "The answer is",
    "The answer",
    "The best option is",
    "The correct option is",
    "Best answer:",
    "Best option:",
)
IMAGE = "<image>"


def timestamp_seconds(text: str) -> float:
    """``"HH:MM:SS.mmm"`` -> seconds, as the authors' ``timestamp_to_seconds``."""
    hours, minutes, seconds = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def parse_subtitles(path: Path, offset: float, duration: float) -> tuple[SubtitleLine, ...]:
    """Both entry forms of a ``<video_id>_en.json``, shifted by ``-offset``.

    ``{"timestamp": [s, e], "text"}``: an end that is not a float (null, or even an int) means
    "until the end of the video", i.e. ``duration`` (the authors test ``isinstance(end, float)``).
    ``{"start": "HH:MM:SS.mmm", "end", "line"}``: clock times.
    """
    data = read_json(path)
    if not isinstance(data, list):
        raise InputError(path, f"expected a list of subtitle entries, got {type(data).__name__}")
    lines = []
    for row, entry in enumerate(data):
        record = object_record(path, row, entry)
        try:
            if "timestamp" in record.data:
                start, end = record.get("timestamp", list)
                end = end if isinstance(end, float) else duration
                text = record.get("text", str)
            else:
                start, end = (
                    timestamp_seconds(record.get("start", str)),
                    timestamp_seconds(record.get("end", str)),
                )
                text = record.get("line", str)
            lines.append(SubtitleLine(float(start) - offset, float(end) - offset, text))
        except (TypeError, ValueError) as exc:
            raise record.error(f"not a subtitle entry ({exc})") from None
    return tuple(lines)


def lmms_eval_frame_times(duration: float, max_frames: int) -> list[float]:
    """Frame times of lmms-eval's ``_i`` text: ``duration/N*i``, or whole seconds for short videos."""
    if duration > max_frames:
        return [duration / max_frames * i for i in range(max_frames)]
    return [float(i) for i in range(int(duration))]


def official_frame_times(duration: float, video: VideoMeta, max_frames: int) -> list[float]:
    """Frame times of the authors' ``load_video``: ``int(valid/N)*i / fps``, N = min(max, int(duration))."""
    n = min(max_frames, int(duration))
    step = int(int(duration * video.fps) / n) if n else 0
    return [step * i / video.fps for i in range(n)]


def interleave(frame_times: Sequence[float], subtitles: Sequence[SubtitleLine]) -> list[str]:
    """The authors' ``insert_subtitles_into_frames`` with ``<image>`` standing for frames.

    For each subtitle in file order: emit every not-yet-emitted frame at or before the
    subtitle's midpoint, then the subtitle text if some frame lies strictly inside its span
    (a span under 1 s is widened to midpoint +- 0.5 s for that test only). Frames left over
    come last.
    """
    items: list[str] = []
    emitted = 0
    for line in subtitles:
        start, end = line.start, line.end
        middle = (start + end) / 2
        while emitted < len(frame_times) and frame_times[emitted] <= middle:
            items.append(IMAGE)
            emitted += 1
        if end - start < 1:
            start, end = middle - 0.5, middle + 0.5
        if any(start < t < end for t in frame_times):
            items.append(line.text)
    items.extend(IMAGE for _ in frame_times[emitted:])
    return items


@dataclass(frozen=True)
class LongVideoBench(BenchmarkAdapter):
    """LongVideoBench val; ``subtitles`` interleaves frames and subtitles (``_i``, default off)."""

    subtitles: bool = False
    frames: int = 16

    name: ClassVar[str] = "longvideobench"
    group_keys: ClassVar[tuple[str, ...]] = ("duration_group", "question_category")
    official_scorer: ClassVar[str] = (
        "the authors' parser, which lmms-eval copies: strip answer phrases, first capital A-E anywhere,"
        " random choice (seeded here) when none"
    )

    # -- loading -------------------------------------------------------------------------

    def read(self, root: Path, video_root: Path | None) -> list[Question]:
        """The validation parquet if present, else ``lvb_val.json``."""
        parquet = single_parquet(root, "validation-*.parquet", root, "LongVideoBench validation")
        if parquet is not None:
            return [self._question(r, _padded_options(r), root, video_root) for r in parquet_records(parquet)]
        if (root / "lvb_val.json").is_file():
            return [
                self._question(r, r.strings("candidates", (2, 3, 4, 5)), root, video_root)
                for r in json_list_records(root / "lvb_val.json")
            ]
        raise InputError(root, "no LongVideoBench data: expected validation-*.parquet or lvb_val.json")

    def _question(
        self, record: Record, options: tuple[str, ...], root: Path, video_root: Path | None
    ) -> Question:
        correct = record.get("correct_choice", int)
        if correct != -1 and not 0 <= correct < len(options):
            raise record.error(
                f"correct_choice {correct} is not among the {len(options)} options", key="correct_choice"
            )
        group = record.get("duration_group", int)
        if group not in DURATION_GROUPS:
            raise record.error(
                f"duration_group {group} not in {sorted(DURATION_GROUPS)}", key="duration_group"
            )
        category = record.text("question_category")
        if category not in QUESTION_CATEGORIES:
            raise record.error(f"unknown question_category {category!r}", key="question_category")
        duration = record.number("duration")
        offset = record.number("starting_timestamp_for_subtitles")
        subtitles = None
        if self.subtitles:
            subtitle_file = root / "subtitles" / record.text("subtitle_path")
            if not subtitle_file.is_file():
                raise record.error(f"subtitle file not found: {subtitle_file}", key="subtitle_path")
            subtitles = parse_subtitles(subtitle_file, offset, duration)
        return Question(
            id=record.text("id"),
            video=resolve_video(record, root / "videos", video_root, record.text("video_path")),
            question=record.text("question"),
            options=options,
            answer=None if correct == -1 else correct,
            source=record.where,
            groups={"duration_group": str(group), "question_category": category},
            duration=duration,
            subtitles=subtitles,
            extra={"starting_timestamp_for_subtitles": offset, "video_id": record.text("video_id")},
        )

    # -- prompt and parse ----------------------------------------------------------------

    def prompt(
        self,
        question: Question,
        style: PromptStyle | str = PromptStyle.LMMS_EVAL,
        video: VideoMeta | None = None,
    ) -> Prompt:
        """lmms-eval ``_v``/``_i`` text, or the authors' dataloader items joined by newlines.

        lmms-eval: question, ``"\\nA. o0..."``, ``"\\n"`` + instruction + ``"\\n"`` (no
        ``"Question: "``), preceded by the interleaved block and a newline in ``_i``. The authors:
        ``"Question: " + q``, the option lines and the instruction, after the interleaved block
        whose frame times need the video's fps (``video``).
        """
        if PromptStyle(style) is PromptStyle.OFFICIAL:
            items = ["Question: " + question.question, *question.lettered_options(), ANSWER_WITH_LETTER]
            if self.subtitles:
                if video is None:
                    raise ValueError(f"{question.id}: the official interleaving needs the video's fps")
                times = official_frame_times(_duration(question), video, self.frames)
                items = interleave(times, question.subtitles or ()) + items
            return Prompt(user="\n".join(items))
        text = f"{question.with_options()}\n{ANSWER_WITH_LETTER}\n"
        if self.subtitles:
            times = lmms_eval_frame_times(_duration(question), self.frames)
            text = "\n".join(interleave(times, question.subtitles or ())) + "\n" + text
        return Prompt(user=text)

    def needs_video_meta(self, question: Question, style: PromptStyle | str) -> bool:
        """Only the authors' interleaving places frames by the video's fps."""
        return self.subtitles and PromptStyle(style) is PromptStyle.OFFICIAL

    def parse_lmms_eval(self, raw: str, question: Question, seed: int) -> Parsed:
        """Phrase stripping, then the first [ABCDE] anywhere ("Based..." is B), else a seeded guess.

        The guess draws from the question's own letters (4 for 4-way questions), but a stray E
        found in the text of a 4-way question is kept, and scored wrong.
        """
        found = first_letter_after_phrases(raw, ANSWER_PHRASES, "ABCDE")
        return or_random(found, seed, question, question.letters)

    # -- aggregation ---------------------------------------------------------------------

    def extra_metrics(
        self, results: Sequence[SampleResult], groups: Mapping[str, Mapping[str, GroupStat]]
    ) -> dict[str, Any]:
        """lmms-eval's "Overall" (size-weighted over both groupings) and its doubled ``num``."""
        overall, num = size_weighted_overall(*(groups[key] for key in self.group_keys))
        return {"lmms_eval_overall": overall, "lmms_eval_overall_num": num}


def _padded_options(record: Record) -> tuple[str, ...]:
    """``option0..option4`` up to the first ``"N/A"``; a real option after the padding is an error."""
    values = [record.get(f"option{i}", str) for i in range(5)]
    n = values.index(PADDING) if PADDING in values else len(values)
    if any(v != PADDING for v in values[n:]):
        raise record.error(f"an option follows the {PADDING!r} padding: {values!r}", key=f"option{n}")
    if n < 2:
        raise record.error(f"only {n} options before the {PADDING!r} padding", key="option1")
    return tuple(values[:n])


def _duration(question: Question) -> float:
    if question.duration is None:
        raise ValueError(f"{question.id}: interleaving needs the video duration")
    return question.duration
