"""Reading benchmark files: JSON and parquet records, required fields, video paths.

Every problem raises :class:`~actionmqa.errors.InputError` naming the file and the record
(0-based row index for parquet and JSON lists, the key for JSON objects).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actionmqa.errors import InputError


@dataclass(frozen=True)
class Record:
    """One source record and where it came from, so every accessor can name it in an error."""

    path: Path
    row: int | str
    data: Mapping[str, Any]

    @property
    def where(self) -> str:
        return f"{self.path} row {self.row}"

    def error(self, problem: str, key: str | None = None) -> InputError:
        return InputError(self.path, problem, row=self.row, key=key)

    def get(self, key: str, kind: type | tuple[type, ...] = object) -> Any:
        """A required field of the expected type (a ``bool`` does not pass for an ``int``)."""
        if key not in self.data:
            raise self.error("missing field", key=key)
        value = self.data[key]
        kinds = _as_tuple(kind)
        if not isinstance(value, kinds) or (isinstance(value, bool) and int in kinds and bool not in kinds):
            raise self.error(f"expected {_type_names(kind)}, got {type(value).__name__} {value!r}", key=key)
        return value

    def text(self, key: str) -> str:
        """A required non-empty string field."""
        value = self.get(key, str)
        if not value.strip():
            raise self.error("empty string", key=key)
        return value

    def number(self, key: str) -> float:
        return float(self.get(key, (int, float)))

    def int_like(self, key: str) -> int:
        """An int, or a string holding one: HF copies store every scalar as a string (spec §9)."""
        value = self.get(key, (int, str))
        try:
            return int(value)
        except ValueError:
            raise self.error(f"expected an integer, got {value!r}", key=key) from None

    def strings(self, key: str, n: int | Sequence[int] | None = None) -> tuple[str, ...]:
        """A list of non-empty strings, of length ``n`` (or one of ``n``) when given."""
        value = self.get(key, (list, tuple))
        if not all(isinstance(v, str) and v.strip() for v in value):
            raise self.error(f"expected a list of non-empty strings, got {value!r}", key=key)
        allowed = (n,) if isinstance(n, int) else n
        if allowed is not None and len(value) not in allowed:
            raise self.error(f"expected {' or '.join(map(str, allowed))} entries, got {len(value)}", key=key)
        return tuple(value)


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _type_names(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in _as_tuple(kind))


def read_json(path: Path) -> Any:
    """Parsed JSON; a missing file or bad syntax raises ``InputError`` naming the file."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not valid JSON ({exc.msg}, line {exc.lineno})") from None


def object_record(path: Path, row: int | str, value: Any) -> Record:
    """``value`` as a :class:`Record`; anything but a JSON object is an error naming it."""
    if not isinstance(value, dict):
        raise InputError(path, f"expected an object, got {type(value).__name__}", row=row)
    return Record(path, row, value)


def json_list_records(path: Path) -> Iterator[Record]:
    """The records of a JSON file holding a list of objects."""
    data = read_json(path)
    if not isinstance(data, list):
        raise InputError(path, f"expected a JSON list of records, got {type(data).__name__}")
    for row, item in enumerate(data):
        yield object_record(path, row, item)


def parquet_records(path: Path) -> Iterator[Record]:
    """The rows of a parquet file as plain Python values (list columns become lists, NaN None)."""
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(path).to_pylist()
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputError(path, f"not a readable parquet file ({exc})") from None
    for row, item in enumerate(rows):
        yield Record(path, row, item)


def single_parquet(folder: Path, pattern: str, root: Path, what: str) -> Path | None:
    """The one parquet file matching ``pattern`` in ``folder``; ``None`` when there is none."""
    matches = sorted(folder.glob(pattern)) if folder.is_dir() else []
    if len(matches) > 1:
        raise InputError(folder, f"expected one {what} parquet file, found {[m.name for m in matches]}")
    return matches[0] if matches else None


def resolve_video(
    record: Record,
    default_dir: Path,
    video_root: Path | None,
    relative: str,
    alternatives: Sequence[str] = (),
) -> Path:
    """The video's path: under ``video_root`` (and then it must exist) or the default folder.

    ``alternatives`` are other names lmms-eval falls back to (``.MP4``, ``.mkv``), tried in
    order when the first is missing. A folder counts as a video (MVBench's frame folders).
    """
    base = default_dir if video_root is None else video_root
    names = [relative, *alternatives]
    if video_root is None:
        return next((base / n for n in names if (base / n).exists()), base / relative)
    for name in names:
        if (base / name).exists():
            return base / name
    raise record.error(
        f"video not found: {base / relative}"
        + (f" (also tried {', '.join(alternatives)})" if alternatives else "")
    )
