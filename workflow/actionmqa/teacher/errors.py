"""Teacher failures, each naming what a user needs to find the request again."""

from __future__ import annotations

from typing import Literal

from actionmqa.errors import UserError

#: Why a reply is unusable: the model declined (no text, or its ``refusal`` field) or the endpoint's
#: content filter did (an HTTP 4xx of ``TeacherConfig.refusal_error_codes``), or what it wrote is
#: not a chat completion in the requested schema.
FailureReason = Literal["refusal", "invalid_reply"]


def excerpt(text: str | bytes, limit: int = 300) -> str:
    """The start of a reply body for an error message, marked when cut."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + "..."


class TeacherError(UserError, RuntimeError):
    """A teacher request could not produce a result (the endpoint failed, or refused too many clips)."""


class TeacherHTTPError(TeacherError):
    """The endpoint answered with an error status (after any retries); ``error_code`` is the
    ``error.code`` of an OpenAI-style error body, when it has one."""

    def __init__(
        self, url: str, status: int, body_excerpt: str, request_hash: str, error_code: str | None = None
    ) -> None:
        self.url = url
        self.status = status
        self.body_excerpt = body_excerpt
        self.request_hash = request_hash
        self.error_code = error_code
        super().__init__(f"POST {url} failed with HTTP {status} (request {request_hash}): {body_excerpt}")


class TeacherReplyError(TeacherError):
    """A reply that is not what was asked for: a refusal (the model's, or a content filter's 4xx),
    no JSON, the wrong schema.

    ``excerpt`` is the start of what the model or filter said (its refusal, or the invalid content);
    ``recorded`` marks an error answered from the cache's record of an earlier run, without a request.
    """

    def __init__(
        self,
        request_hash: str,
        problem: str,
        *,
        reason: FailureReason = "invalid_reply",
        excerpt: str = "",
        recorded: bool = False,
    ) -> None:
        self.request_hash = request_hash
        self.problem = problem
        self.reason: FailureReason = reason
        self.excerpt = excerpt
        self.recorded = recorded
        where = " (recorded by an earlier run)" if recorded else ""
        super().__init__(f"teacher reply to request {request_hash}{where}: {problem}")
