"""``base vision``: pretrain the world's SigLIP tower on its train clips, save it as ``base init`` reads it.

The folder holds what ``SiglipVisionModel.from_pretrained`` needs (config.json, safetensors),
the ``preprocessor_config.json`` of the frames it was trained on, and ``vision.json`` (the class
lists of the probe head and the recipe). Only the train split is read: validation clips are the
benchmark's, and the held-out part that measures generalisation is a seeded 10% of train.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from actionmqa.basemodel.clips import ClipSet, decode_clips, heldout_mask
from actionmqa.basemodel.pretrain import PretrainedTower, VisionRecipe, pretrain
from actionmqa.basemodel.tower import FEATURE_LAYER, tower_config
from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.ek100.schema import SPLIT_FILES
from actionmqa.io import atomic_dir, write_json
from actionmqa.model.processing import FrameProcessor
from actionmqa.sft.segments import segments_in_order
from actionmqa.video.decoders import Backend
from actionmqa.video.layout import make_layout
from actionmqa.video.readers import ClipReader

log = logging.getLogger(__name__)

PROVENANCE_FILE = "vision.json"
HELDOUT_FRACTION = 0.1


@dataclass(frozen=True)
class VisionJob:
    """Everything ``actionmqa base vision`` was told."""

    annotations_dir: Path
    video_root: Path
    out: Path
    metrics: Path
    recipe: VisionRecipe
    frames: int = 8
    image_size: int = 64
    patch_size: int = 16
    hidden: int = 128
    layers: int = 4
    layout: Literal["whole", "chunks"] = "whole"
    backend: Backend = "pyav"


def load_train_clips(job: VisionJob) -> ClipSet:
    annotations = load_annotation_dir(job.annotations_dir)
    segments = segments_in_order(annotations.split("train"), annotations.root / SPLIT_FILES["train"])
    with ClipReader(make_layout(job.layout, job.video_root), job.backend) as reader:
        return decode_clips(segments, reader, job.frames)


def build_vision(job: VisionJob) -> PretrainedTower:
    """Decode, pretrain, save the tower folder and the metrics; returns the trained tower."""
    started = time.perf_counter()
    clips = load_train_clips(job)
    decoded = time.perf_counter()
    heldout = heldout_mask(clips.keys, HELDOUT_FRACTION, job.recipe.seed)
    processor = FrameProcessor(job.image_size)
    config = tower_config(job.image_size, job.patch_size, job.hidden, job.layers)
    result = pretrain(clips, heldout, config, processor, job.recipe)
    log.info(
        "%d clips decoded in %.1f s, tower pretrained in %.1f s",
        len(clips),
        decoded - started,
        time.perf_counter() - decoded,
    )
    with atomic_dir(job.out) as staging:
        result.tower.save_pretrained(staging)
        processor.save_pretrained(staging)
        write_json(staging / PROVENANCE_FILE, provenance(job, clips))
    write_json(job.metrics, metrics(result, clips, heldout, job))
    return result


def provenance(job: VisionJob, clips: ClipSet) -> dict[str, Any]:
    return {
        "annotations_dir": str(job.annotations_dir),
        "feature_layer": FEATURE_LAYER,
        "frames": job.frames,
        "verb_classes": list(clips.verb_classes),
        "noun_classes": list(clips.noun_classes),
        "recipe": asdict(job.recipe),
    }


def metrics(result: PretrainedTower, clips: ClipSet, heldout: np.ndarray, job: VisionJob) -> dict[str, Any]:
    """Accuracies (train, held-out) beside what guessing the commonest train class gets on held-out clips."""
    majority = {
        name: float((labels[heldout] == np.bincount(labels[~heldout]).argmax()).mean())
        for name, labels in (("verb", clips.verbs), ("noun", clips.nouns))
    }
    return {
        "train": asdict(result.train),
        "heldout": asdict(result.heldout),
        "heldout_majority_class": majority,
        "final_loss": result.final_loss,
        "head": job.recipe.head,
        "steps": job.recipe.steps,
    }
