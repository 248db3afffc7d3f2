"""One JSON POST with retries: what makes a long teacher run survive rate limits and blips.

Retried: HTTP 429 and 5xx, connection failures and timeouts, waiting as the server's
``Retry-After`` says or else ``min(max, base * 2**attempt)`` stretched by up to 25% jitter.
The jitter is a function of (request hash, attempt), so concurrent requests spread out while a
rerun waits exactly as long as before. Other 4xx are the request's own fault and fail at once.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from actionmqa.seeding import derive_seed
from actionmqa.teacher.errors import TeacherError, TeacherHTTPError, excerpt

LOG = logging.getLogger(__name__)

_JITTER = 0.25


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to retry and how long to wait before each retry."""

    max_retries: int
    base_s: float
    max_s: float

    def delay(self, attempt: int, request_hash: str, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (0-based)."""
        if retry_after is not None:
            return retry_after
        fraction = derive_seed(request_hash, attempt, "teacher_backoff") / 2**64
        return min(self.max_s, self.base_s * 2**attempt) * (1 + _JITTER * fraction)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date (RFC 9110); ``None`` if unusable."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _is_retryable(status: int) -> bool:
    return status == 429 or status >= 500


class _RetryableStatus(Exception):
    """A 429/5xx reply, carried out of one attempt to the retry loop."""

    def __init__(self, status: int, body: bytes, retry_after: str | None) -> None:
        super().__init__(status)
        self.status = status
        self.excerpt = excerpt(body)
        self.retry_after = parse_retry_after(retry_after)


@dataclass(frozen=True)
class JsonPoster:
    """POSTs bytes to one URL with fixed headers; the headers (the key) stay out of any repr."""

    url: str
    headers: Mapping[str, str] = field(repr=False)
    timeout_s: float
    policy: RetryPolicy
    sleep: Callable[[float], None] = time.sleep

    def post(self, payload: bytes, request_hash: str) -> bytes:
        """The response body of the first successful attempt."""
        for attempt in range(self.policy.max_retries + 1):
            try:
                return self._attempt(payload, request_hash)
            except _RetryableStatus as failure:
                if attempt == self.policy.max_retries:
                    raise TeacherHTTPError(self.url, failure.status, failure.excerpt, request_hash) from None
                reason, retry_after = f"HTTP {failure.status}", failure.retry_after
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                if attempt == self.policy.max_retries:
                    raise TeacherError(
                        f"POST {self.url} failed after {attempt + 1} attempts (request {request_hash}): {exc}"
                    ) from exc
                reason, retry_after = f"{type(exc).__name__}: {exc}", None
            wait = self.policy.delay(attempt, request_hash, retry_after)
            LOG.warning("request %s: %s; retry %d in %.2f s", request_hash[:12], reason, attempt + 1, wait)
            self.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _attempt(self, payload: bytes, request_hash: str) -> bytes:
        request = urllib.request.Request(self.url, data=payload, headers=dict(self.headers), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            body = error.read()
            if _is_retryable(error.code):
                raise _RetryableStatus(error.code, body, error.headers.get("Retry-After")) from None
            raise TeacherHTTPError(
                self.url, error.code, excerpt(body), request_hash, error_code=error_code(body)
            ) from None


def error_code(body: bytes) -> str | None:
    """``error.code`` of an OpenAI-style error body (``{"error": {"code": ...}}``), if it is a string."""
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return code if isinstance(code, str) else None
