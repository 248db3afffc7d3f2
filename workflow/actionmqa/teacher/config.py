"""Where the teacher lives and how hard to try; the API key is named, never held."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from actionmqa.teacher.errors import TeacherError


class TeacherConfig(BaseModel):
    """Settings of one teacher endpoint.

    ``api_key_env`` is the NAME of the environment variable that holds the key, so the key
    never lands in a config file, a log, a cache entry or a cache key. ``None`` sends no
    ``Authorization`` header (a local server). ``temperature`` 0 and ``jpeg_quality`` are part
    of every request, hence of every cache key.

    ``max_retries`` and the backoff govern HTTP failures (429, 5xx, timeouts);
    ``invalid_reply_retries`` how often a reply that does not parse into the requested schema is
    asked for again (a refusal is not: it is recorded at once). ``max_failure_share`` is the share
    of clips a job may lose to refusals and invalid replies and still succeed.

    ``refusal_error_codes`` are the ``error.code`` values of an HTTP 4xx reply that mean the
    endpoint's content filter declined this one request: Azure OpenAI answers a filtered prompt
    with 400 ``content_filter``, OpenAI a flagged input with 400 ``content_policy_violation``.
    Such a reply is that clip's refusal (recorded, counted against ``max_failure_share``); any
    other 4xx still ends the job, since a wrong key, model or schema fails every request alike.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str
    model: str
    cache_dir: Path
    api_key_env: str | None = "OPENAI_API_KEY"
    temperature: float = 0.0
    max_concurrency: int = Field(default=4, ge=1)
    max_retries: int = Field(default=5, ge=0)
    timeout_s: float = Field(default=120.0, gt=0)
    backoff_base_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=60.0, ge=0)
    invalid_reply_retries: int = Field(default=2, ge=0)
    max_failure_share: float = Field(default=0.01, ge=0, le=1)
    jpeg_quality: int = Field(default=90, ge=1, le=95)
    refusal_error_codes: tuple[str, ...] = ("content_filter", "content_policy_violation")

    @property
    def chat_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/chat/completions"

    def read_api_key(self) -> str | None:
        """The key from the environment; a clear error (naming the variable only) when unset."""
        if self.api_key_env is None:
            return None
        key = os.environ.get(self.api_key_env, "")
        if not key:
            raise TeacherError(
                f"environment variable {self.api_key_env} is not set; it must hold the API key "
                f"for {self.base_url} (or set api_key_env to null for an endpoint without one)"
            )
        return key
