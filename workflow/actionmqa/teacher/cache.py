"""A disk cache of teacher replies, keyed by what was asked.

Tens of thousands of paid requests must survive a crash or a rerun: a reply is stored as soon
as it parses, under the SHA-256 of the canonical request body (model, messages, temperature,
response_format). The API key is a header, not part of the body, so it never reaches a key or
an entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from actionmqa.errors import InputError
from actionmqa.io import dumps_canonical, write_json


def request_key(body: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON of a request body."""
    return hashlib.sha256(dumps_canonical(body).encode("utf-8")).hexdigest()


class ResponseCache:
    """One JSON file per request, ``<dir>/<key[:2]>/<key>.json``, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> str | None:
        """The cached message content, or ``None``; a damaged entry names its file."""
        path = self.path_for(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except json.JSONDecodeError as exc:
            raise InputError(path, f"damaged teacher cache entry ({exc.msg}); delete it to re-ask") from exc
        if entry.get("request_sha256") != key or not isinstance(entry.get("content"), str):
            raise InputError(path, "teacher cache entry does not belong to this request; delete it to re-ask")
        return entry["content"]

    def put(self, key: str, model: str, content: str) -> None:
        write_json(self.path_for(key), {"request_sha256": key, "model": model, "content": content})
