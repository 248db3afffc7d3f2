"""``eval recognition``: two-stage EK100 action recognition of a model over one split.

Reads the annotations and the specialist's prediction file (checked row by row against the
split), asks the model to pick among each clip's top-K, and writes the per-clip picks and a
summary with the pipeline's verb/noun/action top-1 beside the specialist's own.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.ek100.labels import LabelMap, narration_pools
from actionmqa.ek100.schema import SPLIT_FILES
from actionmqa.evaluate.answering import chat_sample
from actionmqa.evaluate.clips import ClipTask
from actionmqa.evaluate.generation import Generate, GreedyGenerator
from actionmqa.evaluate.jobs import RecognitionJob
from actionmqa.evaluate.likelihood import LikelihoodScorer, ScoreAnswers
from actionmqa.evaluate.loading import LoadedModel
from actionmqa.evaluate.runner import Answerer, Finished, Record, Seen, answerers_for, run, whole_target
from actionmqa.evaluate.two_stage import Candidates, prediction, retrieve, select, summarise
from actionmqa.io import sha256_file
from actionmqa.model.processing import ChatSample
from actionmqa.mqa.builder import POOL_SPLIT
from actionmqa.mqa.options import OptionTexter, TextMode
from actionmqa.prompts import mqa_prompt
from actionmqa.sft.segments import segments_in_order
from actionmqa.specialist.predictions import load_predictions
from actionmqa.video.readers import ClipRequest

log = logging.getLogger(__name__)


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


class RecognitionTask(ClipTask[Candidates]):
    """Stage 1 for every clip at once (cheap), stage 2 by the model, question by question."""

    kind = "recognition"
    label = "two-stage"
    job_type = RecognitionJob

    def __init__(self, job: RecognitionJob) -> None:
        self.job = job
        self.clips = job.clips
        self.asked = stage_one(job)

    def items(self) -> Sequence[Candidates]:
        return self.asked

    def key(self, item: Candidates) -> str:
        return item.segment.narration_id

    def describe(self, item: Candidates) -> Any:
        return dataclasses.asdict(item)

    def clip_request(self, item: Candidates) -> ClipRequest:
        return clip_request(item, self.clips.frames)

    def ask(self, seen: Seen[Candidates]) -> ChatSample:
        candidates = seen.item
        duration = candidates.segment.duration if self.job.time_instruction else None
        return chat_sample(mqa_prompt(candidates.options), seen.frames, duration)

    def answer(self, item: Candidates, sample: ChatSample, raw: str, answerer: Answerer) -> Record:
        return prediction(item, raw, select(item, raw, sample, answerer.score_answers))

    def answerer(self, loaded: LoadedModel) -> Answerer:
        likelihood = LikelihoodScorer(loaded) if self.job.likelihood else None
        return Answerer(GreedyGenerator(loaded, self.job.max_new_tokens), likelihood)

    def finish(self, records: list[Record], clipped: int) -> Finished:
        job = self.job
        fallbacks = Counter(fallback for candidates in self.asked for fallback in candidates.fallbacks)
        summary = {
            **summarise(records, job.top_k),
            "split": job.split,
            "text": job.text.value,
            "seed": job.seed,
            "frames": job.clips.frames,
            "time_instruction": job.time_instruction,
            "max_new_tokens": job.max_new_tokens,
            "likelihood_fallback": job.likelihood,
            "text_fallbacks": dict(sorted(fallbacks.items())),
            "clipped": clipped,
            "model": str(job.model),
            "specialist_predictions": str(job.specialist_predictions),
            "specialist_predictions_sha256": sha256_file(job.specialist_predictions),
        }
        log.info(
            "two-stage recognition on %d clips: action top-1 %.2f (specialist %.2f, top-%d recall %.2f)",
            summary["n"],
            summary["two_stage"]["action_top1"],
            summary["specialist"]["action_top1"],
            job.top_k,
            summary["top_k_recall"],
        )
        return records, summary


def run_recognition(
    job: RecognitionJob, generate: Generate | None = None, score_answers: ScoreAnswers | None = None
) -> dict[str, Any]:
    """Both stages, both outputs written atomically; ``generate``/``score_answers`` replace the model."""
    task = RecognitionTask(job)
    summary = run([(task, whole_target(job))], answerers_for(job.model, generate, score_answers))[0]
    assert summary is not None
    return summary
