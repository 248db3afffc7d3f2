"""The specialist's feature file: a float32 matrix whose rows are keyed by CSV row index.

``numpy.savez`` stamps each zip member with the current time, so two runs on the same input
would differ by a few bytes and Snakemake/sha256 manifests would see a change. This writer
fixes the timestamps and member order, so the same features give the same file hash.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from actionmqa.errors import InputError
from actionmqa.io import atomic_open

#: Members of the .npz, in the order they are written.
MEMBERS: tuple[str, ...] = ("rows", "values", "names", "feature_set")
_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class FeatureTable:
    """``values[i]`` are the features of the segment at 0-based CSV row ``rows[i]``."""

    rows: np.ndarray  # int64 [n]
    values: np.ndarray  # float32 [n, d]
    names: tuple[str, ...]
    feature_set: str

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or len(self.values) != len(self.rows):
            raise ValueError(f"values {self.values.shape} do not match {len(self.rows)} rows")
        if self.values.shape[1] != len(self.names):
            raise ValueError(f"{self.values.shape[1]} feature columns but {len(self.names)} names")

    def aligned_to(self, segments: pd.DataFrame, path: str | Path | None = None) -> np.ndarray:
        """The feature rows in the order of ``segments.index``; every segment must have features."""
        position = pd.Series(np.arange(len(self.rows)), index=self.rows)
        missing = segments.index.difference(position.index)
        if len(missing):
            raise InputError(
                path, f"no features for {len(missing)} segment rows (first: {list(missing[:5])})"
            )
        return self.values[position.loc[segments.index].to_numpy()]


def save_features(path: str | Path, table: FeatureTable) -> None:
    """Write ``table`` as an .npz whose bytes depend only on its content."""
    arrays = {
        "rows": np.asarray(table.rows, dtype=np.int64),
        "values": np.ascontiguousarray(table.values, dtype=np.float32),
        "names": np.array(table.names, dtype=np.str_),
        "feature_set": np.array(table.feature_set, dtype=np.str_),
    }
    with atomic_open(path, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
        for name in MEMBERS:
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, arrays[name], allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH), buffer.getvalue())


def load_features(path: str | Path) -> FeatureTable:
    """Read a file written by :func:`save_features`; a foreign or partial file is an InputError."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in MEMBERS if name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(path, f"cannot read feature file ({exc})") from exc
    absent = [name for name in MEMBERS if name not in arrays]
    if absent:
        raise InputError(path, f"not a specialist feature file (missing {absent})")
    return FeatureTable(
        rows=arrays["rows"].astype(np.int64),
        values=arrays["values"].astype(np.float32),
        names=tuple(str(n) for n in arrays["names"]),
        feature_set=str(arrays["feature_set"]),
    )


def load_matching_features(paths: Sequence[str | Path]) -> list[FeatureTable]:
    """Load feature files that one model will use together (train and val): same set, same columns."""
    tables = [load_features(path) for path in paths]
    reference = tables[0]
    for path, table in zip(paths[1:], tables[1:], strict=True):
        if (table.feature_set, table.names) != (reference.feature_set, reference.names):
            raise InputError(
                path,
                f"features '{table.feature_set}' ({len(table.names)} columns) do not match "
                f"'{reference.feature_set}' ({len(reference.names)} columns) of {paths[0]}",
            )
    return tables
