"""Per-shard class probabilities of one specialist: the unit of GPU work and of a crash-safe rerun.

A split's rows are cut into ``shards`` contiguous blocks of the CSV (sizes differ by at most one),
so each block is one GPU job, its clips mostly from a few videos, and a rerun after a crash
redoes only the blocks whose file is missing. Merging reads the blocks in order and checks
that together they are exactly the split's rows in CSV order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from actionmqa.errors import InputError
from actionmqa.io import atomic_open

HEADS = ("verb", "noun", "action")


def shard_bounds(n_rows: int, shard: int, shards: int) -> tuple[int, int]:
    """``[start, stop)`` positions of block ``shard`` of ``shards`` over ``n_rows`` rows."""
    if shards < 1 or not 0 <= shard < shards:
        raise ValueError(f"shard {shard} of {shards}: expected 0 <= shard < shards")
    return shard * n_rows // shards, (shard + 1) * n_rows // shards


@dataclass(frozen=True)
class ScoreShard:
    """Softmax probabilities per head for ``rows`` (CSV row indices), and provenance."""

    rows: np.ndarray
    probs: dict[str, np.ndarray]
    #: Rows whose clip ran past the video's last frame and was clipped there (as upstream does).
    clipped_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if "action" not in self.probs:
            raise ValueError("a score shard needs action probabilities")
        for head, values in self.probs.items():
            if head not in HEADS or values.ndim != 2 or len(values) != len(self.rows):
                raise ValueError(f"head {head!r}: {values.shape} for {len(self.rows)} rows")

    def save(self, path: Path) -> None:
        arrays = {f"probs_{head}": values.astype(np.float32) for head, values in self.probs.items()}
        with atomic_open(path, "wb") as handle:
            np.savez(
                handle,
                rows=self.rows.astype(np.int64),
                clipped_rows=self.clipped_rows.astype(np.int64),
                meta=np.array(json.dumps(self.meta, sort_keys=True)),
                **arrays,
            )

    @classmethod
    def load(cls, path: Path) -> ScoreShard:
        try:
            with np.load(path, allow_pickle=False) as data:
                probs = {
                    key.removeprefix("probs_"): data[key] for key in data.files if key.startswith("probs_")
                }
                return cls(
                    rows=data["rows"],
                    probs=probs,
                    clipped_rows=data["clipped_rows"],
                    meta=json.loads(str(data["meta"])),
                )
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(path, f"not a specialist score shard ({exc})") from exc


def merge_shards(paths: Sequence[Path], segments: pd.DataFrame) -> ScoreShard:
    """The shards of one specialist on one split, concatenated and checked against its rows."""
    shards = [ScoreShard.load(path) for path in paths]
    if not shards:
        raise ValueError("no score shards to merge")
    heads = set(shards[0].probs)
    models = {json.dumps(shard.meta.get("model"), sort_keys=True) for shard in shards}
    for path, shard in zip(paths, shards, strict=True):
        if set(shard.probs) != heads:
            raise InputError(
                path, f"heads {sorted(shard.probs)} differ from the first shard's {sorted(heads)}"
            )
    if len(models) > 1:
        raise InputError(paths[0], f"shards come from different models: {sorted(models)}", key="meta.model")
    rows = np.concatenate([shard.rows for shard in shards])
    expected = segments.index.to_numpy(dtype=np.int64)
    if not np.array_equal(rows, expected):
        where = _first_difference(rows, expected)
        raise InputError(
            paths[0],
            f"the {len(paths)} shards hold {len(rows)} rows, the split {len(expected)}; first mismatch at"
            f" position {where} (from another split, another shard count, or stale annotations?)",
        )
    return ScoreShard(
        rows=rows,
        probs={head: np.concatenate([shard.probs[head] for shard in shards]) for head in sorted(heads)},
        clipped_rows=np.concatenate([shard.clipped_rows for shard in shards]),
        meta=shards[0].meta,
    )


def _first_difference(a: np.ndarray, b: np.ndarray) -> int:
    n = min(len(a), len(b))
    differ = np.flatnonzero(a[:n] != b[:n])
    return int(differ[0]) if len(differ) else n
