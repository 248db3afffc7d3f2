"""The released-specialist steps the rules call: convert, score one shard, rank a split.

Each step reads files and writes files; the CLI only parses arguments around these functions.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actionmqa.ek100.annotations import AnnotationSet, load_annotation_dir
from actionmqa.ek100.labels import LabelMap
from actionmqa.errors import InputError
from actionmqa.io import sha256_file, write_json
from actionmqa.specialist.metrics import Subsets, recognition_metrics
from actionmqa.specialist.predictions import write_predictions
from actionmqa.specialist.released.architecture import Architecture
from actionmqa.specialist.released.checkpoint import CONFIG_FILE, ConvertedCheckpoint, load_converted
from actionmqa.specialist.released.convert import convert_release
from actionmqa.specialist.released.inference import score_segments
from actionmqa.specialist.released.ranking import ensemble_action_probs, head_scores, rank
from actionmqa.specialist.released.scores import merge_shards, shard_bounds
from actionmqa.specialist.released.settings import InferenceConfig
from actionmqa.specialist.released.zoo import Release
from actionmqa.video.decoders import Backend
from actionmqa.video.layout import VideoLayout

log = logging.getLogger(__name__)

#: What the manifest of a train-split prediction file of these models says about it.
IN_SAMPLE_NOTE = (
    "in-sample: these public checkpoints were fine-tuned on EK100 train, so their train predictions"
    " rank the true class higher and miss it less often than held-out predictions would (the paper's"
    " TIM train predictions were cross-validated; the built-in specialists' k-fold path gives"
    " out-of-fold ones)"
)


def label_space(annotations: AnnotationSet) -> tuple[str, ...]:
    """AVION's action label space: train and validation are both required, as upstream reads both."""
    annotations.split("train")
    annotations.split("validation")
    return LabelMap.from_annotations(annotations).actions


def actions_digest(actions: Sequence[str]) -> str:
    """sha256 of the label space in order: a cheap identity check between stages."""
    return hashlib.sha256("\n".join(actions).encode()).hexdigest()


def convert(
    release_path: Path,
    annotations_dir: Path,
    out_dir: Path,
    *,
    name: str,
    arch: Architecture,
    release: Release | None,
) -> ConvertedCheckpoint:
    """A released file, checked against ``arch`` and the annotations' label space, as a converted folder."""
    actions = label_space(load_annotation_dir(annotations_dir))
    source: dict[str, Any] = {"checkpoint": name}
    if release is not None:
        source |= {
            "title": release.title,
            "url": release.url,
            "md5_prefix": release.md5_prefix,
            "published": vars(release.published),
            "page": release.source,
        }
    return convert_release(release_path, arch, actions, out_dir, name=name, source=source)


@dataclass(frozen=True)
class ShardJob:
    """One block of one split, scored by one converted specialist."""

    model_dir: Path
    annotations_dir: Path
    split: str
    shard: int
    shards: int
    layout: VideoLayout
    backend: Backend
    inference: InferenceConfig
    out: Path


def score_shard(job: ShardJob) -> None:
    annotations = load_annotation_dir(job.annotations_dir)
    actions = label_space(annotations)
    model, checkpoint = load_converted(job.model_dir)
    checkpoint.require_actions(actions, job.model_dir / CONFIG_FILE)
    segments = annotations.split(job.split)
    start, stop = shard_bounds(len(segments), job.shard, job.shards)
    meta = {
        "model": {
            "name": checkpoint.name,
            "architecture": checkpoint.architecture.to_dict(),
            "source": checkpoint.source,
            "actions_sha256": actions_digest(actions),
        },
        "split": job.split,
        "shard": job.shard,
        "shards": job.shards,
    }
    log.info("%s shard %d/%d: rows %d-%d of %d", job.split, job.shard, job.shards, start, stop, len(segments))
    scores = score_segments(
        model,
        checkpoint.architecture,
        segments.iloc[start:stop],
        job.layout,
        job.backend,
        job.inference,
        meta,
    )
    if len(scores.clipped_rows):
        log.warning(
            "%d clips ran past their video's end and were clipped: rows %s",
            len(scores.clipped_rows),
            scores.clipped_rows.tolist(),
        )
    scores.save(job.out)


@dataclass(frozen=True)
class RankJob:
    """A split's predictions from one specialist or an ensemble (members by name, shards in order)."""

    annotations_dir: Path
    split: str
    members: Mapping[str, Sequence[Path]]
    top_k: int
    variant: str
    out: Path
    manifest: Path
    description: str = ""
    stands_in_for: str | None = None


def rank_split(job: RankJob) -> dict[str, Any]:
    """Write the TIM/AVION-format predictions and a manifest (sources, accuracy, in-sample note)."""
    annotations = load_annotation_dir(job.annotations_dir)
    actions = label_space(annotations)
    segments = annotations.split(job.split)
    merged = {name: merge_shards(list(paths), segments) for name, paths in job.members.items()}
    digest = actions_digest(actions)
    for name, shard in merged.items():
        if shard.meta.get("model", {}).get("actions_sha256") != digest:
            raise InputError(
                job.members[name][0],
                "scored over another label space than these annotations'",
                key="meta.model.actions_sha256",
            )
    members = list(merged.values())
    action_probs = ensemble_action_probs(members)
    ranked = rank(action_probs, actions, job.top_k)
    subsets = Subsets.from_annotations(annotations)
    metrics = recognition_metrics(
        ranked,
        head_scores(members, action_probs, actions),
        segments,
        subsets if job.split == "validation" else subsets.for_train(),
    )
    write_predictions(
        job.out, dict(zip(segments.index.tolist(), ranked, strict=True)), segments, key_order="rows"
    )
    in_sample = job.split == "train"
    manifest = {
        "variant": job.variant,
        "description": job.description,
        "stands_in_for": job.stands_in_for,
        "split": job.split,
        "members": {name: shard.meta["model"]["source"] for name, shard in merged.items()},
        "action_scores": (
            "mean of the members' action-head softmax" if len(members) > 1 else "the action head's softmax"
        ),
        "verb_noun_scores": (
            "the model's own verb and noun heads"
            if len(members) == 1 and "verb" in members[0].probs
            else "sums of action probabilities over the actions sharing the verb or noun (AVION)"
        ),
        "in_sample": in_sample,
        "in_sample_note": IN_SAMPLE_NOTE if in_sample else None,
        "rows": len(segments),
        "top_k": min(job.top_k, len(actions)),
        "label_space_actions": len(actions),
        "clipped_rows": sorted({int(row) for shard in members for row in shard.clipped_rows}),
        "metrics": metrics,
        "predictions": {"file": job.out.name, "sha256": sha256_file(job.out)},
    }
    write_json(job.manifest, manifest)
    log.info(
        "%s %s: action top-1 %.4f top-5 %.4f, verb top-1 %.4f, noun top-1 %.4f -> %s",
        job.variant,
        job.split,
        metrics["action_top1"],
        metrics["action_top5"],
        metrics["verb_top1"],
        metrics["noun_top1"],
        job.out,
    )
    return manifest
