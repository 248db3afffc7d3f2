"""``eval recognition``: two-stage EK100 action recognition of a model over one split.

Reads the annotations and the specialist's prediction file (checked row by row against the
split), asks the model to pick among each clip's top-K, and writes the per-clip picks and a
summary with the pipeline's verb/noun/action top-1 beside the specialist's own.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.ek100.labels import LabelMap, narration_pools
from actionmqa.ek100.schema import SPLIT_FILES
from actionmqa.evaluate.answering import answer_all, chat_sample
from actionmqa.evaluate.clips import ClipSource, clips_for, in_order
from actionmqa.evaluate.generation import Generate, GreedyGenerator
from actionmqa.evaluate.likelihood import LikelihoodScorer, ScoreAnswers
from actionmqa.evaluate.loading import load_model
from actionmqa.evaluate.two_stage import Candidates, prediction, retrieve, select, summarise
from actionmqa.io import sha256_file, write_json, write_jsonl
from actionmqa.mqa.builder import POOL_SPLIT
from actionmqa.mqa.options import OptionTexter, TextMode
from actionmqa.prompts import mqa_prompt
from actionmqa.sft.segments import segments_in_order
from actionmqa.specialist.predictions import load_predictions
from actionmqa.video.readers import ClipRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecognitionJob:
    """Everything ``actionmqa eval recognition`` was told."""

    model: Path
    annotations_dir: Path
    specialist_predictions: Path
    clips: ClipSource
    summary: Path
    predictions: Path
    split: str = "validation"
    top_k: int = 20
    text: TextMode = TextMode.NARRATION
    seed: int = 0
    time_instruction: bool = False
    batch_size: int = 8
    max_new_tokens: int = 32
    likelihood_fallback: bool = True
    limit: int | None = None


def stage_one(job: RecognitionJob) -> list[Candidates]:
    """Every segment of the split (canonical order, first ``limit``) with its top-K as options."""
    ann = load_annotation_dir(job.annotations_dir)
    table = ann.split(job.split)
    ranked = load_predictions(job.specialist_predictions, table, min_k=job.top_k)
    pools = narration_pools(ann.split(POOL_SPLIT)) if job.text is TextMode.NARRATION else {}
    texter = OptionTexter(job.text, LabelMap.from_annotations(ann), pools, job.seed)
    segments = segments_in_order(table, ann.root / SPLIT_FILES[job.split])[: job.limit]
    return [retrieve(segment, ranked[segment.row], job.top_k, texter) for segment in segments]


def clip_request(candidates: Candidates, n_frames: int) -> ClipRequest:
    segment = candidates.segment
    return ClipRequest(
        segment.key, segment.participant_id, segment.video_id, segment.start_sec, segment.stop_sec, n_frames
    )


def run_recognition(
    job: RecognitionJob, generate: Generate | None = None, score_answers: ScoreAnswers | None = None
) -> dict[str, Any]:
    """Both stages, both outputs written atomically; ``generate``/``score_answers`` replace the model."""
    asked = stage_one(job)
    if generate is None:
        loaded = load_model(job.model)
        generate = GreedyGenerator(loaded, job.max_new_tokens)
        score_answers = LikelihoodScorer(loaded) if job.likelihood_fallback else None
    reader = job.clips.reader()
    samples = (
        (candidates, chat_sample(mqa_prompt(candidates.options), frames, _duration(candidates, job)))
        for candidates, frames in clips_for(reader, asked, lambda c: clip_request(c, job.clips.frames))
    )
    rows = [
        prediction(candidates, raw, select(candidates, raw, sample, score_answers))
        for candidates, sample, raw in answer_all(
            tqdm(samples, total=len(asked), desc="two-stage", unit="clip"), generate, job.batch_size
        )
    ]
    rows = in_order(rows, [c.segment.narration_id for c in asked], "narration_id")
    fallbacks = Counter(fallback for candidates in asked for fallback in candidates.fallbacks)
    summary = {
        **summarise(rows, job.top_k),
        "split": job.split,
        "text": job.text.value,
        "seed": job.seed,
        "frames": job.clips.frames,
        "time_instruction": job.time_instruction,
        "max_new_tokens": job.max_new_tokens,
        "likelihood_fallback": job.likelihood_fallback,
        "text_fallbacks": dict(sorted(fallbacks.items())),
        "clipped": len(reader.stats.clipped),
        "model": str(job.model),
        "specialist_predictions": str(job.specialist_predictions),
        "specialist_predictions_sha256": sha256_file(job.specialist_predictions),
    }
    write_jsonl(job.predictions, rows)
    write_json(job.summary, summary)
    log.info(
        "two-stage recognition on %d clips: action top-1 %.2f (specialist %.2f, top-%d recall %.2f)",
        summary["n"],
        summary["two_stage"]["action_top1"],
        summary["specialist"]["action_top1"],
        job.top_k,
        summary["top_k_recall"],
    )
    return summary


def _duration(candidates: Candidates, job: RecognitionJob) -> float | None:
    return candidates.segment.duration if job.time_instruction else None
