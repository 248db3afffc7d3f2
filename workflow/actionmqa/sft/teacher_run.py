"""The ``sft teacher`` verb's work: captions and QA pairs for train clips from an OpenAI-compatible teacher.

As upstream: a caption per clip from its frames (``CaptionResponse``); a caption the teacher
disagrees with is dropped and gets no QA; the others are expanded, text only, into three QA
pairs (``QAExpansionResponse``). Clips go in batches so only one batch of frames is in memory;
every reply is cached by the client, so a failed run resumes where it stopped when rerun.

At the paper's scale some requests are refused, or answered with something that stays invalid
after the client's retries. Such a clip is not fatal: its line carries the failure, the clips
are listed in ``<out>.failures.jsonl`` (clip, request, reason, excerpt) and counted in
``<out>.manifest.json``, and the job succeeds while they stay within ``max_failure_share`` of
the teacher config; above it, it fails and lists them. The client records each failure in its
cache, so a rerun asks again only when told to (``ask_again``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import numpy as np

from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.ek100.schema import SPLIT_FILES
from actionmqa.io import read_yaml_model, sha256_file, write_json, write_jsonl
from actionmqa.sft.assemble import selected_segments
from actionmqa.sft.clip_texts import QAPair, TeacherFailure, TeacherLine
from actionmqa.sft.manifest import manifest_path
from actionmqa.sft.mixture import load_mixture
from actionmqa.sft.segments import Segment, segments_in_order
from actionmqa.sft.tasks.caption import TASK as CAPTION_TASK
from actionmqa.sft.tasks.open_qa import TASK as OPEN_QA_TASK
from actionmqa.sft.teacher_prompts import caption_system_prompt, qa_expansion_system_prompt
from actionmqa.teacher import (
    CaptionResponse,
    ChatRequest,
    QAExpansionResponse,
    TeacherClient,
    TeacherConfig,
    TeacherError,
    TeacherReplyError,
)
from actionmqa.teacher.client import Outcome
from actionmqa.video.decoders import Backend
from actionmqa.video.layout import make_layout
from actionmqa.video.readers import ClipReader, ClipRequest

log = logging.getLogger(__name__)

#: Frames of a batch of segments, by segment key (RGB uint8, ``n x H x W x 3``).
FrameSource = Callable[[Sequence[Segment]], Mapping[str, Sequence[np.ndarray]]]


#: Failed clips named in the error of a job above its failure share (all of them are in the log).
MAX_LISTED = 20


class ChatMapper(Protocol):
    """What this module needs of ``TeacherClient``: many requests, outcomes in input order."""

    def map_outcomes(self, requests: Iterable[ChatRequest], *, progress: bool = False) -> list[Outcome]: ...


def failures_path(out: Path) -> Path:
    """``teacher.jsonl`` -> ``teacher.failures.jsonl``: the clips the teacher failed on."""
    return out.with_suffix(".failures.jsonl")


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
    """One line per segment, in the order given; ``teacher`` (the model name) is recorded on each.

    A refused or unusable caption request leaves the clip without caption and QA; a failed QA
    request leaves it without QA. Either way the line carries the failure.
    """
    for begin in range(0, len(segments), batch_size):
        batch = segments[begin : begin + batch_size]
        frames = frames_for(batch)
        captions = client.map_outcomes(
            ChatRequest(caption_system_prompt(s.narration, s.duration), "", frames[s.key], CaptionResponse)
            for s in batch
        )
        agreed = {
            segment.key: caption
            for segment, caption in zip(batch, captions, strict=True)
            if isinstance(caption, CaptionResponse) and not caption.disagree_with_human_annotation
        }
        expansions = client.map_outcomes(
            ChatRequest(qa_expansion_system_prompt(c.answer_with_reasoning), "", None, QAExpansionResponse)
            for c in agreed.values()
        )
        expansion_of = dict(zip(agreed, expansions, strict=True))
        for segment, caption in zip(batch, captions, strict=True):
            yield _line(segment, teacher, caption, expansion_of.get(segment.key))
        log.info("teacher: %d of %d clips done", min(begin + batch_size, len(segments)), len(segments))


def _line(segment: Segment, teacher: str, caption: Outcome, expansion: Outcome | None) -> TeacherLine:
    ids = {"narration_id": segment.narration_id, "uid": segment.uid, "video_id": segment.video_id}
    if isinstance(caption, TeacherReplyError):
        failed = _failure("caption", caption)
        return TeacherLine(
            **ids, teacher=teacher, caption=None, disagree_with_human_annotation=None, qa=(), failure=failed
        )
    caption = _expect(CaptionResponse, caption)
    qa: tuple[QAPair, ...] = ()
    failure = None
    if isinstance(expansion, TeacherReplyError):
        failure = _failure("qa", expansion)
    elif expansion is not None:
        qa = tuple(QAPair(question=q, answer=a) for q, a in _expect(QAExpansionResponse, expansion).pairs())
    return TeacherLine(
        **ids,
        teacher=teacher,
        caption=caption.answer_with_reasoning,
        disagree_with_human_annotation=caption.disagree_with_human_annotation,
        qa=qa,
        failure=failure,
    )


def _failure(request: Literal["caption", "qa"], error: TeacherReplyError) -> TeacherFailure:
    return TeacherFailure(
        request=request, reason=error.reason, excerpt=error.excerpt, request_sha256=error.request_hash
    )


Reply = TypeVar("Reply", CaptionResponse, QAExpansionResponse)


def _expect(model: type[Reply], reply: Outcome) -> Reply:
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
    #: Ask again for clips whose refusal or invalid reply an earlier run recorded.
    ask_again: bool = False


def teach(request: TeachRequest) -> dict[str, Any]:
    """Write the teacher file (a ``TeacherLine`` per clip), its failures and its manifest; returns
    the manifest. Raises ``TeacherError`` listing the failed clips when they exceed the teacher
    config's ``max_failure_share``."""
    config = load_teacher_config(request.teacher_config)
    ann = load_annotation_dir(request.annotations_dir)
    segments = segments_in_order(ann.split(request.split), ann.root / SPLIT_FILES[request.split])
    if request.mixture_file is not None and request.seed is not None:
        mixture = load_mixture(request.mixture_file)
        tasks = [(CAPTION_TASK, mixture.caption.fraction), (OPEN_QA_TASK, mixture.open_qa.fraction)]
        segments = selected_segments(segments, tasks, request.seed)
    reader = ClipReader(make_layout(request.layout, request.video_root, request.chunk_sec), request.backend)
    frames = reader_frames(reader, request.frames)
    client = TeacherClient(config, ask_again=request.ask_again)
    lines = list(teacher_lines(segments, client, config.model, frames, request.batch_size))
    log.info(
        "teacher requests: %d sent, %d answered from the cache, %d failures recorded by an earlier run%s",
        client.counts["requests"],
        client.counts["cached"],
        client.counts["recorded"],
        "" if request.ask_again else " (not asked again: pass --ask-again to)",
    )
    failed = [line for line in lines if line.failure is not None]
    write_jsonl(failures_path(request.out), (_failure_record(line) for line in failed))
    for line in failed:
        log.warning("teacher failed on clip %s: %s", line.narration_id, _describe(line))
    share = len(failed) / len(lines) if lines else 0.0
    if share > config.max_failure_share:
        listed = "; ".join(f"{line.narration_id} ({_describe(line)})" for line in failed[:MAX_LISTED])
        more = f"; and {len(failed) - MAX_LISTED} more" if len(failed) > MAX_LISTED else ""
        raise TeacherError(
            f"the teacher failed on {len(failed)} of {len(lines)} clips ({share:.2%}), more than the teacher"
            f" config's max_failure_share ({config.max_failure_share:.2%}, {request.teacher_config}): "
            f"{listed}{more}. All are listed in {failures_path(request.out)} and the log; rerun with"
            " --ask-again to ask for them again, or raise max_failure_share"
        )
    write_jsonl(request.out, (line.model_dump(mode="json") for line in lines))
    manifest = _manifest(request.out, config, lines, failed)
    write_json(manifest_path(request.out), manifest)
    log.info(
        "%s: %d clips, %d captions the teacher disagreed with, %d clips failed (%.2f%%, at most %.2f%%)",
        request.out,
        len(lines),
        manifest["disagreed"],
        len(failed),
        100 * share,
        100 * config.max_failure_share,
    )
    return manifest


