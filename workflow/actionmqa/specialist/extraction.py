"""Decode every segment of a split and turn it into one row of order-blind features.

The reader returns clips grouped by video (each file opened once), not in table order; rows
are put back by their CSV row index, which is also the key of the prediction files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

import numpy as np
import pandas as pd
from tqdm import tqdm

from actionmqa.specialist.featurefile import FeatureTable
from actionmqa.specialist.features import FeatureConfig, clip_features, feature_names
from actionmqa.video.readers import ClipRequest


class ClipSource(Protocol):
    """What extraction needs of :class:`actionmqa.video.readers.ClipReader`."""

    def read(self, requests: Iterable[ClipRequest]) -> Iterator[tuple[ClipRequest, np.ndarray]]: ...


def clip_requests(segments: pd.DataFrame, n_frames: int) -> list[ClipRequest]:
    """One request per segment, keyed by its CSV row index, cut by the timestamps in seconds."""
    return [
        ClipRequest(
            key=str(row),
            participant_id=str(segment.participant_id),
            video_id=str(segment.video_id),
            start_sec=float(segment.start_sec),
            end_sec=float(segment.stop_sec),
            n_frames=n_frames,
        )
        for row, segment in zip(segments.index, segments.itertuples(index=False), strict=True)
    ]


def extract_features(
    segments: pd.DataFrame, reader: ClipSource, n_frames: int, config: FeatureConfig
) -> FeatureTable:
    """The feature table of ``segments`` (rows = its index), decoding each clip once."""
    requests = clip_requests(segments, n_frames)
    position = {request.key: i for i, request in enumerate(requests)}
    values = np.full((len(requests), len(feature_names(config))), np.nan, dtype=np.float32)
    done = np.zeros(len(requests), dtype=bool)
    for request, frames in tqdm(
        reader.read(requests), total=len(requests), desc="clip features", unit="clip"
    ):
        values[position[request.key]] = clip_features(frames, config)
        done[position[request.key]] = True
    if not done.all():
        missing = [requests[i].key for i in np.flatnonzero(~done)[:5]]
        raise RuntimeError(f"the reader returned no frames for {int((~done).sum())} clips (first: {missing})")
    return FeatureTable(
        rows=segments.index.to_numpy(dtype=np.int64),
        values=values,
        names=tuple(feature_names(config)),
        feature_set=config.feature_set,
    )
