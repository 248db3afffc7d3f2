"""Build one SFT mixture file and its manifest from an annotations directory (the ``sft build`` verb)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.ek100.labels import LabelMap, narration_pools
from actionmqa.ek100.schema import SPLIT_FILES
from actionmqa.errors import InputError
from actionmqa.io import write_json, write_jsonl
from actionmqa.sft.assemble import TaskInputs, assemble, make_generators
from actionmqa.sft.clip_texts import ClipTexts, load_scenes, load_teacher_file
from actionmqa.sft.manifest import build_manifest, manifest_path
from actionmqa.sft.mixture import MixtureConfig, load_mixture
from actionmqa.sft.records import RecordMaker
from actionmqa.sft.replay import replay_records
from actionmqa.sft.segments import segments_in_order
from actionmqa.specialist.predictions import load_predictions, read_prediction_source
from actionmqa.toybench.world import load_world

log = logging.getLogger(__name__)

#: Distractor narrations always come from train: validation text must never reach training (spec §8.3).
POOL_SPLIT = "train"


@dataclass(frozen=True)
class BuildRequest:
    """Everything ``sft build`` reads; ``frames`` set turns the time instruction on."""

    annotations_dir: Path
    mixture_file: Path
    seed: int
    out: Path
    split: str = "train"
    predictions: Mapping[str, Path] = field(default_factory=dict)
    #: Manifests of public-weights predictions by task name: their source (in-sample!) is recorded.
    prediction_manifests: Mapping[str, Path] = field(default_factory=dict)
    scenes: Path | None = None
    teacher_file: Path | None = None
    world: Path | None = None
    frames: int | None = None


def build_sft(request: BuildRequest) -> dict[str, Any]:
    """Write ``request.out`` (JSONL) and its manifest; returns the manifest."""
    mixture = load_mixture(request.mixture_file)
    check_sources(request, mixture)
    ann = load_annotation_dir(request.annotations_dir)
    table = ann.split(request.split)
    segments = segments_in_order(table, ann.root / SPLIT_FILES[request.split])
    inputs = TaskInputs(
        labels=LabelMap.from_annotations(ann),
        pools=narration_pools(ann.split(POOL_SPLIT)),
        predictions={
            name: load_predictions(path, table, min_k=2 * mixture.options)
            for name, path in request.predictions.items()
        },
        clip_texts=_clip_texts(request),
        world=None if mixture.video_mc.fraction == 0 else load_world(request.world, request.split),
    )
    generators = make_generators(segments, mixture, inputs, request.seed)
    maker = RecordMaker(inputs.labels, request.split, request.frames)
    assembly = assemble(segments, generators, maker, request.seed, progress=True)
    for task, reasons in sorted(assembly.skipped.items()):
        for reason, narration_ids in sorted(reasons.items()):
            # e.g. captions the teacher disowned, clips it refused (listed in the manifest)
            log.info("%s: %d selected clips left out (%s)", task, len(narration_ids), reason)
    replay = replay_records(mixture.replay.files, mixture.replay.fraction, request.seed)
    write_jsonl(request.out, [*(record.to_json() for record in assembly.records), *replay])
    manifest = build_manifest(
        request.out,
        split=request.split,
        seed=request.seed,
        mixture=mixture,
        frames=request.frames,
        assembly=assembly,
        replay_records=len(replay),
        inputs=_input_files(request, mixture, ann.label_inputs()),
    )
    if request.prediction_manifests:
        manifest["prediction_sources"] = {
            name: read_prediction_source(path, request.predictions[name])
            for name, path in sorted(request.prediction_manifests.items())
        }
    write_json(manifest_path(request.out), manifest)
    log.info("%s: %d records %s", request.out, manifest["records"], manifest["counts"])
    return manifest


def check_sources(request: BuildRequest, mixture: MixtureConfig) -> None:
    """A task the mixture asks for must have its input: fail before any work, naming the key."""
    if request.scenes is not None and request.teacher_file is not None:
        raise InputError(None, "give captions/QA from --scenes or from --teacher-file, not both")
    if mixture.hard_mqa.fraction > 0 and not request.predictions:
        raise InputError(
            request.mixture_file,
            "hard MQA needs specialist predictions: pass --predictions NAME=FILE or set the fraction to 0",
            key="hard_mqa.fraction",
        )
    if mixture.video_mc.fraction > 0 and request.world is None:
        raise InputError(
            request.mixture_file,
            "video_mc asks about a toy world's train videos: pass --world (or set the fraction to 0)",
            key="video_mc.fraction",
        )
    for name in request.prediction_manifests:
        if name not in request.predictions:
            raise InputError(None, f"a predictions manifest for '{name}', which has no --predictions")
    if mixture.needs_clip_texts and request.scenes is None and request.teacher_file is None:
        raise InputError(
            request.mixture_file,
            "caption/open_qa need --scenes (toy world) or --teacher-file (sft teacher); "
            "or set both fractions to 0",
            key="caption.fraction" if mixture.caption.fraction > 0 else "open_qa.fraction",
        )


def _clip_texts(request: BuildRequest) -> ClipTexts | None:
    if request.scenes is not None:
        return load_scenes(request.scenes)
    if request.teacher_file is not None:
        return load_teacher_file(request.teacher_file)
    return None


def _input_files(
    request: BuildRequest, mixture: MixtureConfig, annotations: Mapping[str, Path]
) -> dict[str, Path]:
    """Every file that shaped the records, by role."""
    files = {**annotations, "mixture": request.mixture_file}
    files.update({f"predictions:{name}": path for name, path in request.predictions.items()})
    files.update(
        {f"predictions_manifest:{name}": path for name, path in request.prediction_manifests.items()}
    )
    files.update({f"replay:{path.as_posix()}": path for path in mixture.replay.files})
    if request.scenes is not None:
        files["scenes"] = request.scenes
    if request.teacher_file is not None:
        files["teacher_file"] = request.teacher_file
    if mixture.video_mc.fraction > 0 and request.world is not None:
        files["world_manifest"] = request.world / "manifest.json"
    return files
