"""The teacher client: build a chat-completions request, answer it from cache or the endpoint.

Upstream sent ``[system prompt, user: empty text + JPEG frames]`` with ``temperature=0`` and a
pydantic ``response_format`` (spec/llavaction.md §2.3, §6.2); this builds the same request for
any OpenAI-compatible server, with the RGB frames encoded correctly.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError
from tqdm import tqdm

from actionmqa.io import dumps_canonical
from actionmqa.teacher.cache import ResponseCache, request_key
from actionmqa.teacher.config import TeacherConfig
from actionmqa.teacher.errors import TeacherHTTPError, TeacherReplyError, excerpt
from actionmqa.teacher.frames import image_parts
from actionmqa.teacher.schemas import response_format
from actionmqa.teacher.transport import JsonPoster, RetryPolicy

log = logging.getLogger(__name__)

#: A result of :meth:`TeacherClient.map_outcomes`: the reply, or why there is none.
Outcome = BaseModel | str | TeacherReplyError


@dataclass(frozen=True, eq=False)
class ChatRequest:
    """One request for :meth:`TeacherClient.map`; the arguments of :meth:`TeacherClient.chat`."""

    system: str
    user_text: str
    frames: Sequence[np.ndarray] | None = None
    response_model: type[BaseModel] | None = None


class TeacherClient:
    """Chat completions against ``config.base_url`` with a disk cache and bounded concurrency.

    At most ``max_concurrency`` requests are in flight per client, however many threads call
    :meth:`chat`. A failed :meth:`map` can simply be rerun: every reply that arrived is cached.
    A reply that is invalid is asked for again up to ``config.invalid_reply_retries`` times; a
    refusal (the model's, or a content filter's 4xx: ``config.refusal_error_codes``), or a reply
    invalid every time, is recorded in the cache and raised, and a later
    client answers it from that record without a request unless ``ask_again`` is set.
    ``counts`` tallies what was answered how: ``cached``, ``recorded``, ``requests`` (sent).
    """

    def __init__(
        self,
        config: TeacherConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        ask_again: bool = False,
    ) -> None:
        self.config = config
        self.ask_again = ask_again
        self.cache = ResponseCache(config.cache_dir)
        self.counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        headers = {"Content-Type": "application/json"}
        key = config.read_api_key()
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        policy = RetryPolicy(config.max_retries, config.backoff_base_s, config.backoff_max_s)
        self._poster = JsonPoster(config.chat_url, headers, config.timeout_s, policy, sleep)
        self._in_flight = threading.BoundedSemaphore(config.max_concurrency)

    def request_body(
        self,
        system: str,
        frames: Sequence[np.ndarray] | None,
        user_text: str,
        response_model: type[BaseModel] | None = None,
    ) -> dict[str, Any]:
        """The JSON body; also exactly what the cache key hashes.

        Without frames the user content is the plain string, which text-only servers accept too.
        """
        user_content: str | list[dict[str, Any]] = user_text
        if frames is not None:
            images = image_parts(frames, self.config.jpeg_quality)
            user_content = [{"type": "text", "text": user_text}, *images]
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user_content},
            ],
            "temperature": self.config.temperature,
        }
        if response_model is not None:
            body["response_format"] = response_format(response_model)
        return body

    def chat(
        self,
        system: str,
        frames: Sequence[np.ndarray] | None,
        user_text: str,
        response_model: type[BaseModel] | None = None,
    ) -> BaseModel | str:
        """The reply parsed into ``response_model``, or its text when there is none."""
        body = self.request_body(system, frames, user_text, response_model)
        key = request_key(body)
        cached = self.cache.lookup(key)
        if isinstance(cached, str):
            self._count("cached")
            return _parse(cached, response_model, key)
        if cached is not None and not self.ask_again:
            self._count("recorded")
            raise cached
        payload = dumps_canonical(body).encode("utf-8")
        retries = self.config.invalid_reply_retries
        for attempt in range(retries + 1):
            try:
                reply = self._post(payload, key)
                content = _message_content(reply, key)
                result = _parse(content, response_model, key)
            except TeacherReplyError as error:
                if error.reason == "refusal" or attempt == retries:
                    self.cache.put_failure(key, self.config.model, error)
                    raise
                log.warning(
                    "request %s: %s; asking again (%d of %d)", key[:12], error.problem, attempt + 1, retries
                )
                continue
            self.cache.put(key, self.config.model, content)
            return result
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _post(self, payload: bytes, key: str) -> bytes:
        """The reply body; a content filter's 4xx (``refusal_error_codes``) as a refusal of this request."""
        with self._in_flight:
            self._count("requests")
            try:
                return self._poster.post(payload, key)
            except TeacherHTTPError as error:
                if error.error_code not in self.config.refusal_error_codes:
                    raise
                raise TeacherReplyError(
                    key,
                    f"HTTP {error.status} {error.error_code}: {error.body_excerpt}",
                    reason="refusal",
                    excerpt=error.body_excerpt,
                ) from None

    def map(self, requests: Iterable[ChatRequest], *, progress: bool = False) -> list[BaseModel | str]:
        """Many requests, at most ``max_concurrency`` at a time; results in input order.

        Every request is answered (and cached) before the first unusable reply, if any, is raised.
        """
        outcomes = self.map_outcomes(requests, progress=progress)
        for outcome in outcomes:
            if isinstance(outcome, TeacherReplyError):
                raise outcome
        return outcomes  # type: ignore[return-value] (no error left)

    def map_outcomes(self, requests: Iterable[ChatRequest], *, progress: bool = False) -> list[Outcome]:
        """As :meth:`map`, with a refused or unusable reply's ``TeacherReplyError`` in its place.

        Endpoint failures (HTTP errors after the transport's retries) still raise: they are not
        one clip's problem.
        """
        requests = list(requests)
        with ThreadPoolExecutor(max_workers=self.config.max_concurrency) as pool:
            outcomes = pool.map(self._outcome, requests)
            return list(tqdm(outcomes, total=len(requests), disable=not progress, desc="teacher"))

    def _outcome(self, request: ChatRequest) -> Outcome:
        try:
            return self.chat(request.system, request.frames, request.user_text, request.response_model)
        except TeacherReplyError as error:
            return error

    def _count(self, what: str) -> None:
        with self._counts_lock:
            self.counts[what] += 1


def _message_content(reply: bytes, key: str) -> str:
    """``choices[0].message.content`` of a chat-completions reply; no text there is a refusal."""
    try:
        message = json.loads(reply)["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise TeacherReplyError(
            key, f"not a chat completion: {excerpt(reply)}", excerpt=excerpt(reply)
        ) from None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        refusal = message.get("refusal") if isinstance(message, dict) else None
        said = excerpt(refusal) if isinstance(refusal, str) else ""
        raise TeacherReplyError(
            key, f"no text content (refusal: {refusal!r})", reason="refusal", excerpt=said
        )
    return content


def _parse(content: str, response_model: type[BaseModel] | None, key: str) -> BaseModel | str:
    if response_model is None:
        return content
    try:
        return response_model.model_validate_json(content)
    except ValidationError as exc:
        raise TeacherReplyError(
            key,
            f"content does not match {response_model.__name__} "
            f"({exc.error_count()} errors, first: {exc.errors()[0]['msg']}): {excerpt(content)}",
            excerpt=excerpt(content),
        ) from None
