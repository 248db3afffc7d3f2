"""Build one frozen benchmark file and its manifest from an annotations directory (the ``mqa build`` verb)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.errors import InputError
from actionmqa.io import write_json, write_jsonl
from actionmqa.mqa.builder import BuildConfig, build_records
from actionmqa.mqa.distractors import DistractorKind
from actionmqa.mqa.manifest import build_manifest, manifest_path
from actionmqa.specialist.predictions import load_predictions, read_prediction_source

log = logging.getLogger(__name__)


def default_source(kind: DistractorKind, predictions: Path | None) -> str:
    """``random``, or the prediction file's stem (``tim_pred_ids_val``) when no name is given."""
    return (
        predictions.stem
        if kind.needs_predictions and predictions is not None
        else DistractorKind.RANDOM.value
    )


def build_benchmark(
    annotations_dir: Path,
    config: BuildConfig,
    out: Path,
    predictions: Path | None = None,
    predictions_manifest: Path | None = None,
) -> dict[str, Any]:
    """Write ``out`` (JSONL, one record per segment) and its manifest; returns the manifest.

    ``predictions_manifest`` (a public-weights specialist's) puts the source of the distractors,
    a stand-in included, into the benchmark's manifest.
    """
    if config.distractors.needs_predictions and predictions is None:
        raise InputError(None, f"{config.distractors.value} distractors need a specialist prediction file")
    if not config.distractors.needs_predictions and predictions is not None:
        raise InputError(predictions, "random distractors use no prediction file; leave it out")
    ann = load_annotation_dir(annotations_dir)
    ranked = None
    if predictions is not None:
        ranked = load_predictions(predictions, ann.split(config.split), min_k=config.n_options)
    result = build_records(ann, config, ranked)
    write_jsonl(out, (record.model_dump(mode="json") for record in result.records))
    inputs = ann.label_inputs() | ({"predictions": predictions} if predictions is not None else {})
    source = None
    if predictions_manifest is not None:
        if predictions is None:
            raise InputError(predictions_manifest, "a predictions manifest needs its prediction file")
        source = read_prediction_source(predictions_manifest, predictions)
        inputs["predictions_manifest"] = predictions_manifest
    manifest = build_manifest(out, config, result, inputs)
    if source is not None:
        manifest["distractor_specialist"] = source
    write_json(manifest_path(out), manifest)
    log.info(
        "%s: %d records, answer positions %s", out, manifest["records"], manifest["answer_position_counts"]
    )
    return manifest
