"""The ``sft teacher`` verb's work: captions and QA pairs for train clips from an OpenAI-compatible teacher.

As upstream: a caption per clip from its frames (``CaptionResponse``); a caption the teacher
disagrees with is dropped and gets no QA; the others are expanded, text only, into three QA
pairs (``QAExpansionResponse``). Clips go in batches so only one batch of frames is in memory;
every reply is cached by the client, so a failed run resumes where it stopped when rerun.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, TypeVar

import numpy as np
from pydantic import BaseModel

from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.ek100.schema import SPLIT_FILES
from actionmqa.io import read_yaml_model, write_jsonl
from actionmqa.sft.assemble import selected_segments
from actionmqa.sft.clip_texts import QAPair, TeacherLine
from actionmqa.sft.mixture import load_mixture
from actionmqa.sft.segments import Segment, segments_in_order
from actionmqa.sft.tasks.caption import TASK as CAPTION_TASK
from actionmqa.sft.tasks.open_qa import TASK as OPEN_QA_TASK
from actionmqa.sft.teacher_prompts import caption_system_prompt, qa_expansion_system_prompt
from actionmqa.teacher import CaptionResponse, ChatRequest, QAExpansionResponse, TeacherClient, TeacherConfig
from actionmqa.video.decoders import Backend
from actionmqa.video.layout import make_layout
from actionmqa.video.readers import ClipReader, ClipRequest

log = logging.getLogger(__name__)

#: Frames of a batch of segments, by segment key (RGB uint8, ``n x H x W x 3``).
FrameSource = Callable[[Sequence[Segment]], Mapping[str, Sequence[np.ndarray]]]


class ChatMapper(Protocol):
    """What this module needs of ``TeacherClient``: many requests, results in input order."""

    def map(self, requests: Iterable[ChatRequest], *, progress: bool = False) -> list[BaseModel | str]: ...


def reader_frames(reader: ClipReader, n_frames: int) -> FrameSource:
    """Frames decoded from the videos, ``n_frames`` per clip at segment midpoints (upstream: 4)."""

    def frames_for(batch: Sequence[Segment]) -> dict[str, np.ndarray]:
        requests = [
            ClipRequest(s.key, s.participant_id, s.video_id, s.start_sec, s.stop_sec, n_frames) for s in batch
        ]
        return {request.key: frames for request, frames in reader.read(requests)}

    return frames_for


def teacher_lines(
    segments: Sequence[Segment],
    client: ChatMapper,
    teacher: str,
    frames_for: FrameSource,
    batch_size: int = 64,
) -> Iterator[TeacherLine]:
    """One line per segment, in the order given; ``teacher`` (the model name) is recorded on each."""
    for begin in range(0, len(segments), batch_size):
        batch = segments[begin : begin + batch_size]
        frames = frames_for(batch)
        replies = client.map(
            ChatRequest(caption_system_prompt(s.narration, s.duration), "", frames[s.key], CaptionResponse)
            for s in batch
        )
        captions = [_expect(CaptionResponse, reply) for reply in replies]
        agreed = [caption for caption in captions if not caption.disagree_with_human_annotation]
        replies = client.map(
            ChatRequest(qa_expansion_system_prompt(c.answer_with_reasoning), "", None, QAExpansionResponse)
            for c in agreed
        )
        expansions = iter([_expect(QAExpansionResponse, reply) for reply in replies])
        for segment, caption in zip(batch, captions, strict=True):
            qa = () if caption.disagree_with_human_annotation else next(expansions).pairs()
            yield TeacherLine(
                narration_id=segment.narration_id,
                uid=segment.uid,
                video_id=segment.video_id,
                teacher=teacher,
                caption=caption.answer_with_reasoning,
                disagree_with_human_annotation=caption.disagree_with_human_annotation,
                qa=tuple(QAPair(question=q, answer=a) for q, a in qa),
            )
        log.info("teacher: %d of %d clips done", min(begin + batch_size, len(segments)), len(segments))


Reply = TypeVar("Reply", CaptionResponse, QAExpansionResponse)


def _expect(model: type[Reply], reply: BaseModel | str) -> Reply:
    """The client parses into the requested schema; anything else is a programming error."""
    if not isinstance(reply, model):
        raise TypeError(f"expected a {model.__name__} reply, got {type(reply).__name__}")
    return reply


@dataclass(frozen=True)
class TeachRequest:
    """Everything ``sft teacher`` reads; with ``mixture_file`` and ``seed``, only selected clips are sent."""

    annotations_dir: Path
    teacher_config: Path
    video_root: Path
    out: Path
    split: str = "train"
    layout: Literal["whole", "chunks"] = "whole"
    chunk_sec: int = 15
    backend: Backend = "pyav"
    frames: int = 4
    batch_size: int = 64
    mixture_file: Path | None = None
    seed: int | None = None


def teach(request: TeachRequest) -> int:
    """Write the teacher file (a ``TeacherLine`` per clip); returns how many captions were disowned."""
    config = load_teacher_config(request.teacher_config)
    ann = load_annotation_dir(request.annotations_dir)
    segments = segments_in_order(ann.split(request.split), ann.root / SPLIT_FILES[request.split])
    if request.mixture_file is not None and request.seed is not None:
        mixture = load_mixture(request.mixture_file)
        tasks = [(CAPTION_TASK, mixture.caption.fraction), (OPEN_QA_TASK, mixture.open_qa.fraction)]
        segments = selected_segments(segments, tasks, request.seed)
    reader = ClipReader(make_layout(request.layout, request.video_root, request.chunk_sec), request.backend)
    frames = reader_frames(reader, request.frames)
    client = TeacherClient(config)
    lines = list(teacher_lines(segments, client, config.model, frames, request.batch_size))
    write_jsonl(request.out, (line.model_dump(mode="json") for line in lines))
    dropped = sum(line.disagree_with_human_annotation for line in lines)
    log.info("%s: %d clips, %d captions the teacher disagreed with", request.out, len(lines), dropped)
    return dropped


def load_teacher_config(path: Path) -> TeacherConfig:
    """A ``TeacherConfig`` from YAML/JSON; a bad or unknown key is named."""
    return read_yaml_model(path, TeacherConfig, "teacher config")
