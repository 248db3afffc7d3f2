"""Atomic, deterministic file output and content hashing.

Every output of the workflow is written through these helpers: a temporary file in the
target directory, then ``os.replace``, so a killed job never leaves a half-written file that
Snakemake would mistake for a finished one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

ModelT = TypeVar("ModelT", bound="BaseModel")


def temp_sibling(target: str | Path) -> Path:
    """Create a new, uniquely named hidden file beside ``target`` to write it in first.

    Created as ``open`` creates, with the umask's permissions (0644 under the usual 022), not
    ``tempfile``'s owner-only 0600: the renamed file is the output, and on a cluster a lab's
    group reads the results.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        candidate = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"no free temporary name beside {target}")


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path`` and move it into place only on success."""
    path = Path(path)
    tmp = temp_sibling(path)
    try:
        if "b" not in mode:
            kwargs.setdefault("encoding", "utf-8")
            kwargs.setdefault("newline", "\n")
        with open(tmp, mode, **kwargs) as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def staging_dir(final: Path) -> Path:
    """The fixed sibling a folder output is written into first (shared by every rank of a run)."""
    return final.parent / f".{final.name}.partial"


def publish_dir(staging: Path, final: Path) -> None:
    """Move a fully written folder into place in one rename, replacing an older one."""
    if final.exists():
        shutil.rmtree(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging, final)


@contextlib.contextmanager
def atomic_dir(final: str | Path) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces ``final``, on failure it is removed.

    A model or checkpoint folder is many files: written in place, a killed job would leave a
    folder that looks finished to Snakemake and to ``from_pretrained``.
    """
    final = Path(final)
    staging = staging_dir(final)
    if staging.exists():
        shutil.rmtree(staging)  # left by a killed run
    staging.mkdir(parents=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    publish_dir(staging, final)


def dumps_canonical(obj: Any) -> str:
    """JSON with sorted keys and no whitespace variance: identical objects give identical bytes."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def write_json(path: str | Path, obj: Any) -> None:
    """Write pretty, key-sorted JSON atomically (a trailing newline included)."""
    with atomic_open(path) as handle:
        json.dump(obj, handle, sort_keys=True, indent=2, ensure_ascii=False)
        handle.write("\n")


def write_jsonl(path: str | Path, records: Iterable[Any]) -> int:
    """Write one canonical JSON object per line atomically; returns the number of lines."""
    n = 0
    with atomic_open(path) as handle:
        for record in records:
            handle.write(dumps_canonical(record))
            handle.write("\n")
            n += 1
    return n


def _jsonl_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """The non-blank lines of a JSONL file with their 1-based line numbers."""
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if line.strip():
                yield lineno, line


def read_jsonl(path: str | Path) -> list[Any]:
    """Read a JSONL file; a malformed line raises an error naming the file and line."""
    return [record for _, record in read_jsonl_lines(path)]


def read_jsonl_lines(path: str | Path) -> list[tuple[int, Any]]:
    """Each record of a JSONL file with its 1-based line number, for errors about its content."""
    from actionmqa.errors import InputError

    records = []
    for lineno, line in _jsonl_lines(path):
        try:
            records.append((lineno, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise InputError(path, f"not valid JSON ({exc.msg})", line=lineno) from exc
    return records


#: The key an error names when the problem is the whole document.
TOP_LEVEL = "(top level)"


def read_jsonl_models(path: str | Path, model: type[ModelT], what: str) -> Iterator[tuple[int, ModelT]]:
    """Each line of a JSONL file as a validated ``model``, with its line number; a line that is not
    valid JSON or not a valid ``what`` raises ``InputError`` naming the file and line."""
    from pydantic import ValidationError

    from actionmqa.errors import InputError

    for lineno, line in _jsonl_lines(path):
        try:
            record = model.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise InputError(path, f"not a valid {what}: {exc}", line=lineno) from exc
        yield lineno, record


def read_yaml_model(path: str | Path, model: type[ModelT], what: str) -> ModelT:
    """A YAML (or JSON) file as a validated ``model``; an empty file is ``{}``.

    Every problem raises ``InputError`` naming the file, and for an invalid value its dotted key
    (``"(top level)"`` when the document itself is not a mapping): the one loader of the
    project's config-like files (recipes, mixtures, teacher settings, the paper's results).
    """
    import yaml
    from pydantic import ValidationError

    from actionmqa.errors import InputError, invalid_model

    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(path, f"cannot read the {what} ({exc})") from exc
    document = {} if document is None else document
    if not isinstance(document, dict):
        raise InputError(path, f"the {what} must be a mapping of keys to values", key=TOP_LEVEL)
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise invalid_model(path, exc, top_level=TOP_LEVEL) from exc


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    return hash_file(path, "sha256", chunk_size)


def md5_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex md5 of a file's bytes (what some publishers give as a checksum)."""
    return hash_file(path, "md5", chunk_size)


def hash_file(path: str | Path, algorithm: str, chunk_size: int = 1 << 20) -> str:
    """Hex digest of a file's bytes with a ``hashlib`` algorithm."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
