"""The rehearsal's teacher: a chat endpoint that answers every request in the schema it asks for.

The real run asks GPT-4o for captions (``GT_Augmentation_Response``) and open QA
(``ExpandReasonMCResponse``) as strict structured output. The stand-in fills the requested JSON
schema field by field, with text that names the field and the request (so each clip gets its own
answer, the same one on every run), and never refuses: what it proves is that the requests, the
schema check, the cache and the SFT records work end to end, not what GPT-4o would say.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from actionmqa.rehearsal.server import LoopbackServer

#: Says in every answer where it came from, so a stand-in text can never pass for a real one.
STAND_IN = "rehearsal stand-in"


def request_digest(body: dict[str, Any]) -> str:
    """A short id of the request's messages (the frames included)."""
    return hashlib.sha256(json.dumps(body.get("messages"), sort_keys=True).encode()).hexdigest()[:8]


def schema_value(schema: dict[str, Any], name: str, digest: str) -> Any:
    """A value of JSON-schema type ``schema`` for the field ``name``."""
    kind = schema.get("type")
    if kind == "string":
        return f"{name.replace('_', ' ')} ({STAND_IN} {digest})"
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return 0
    if kind == "array":
        return [schema_value(schema.get("items", {"type": "string"}), name, digest)]
    if kind == "object":
        return schema_object(schema, digest)
    raise ValueError(f"field {name!r}: the stand-in teacher cannot fill JSON-schema type {kind!r}")


def schema_object(schema: dict[str, Any], digest: str) -> dict[str, Any]:
    """Every property of an object schema, in its order (strict schemas require them all)."""
    return {name: schema_value(sub, name, digest) for name, sub in schema.get("properties", {}).items()}


def answer(body: dict[str, Any]) -> str:
    """The assistant message for a chat-completions ``body``: the schema filled in, or plain text."""
    digest = request_digest(body)
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return json.dumps(schema_object(response_format["json_schema"]["schema"], digest))
    return f"A {STAND_IN} answer ({digest})."


class TeacherServer(LoopbackServer):
    """The loopback server of the rehearsal: its mounted files, and the teacher on ``/v1``."""

    def content(self, body: dict[str, Any]) -> str:
        return answer(body)
