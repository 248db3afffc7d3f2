"""What each ``actionmqa eval`` verb is told: one dataclass per verb, each knob defined once.

A field declared with a knob is also the verb's flag (``actionmqa.flags``): its help, default and
bounds live here and nowhere else; ``evaluate.cli`` derives the parsers from these classes and
builds them back. ``summary`` and ``predictions`` are where a whole (unsharded) run writes; a
sharded run writes parts instead (``evaluate.runner``). Kept free of torch, so that parsing a
command line does not load it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from actionmqa.bench.records import ParseMode
from actionmqa.flags import knob
from actionmqa.mqa.options import TextMode
from actionmqa.video.decoders import Backend
from actionmqa.video.layout import make_layout
from actionmqa.video.readers import ClipReader

#: The five video-QA benchmarks, by their adapters' names (``actionmqa.bench.ADAPTERS``).
BenchmarkName = Literal["egoschema", "perceptiontest", "longvideobench", "videomme", "mvbench"]
ALL_MODES: tuple[ParseMode, ...] = (ParseMode.LMMS_EVAL, ParseMode.OFFICIAL, ParseMode.STRICT)


# Knobs that several verbs offer alike.


def _model() -> Any:
    return knob(help="saved model folder")


def _mqa_benchmark() -> Any:
    return knob(help="frozen EK100-MQA JSONL")


def _annotations_dir() -> Any:
    return knob(help="EK100 annotations folder")


def _split() -> Any:
    return knob("validation", "the split the clips belong to")


def _backend() -> Any:
    return knob("pyav", "video decoder")


def _limit() -> Any:
    return knob(None, "evaluate only the first N questions", minimum=1)


@dataclass(frozen=True)
class ClipSource:
    """Where the EK100 videos are and how many frames each clip shows (segment midpoints, §5)."""

    video_root: Path = knob(help="root of the EK100 videos")
    layout: Literal["whole", "chunks"] = knob(help="video file layout")
    frames: int = knob(8, "frames per clip", minimum=1)
    backend: Backend = _backend()

    def reader(self) -> ClipReader:
        return ClipReader(make_layout(self.layout, self.video_root), self.backend)


@dataclass(frozen=True, kw_only=True)
class ClipAnswersJob:
    """What the verbs over EK100 clips (``mqa``, ``sap``, ``recognition``) share: a saved model
    answering greedily what it sees of each clip."""

    model: Path = _model()
    clips: ClipSource
    summary: Path | None = None
    predictions: Path | None = None
    time_instruction: bool = knob(False, "state the clip's duration and frame count (7B final run)")
    batch_size: int = knob(8, "questions per generate call", minimum=1)
    max_new_tokens: int = knob(32, "generation length cap", minimum=1)
    #: Score the options by likelihood too: a second view of each answer in MQA and SAP, and in
    #: recognition the pick when an answer does not parse (each verb's ``--skip-likelihood``).
    likelihood: bool = True
    limit: int | None = _limit()


@dataclass(frozen=True, kw_only=True)
class MQAJob(ClipAnswersJob):
    """``eval mqa`` on one benchmark (the verb takes several, one job each)."""

    benchmark: Path


@dataclass(frozen=True, kw_only=True)
class SAPJob(ClipAnswersJob):
    """``eval sap``: a second MQA pass told the model's own earlier answers."""

    benchmark: Path = _mqa_benchmark()
    first_pass: Path = knob(help="per-question predictions of 'eval mqa' on it")
    annotations_dir: Path = _annotations_dir()
    split: str = _split()
    max_gap_sec: float = knob(3.0, "largest gap between consecutive prior actions")


@dataclass(frozen=True, kw_only=True)
class RecognitionJob(ClipAnswersJob):
    """``eval recognition``: a specialist's top-K classes per clip, then the model picks one."""

    annotations_dir: Path = _annotations_dir()
    specialist_predictions: Path = knob(
        help="the specialist's prediction JSON for the split", flag="--predictions"
    )
    split: str = _split()
    top_k: int = knob(20, "classes retrieved per clip", minimum=1)
    text: TextMode = knob(TextMode.NARRATION, "how a class reads as an option")
    seed: int = knob(0, "seed of the option texts and order")


@dataclass(frozen=True)
class BenchJob:
    """``eval bench``: one video-QA benchmark as lmms-eval runs it, scored in each parser mode."""

    model: Path = _model()
    benchmark: BenchmarkName = knob(help="which benchmark")
    data: Path = knob(help="the benchmark's root folder (real layout)")
    frames: int = knob(help="frames sampled per video", minimum=1)
    summary: Path | None = None
    predictions: Path | None = None
    videos: Path | None = knob(None, "video root, if not the benchmark's default folder")
    modes: tuple[ParseMode, ...] = knob(ALL_MODES, "answer parsers to report", flag="--mode")
    seed: int = knob(0, "seed of lmms-eval's random fallbacks")
    subtitles: bool = knob(False, "Video-MME w/ subtitles; LongVideoBench _i")
    batch_size: int = knob(1, "questions per generate call", minimum=1)
    #: ``None`` is the task's own lmms-eval cap (``evaluate.bench.MAX_NEW_TOKENS``).
    max_new_tokens: int | None = knob(None, "generation cap (default: the task's lmms-eval cap)", minimum=1)
    limit: int | None = _limit()
    backend: Backend = _backend()


@dataclass(frozen=True)
class APIJob:
    """``eval api``: EK100-MQA asked of an OpenAI-compatible endpoint (the GPT-4o baseline).
    ``batch_size`` bounds the frames held at once; the client sends a batch's requests
    ``max_concurrency`` at a time."""

    benchmark: Path = _mqa_benchmark()
    teacher_config: Path = knob(help="YAML/JSON of actionmqa.teacher.TeacherConfig")
    clips: ClipSource
    summary: Path | None = None
    predictions: Path | None = None
    batch_size: int = knob(32, "clips decoded per round of requests", minimum=1)
    limit: int | None = _limit()


@dataclass(frozen=True)
class ThroughputJob:
    """``eval throughput``: the evaluation to time; its ``batch_size`` is replaced by each of
    ``batch_sizes``, the first of which the others' answers are compared with."""

    job: MQAJob
    batch_sizes: tuple[int, ...] = knob((1, 4, 16), "answers compared with the first", minimum=1)
    warmup: int = knob(8, "questions answered untimed first, at the largest batch size", minimum=0)
