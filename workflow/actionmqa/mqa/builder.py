"""Turn the segments of one EK100 split into MQA records, in memory (spec/llavaction.md §1.5).

Every random draw is keyed by (seed, uid, purpose), and records come out sorted by
(video_id, numeric narration index), so the records do not depend on the CSV's row order, on
which other rows are present, or on how the work might be split across workers.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from actionmqa.ek100 import csvfields
from actionmqa.ek100.annotations import AnnotationSet
from actionmqa.ek100.labels import LabelMap, narration_pools
from actionmqa.ek100.schema import SPLIT_FILES
from actionmqa.errors import InputError, csv_line
from actionmqa.mqa.distractors import ClassChoice, DistractorKind, random_classes, specialist_classes
from actionmqa.mqa.options import OptionTexter, TextMode
from actionmqa.mqa.records import MQARecord
from actionmqa.seeding import rng_for

log = logging.getLogger(__name__)

#: Distractor narrations come from this split when it is loaded, so no benchmark text leaks into them.
POOL_SPLIT = "train"


@dataclass(frozen=True)
class BuildConfig:
    """What defines one benchmark file; every field is recorded in its manifest."""

    distractors: DistractorKind
    text: TextMode
    seed: int
    distractor_source: str
    split: str = "validation"
    n_options: int = 5


@dataclass(frozen=True)
class BuildResult:
    """The records plus what the manifest reports about how they were made."""

    records: list[MQARecord]
    pool_split: str
    n_actions: int
    gt_injected: int | None = None
    fallbacks: Counter[str] = field(default_factory=Counter)


def build_records(
    ann: AnnotationSet, config: BuildConfig, predictions: Mapping[int, Sequence[str]] | None = None
) -> BuildResult:
    """One record per segment of ``config.split``; ``predictions`` (row -> ranked vns) for medium/hard."""
    if config.distractors.needs_predictions != (predictions is not None):
        raise ValueError(
            f"{config.distractors.value} distractors need predictions exactly when specialist-based"
        )
    segments = ann.split(config.split)
    split_file = ann.root / SPLIT_FILES[config.split]
    csvfields.require_unique(segments["uid"], split_file, "uid")
    labels = LabelMap.from_annotations(ann)
    pool_split = _pool_split(ann, config.split)
    texter = OptionTexter(config.text, labels, narration_pools(ann.split(pool_split)), config.seed)

    records: list[MQARecord] = []
    injected = 0
    fallbacks: Counter[str] = Counter()
    for row in canonical_order(segments, split_file).itertuples():
        if predictions is None:
            rng = rng_for(config.seed, row.uid, "classes")
            choice = random_classes(labels.actions, row.vn, config.n_options, rng)
        else:
            choice = specialist_classes(predictions[row.Index], row.vn, config.n_options)
            injected += choice.gt_injected
        texts = texter.texts_for(row.uid, row.narration, choice.option_vns)
        fallbacks.update(fallback.value for fallback in texts.fallbacks)
        records.append(_record(row, config, choice, texts.texts))
    return BuildResult(
        records=records,
        pool_split=pool_split,
        n_actions=len(labels.actions),
        gt_injected=None if predictions is None else injected,
        fallbacks=fallbacks,
    )


def canonical_order(segments: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Rows sorted by (video_id, narration index as a number): ``P01_11_2`` before ``P01_11_10``."""
    suffix = segments["narration_id"].str.rsplit("_", n=1).str[-1]
    bad = ~suffix.str.fullmatch(r"[0-9]+")
    if bad.any():
        row = bad.idxmax()
        raise InputError(
            path,
            f"{segments.at[row, 'narration_id']!r} does not end in _<number>",
            line=csv_line(row),
            key="narration_id",
        )
    keys = pd.DataFrame(
        {"video": segments["video_id"], "index": suffix.astype("int64"), "uid": segments["uid"]}
    )
    return segments.loc[keys.sort_values(["video", "index", "uid"], kind="stable").index]


def _pool_split(ann: AnnotationSet, split: str) -> str:
    if POOL_SPLIT in ann.splits:
        return POOL_SPLIT
    log.warning(
        "%s is absent from %s: distractor narrations come from the %s split itself",
        SPLIT_FILES[POOL_SPLIT],
        ann.root,
        split,
    )
    return split


def _record(row: Any, config: BuildConfig, choice: ClassChoice, texts: Sequence[str]) -> MQARecord:
    """Shuffle the K options (ground truth first on input) with the record's own "order" draw."""
    order = rng_for(config.seed, row.uid, "order").permutation(len(texts)).tolist()
    return MQARecord(
        uid=row.uid,
        narration_id=row.narration_id,
        video_id=row.video_id,
        participant_id=row.participant_id,
        start_sec=row.start_sec,
        end_sec=row.stop_sec,
        narration=row.narration,
        options=tuple(texts[i] for i in order),
        option_vns=tuple(choice.option_vns[i] for i in order),
        answer_index=order.index(0),
        gt_vn=row.vn,
        distractor_source=config.distractor_source,
        seed=config.seed,
    )
