"""A disk cache of teacher replies, keyed by what was asked.

Tens of thousands of paid requests must survive a crash or a rerun: a reply is stored as soon
as it parses, under the SHA-256 of the canonical request body (model, messages, temperature,
response_format). The API key is a header, not part of the body, so it never reaches a key or
an entry.

A request the teacher would not answer usably (a refusal, or a reply still invalid after the
client's retries) is stored too, as a failure, so that a rerun does not pay for it again unless
told to; a later good reply to the same request replaces it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from actionmqa.errors import InputError
from actionmqa.io import dumps_canonical, write_json
from actionmqa.teacher.errors import TeacherReplyError


def request_key(body: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON of a request body."""
    return hashlib.sha256(dumps_canonical(body).encode("utf-8")).hexdigest()


class ResponseCache:
    """One JSON file per request, ``<dir>/<key[:2]>/<key>.json``, written atomically.

    An entry holds either ``content`` (the reply's message) or ``failure`` (reason, problem, excerpt).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def _entry(self, key: str) -> dict[str, Any] | None:
        path = self.path_for(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except json.JSONDecodeError as exc:
            raise InputError(path, f"damaged teacher cache entry ({exc.msg}); delete it to re-ask") from exc
        content, failure = entry.get("content"), entry.get("failure")
        well_formed = isinstance(content, str) or (
            isinstance(failure, dict) and {"reason", "problem", "excerpt"} <= failure.keys()
        )
        if entry.get("request_sha256") != key or not well_formed:
            raise InputError(path, "teacher cache entry does not belong to this request; delete it to re-ask")
        return entry

    def lookup(self, key: str) -> str | TeacherReplyError | None:
        """The cached message content; or the failure an earlier run recorded, as the error it
        raised then; or ``None``."""
        entry = self._entry(key)
        if entry is None:
            return None
        if "content" in entry:
            return entry["content"]
        failure = entry["failure"]
        return TeacherReplyError(
            key, failure["problem"], reason=failure["reason"], excerpt=failure["excerpt"], recorded=True
        )

    def get(self, key: str) -> str | None:
        """The cached message content, or ``None`` (nothing cached, or a recorded failure)."""
        found = self.lookup(key)
        return found if isinstance(found, str) else None

    def put(self, key: str, model: str, content: str) -> None:
        write_json(self.path_for(key), {"request_sha256": key, "model": model, "content": content})

    def put_failure(self, key: str, model: str, error: TeacherReplyError) -> None:
        failure = {"reason": error.reason, "problem": error.problem, "excerpt": error.excerpt}
        write_json(self.path_for(key), {"request_sha256": key, "model": model, "failure": failure})