def _describe(line: TeacherLine) -> str:
    assert line.failure is not None
    return f"{line.failure.request} {line.failure.reason}: {line.failure.excerpt!r}"


def _failure_record(line: TeacherLine) -> dict[str, Any]:
    assert line.failure is not None
    return {"narration_id": line.narration_id, "uid": line.uid, **line.failure.model_dump(mode="json")}


def _manifest(
    out: Path, config: TeacherConfig, lines: Sequence[TeacherLine], failed: Sequence[TeacherLine]
) -> dict[str, Any]:
    """What the teacher file holds; nothing run-dependent, so a rerun from the cache gives the same bytes."""
    by_kind = Counter(f"{line.failure.request}:{line.failure.reason}" for line in failed if line.failure)
    return {
        "output": {"file": out.name, "sha256": sha256_file(out)},
        "teacher": config.model,
        "clips": len(lines),
        "disagreed": sum(bool(line.disagree_with_human_annotation) for line in lines),
        "with_qa": sum(bool(line.qa) for line in lines),
        "failed": {
            "count": len(failed),
            "share": round(len(failed) / len(lines), 6) if lines else 0.0,
            "max_share": config.max_failure_share,
            "by_request_and_reason": dict(sorted(by_kind.items())),
            "file": failures_path(out).name,
        },
    }


def load_teacher_config(path: Path) -> TeacherConfig:
    """A ``TeacherConfig`` from YAML/JSON; a bad or unknown key is named."""
    return read_yaml_model(path, TeacherConfig, "teacher config")
