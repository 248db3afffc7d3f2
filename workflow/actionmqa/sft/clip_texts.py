"""Captions and QA pairs per clip, from the toy world's scenes or from the teacher's output file.

Policy for a clip the caption/QA tasks selected but the file does not cover: an ``InputError``
naming the file and narration id. Both files cover every clip they were made for (the toy world
writes one scene per segment; ``sft teacher`` writes one line per selected clip, a dropped
caption or a failed request included), so a gap means a stale or foreign file, not a skip.
Captions the teacher itself disowned (``disagree_with_human_annotation``, dropped as upstream
does) and clips whose caption or QA request the teacher refused or answered unusably
(``teacher_refusal``, ``teacher_invalid_reply``) are skipped, counted and listed in the manifest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator

from actionmqa.errors import InputError
from actionmqa.io import read_jsonl_models
from actionmqa.sft.segments import Segment

#: The ``teacher`` of records made from toy-world scenes: they stand in for GPT-4o outputs.
SCENES_TEACHER = "toyworld-scenes"
DISAGREE_REASON = "disagree_with_human_annotation"


class QAPair(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    question: str
    answer: str


class SceneLine(BaseModel):
    """The fields of a toy-world ``scenes.jsonl`` line that SFT uses (the rest is ignored)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    narration_id: str
    video_id: str
    description: str
    qa: tuple[QAPair, ...]


class TeacherFailure(BaseModel):
    """Why a clip has no usable teacher text: its caption or QA request was refused, or answered
    with something invalid after every retry (``excerpt``: the start of what the model said)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request: Literal["caption", "qa"]
    reason: Literal["refusal", "invalid_reply"]
    excerpt: str
    request_sha256: str

    @property
    def skip_reason(self) -> str:
        """The manifest's reason for leaving the clip out: ``teacher_refusal``, ``teacher_invalid_reply``."""
        return f"teacher_{self.reason}"


class TeacherLine(BaseModel):
    """One line of the file ``sft teacher`` writes: the teacher's caption and QA pairs for one clip.

    A caption the teacher disagreed with is kept for the record, with no QA pairs (none are asked
    for). A clip whose request failed carries ``failure`` and no QA pairs; its ``caption`` (and
    ``disagree_with_human_annotation``) is ``None`` when the caption request itself failed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    narration_id: str
    uid: str
    video_id: str
    teacher: str
    caption: str | None
    disagree_with_human_annotation: bool | None
    qa: tuple[QAPair, ...]
    failure: TeacherFailure | None = None

    @model_validator(mode="after")
    def _caption_missing_only_when_its_request_failed(self) -> TeacherLine:
        caption_failed = self.failure is not None and self.failure.request == "caption"
        if (self.caption is None or self.disagree_with_human_annotation is None) != caption_failed:
            raise ValueError(
                "caption and disagree_with_human_annotation are null exactly when the caption request failed"
            )
        if self.failure is not None and self.qa:
            raise ValueError("a clip with a failure has no QA pairs")
        return self


Line = TypeVar("Line", SceneLine, TeacherLine)


@dataclass(frozen=True)
class ClipText:
    """What the caption and open-QA tasks need; ``dropped`` says why the clip must be skipped."""

    caption: str
    qa: tuple[QAPair, ...]
    teacher: str
    video_id: str
    dropped: str | None = None


@dataclass(frozen=True)
class ClipTexts:
    """Clip texts by narration id, and the file they came from (for error messages)."""

    path: Path
    by_narration: Mapping[str, ClipText]

    def for_segment(self, segment: Segment) -> ClipText:
        text = self.by_narration.get(segment.narration_id)
        if text is None:
            raise InputError(
                self.path,
                "no caption/QA entry for a clip the mixture selected (a stale or foreign file? "
                "rebuild it for these annotations, mixture and seed)",
                key=segment.narration_id,
            )
        if text.video_id != segment.video_id:
            raise InputError(
                self.path,
                f"entry is for video {text.video_id}, the annotations put it in {segment.video_id}",
                key=segment.narration_id,
            )
        return text


def load_scenes(path: Path) -> ClipTexts:
    """The toy world's ``scenes.jsonl``: its descriptions stand in for GPT-4o captions, its QA for GPT QA."""
    lines = _read_lines(path, SceneLine)
    return ClipTexts(
        Path(path),
        {
            line.narration_id: ClipText(line.description, line.qa, SCENES_TEACHER, line.video_id)
            for line in lines
        },
    )


def load_teacher_file(path: Path) -> ClipTexts:
    """The output of ``sft teacher``; disagreeing captions and failed clips come back marked as dropped."""
    lines = _read_lines(path, TeacherLine)
    return ClipTexts(
        Path(path),
        {
            line.narration_id: ClipText(
                line.caption or "", line.qa, line.teacher, line.video_id, _dropped_reason(line)
            )
            for line in lines
        },
    )


def _dropped_reason(line: TeacherLine) -> str | None:
    if line.failure is not None:
        return line.failure.skip_reason
    return DISAGREE_REASON if line.disagree_with_human_annotation else None


def _read_lines(path: Path, model: type[Line]) -> list[Line]:
    """Validated lines; a bad or repeated narration id names the file and line number."""
    lines: list[Line] = []
    seen: set[str] = set()
    for lineno, line in read_jsonl_models(path, model, model.__name__):
        if line.narration_id in seen:
            raise InputError(path, f"narration id {line.narration_id} appears twice", line=lineno)
        seen.add(line.narration_id)
        lines.append(line)
    return lines
