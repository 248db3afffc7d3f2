"""A loopback OpenAI-compatible ``/v1/chat/completions`` server for the teacher and API tests.

``LoopbackChatServer`` records every request (JSON body and ``Authorization`` header) and answers
each with ``reply(body)``; a test's subclass says what its model replies by overriding ``content``
(the assistant message of a 200) and, for errors, delays and scripts, ``reply`` and ``done``.
``serve`` runs one for a test; import ``no_proxy`` into a test module so that requests to
127.0.0.1 bypass any proxy set in the environment.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest

PATH = "/v1/chat/completions"


@dataclass
class Reply:
    """One reply: a 200 whose message is ``content`` (None: the server's ``content(body)``), or,
    with ``refusal``, a message without content that declines as OpenAI's structured outputs do;
    or ``status`` with ``error_body`` and ``headers``; sent after ``delay_s``."""

    status: int = 200
    content: str | None = None
    refusal: str | None = None
    error_body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


class LoopbackChatServer(ThreadingHTTPServer):
    """POST ``/v1/chat/completions`` on 127.0.0.1; ``bodies`` and ``authorizations`` in arrival order."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ChatHandler)
        self.lock = threading.Lock()
        self.bodies: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def record(self, body: dict[str, Any], authorization: str | None) -> None:
        with self.lock:
            self.bodies.append(body)
            self.authorizations.append(authorization)

    def reply(self, body: dict[str, Any]) -> Reply:
        """How to answer ``body`` (called after ``record``); the default is a 200 with ``content``."""
        return Reply()

    def content(self, body: dict[str, Any]) -> str:
        """The assistant message of a plain 200."""
        raise NotImplementedError

    def done(self) -> None:
        """Called once a reply is sent, or the client has gone away."""


class _ChatHandler(BaseHTTPRequestHandler):
    server: LoopbackChatServer

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        if self.path != PATH:
            self._send(404, b"not found", {})
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.record(body, self.headers.get("Authorization"))
        reply = self.server.reply(body)
        try:
            time.sleep(reply.delay_s)
            if reply.status != 200:
                self._send(reply.status, reply.error_body.encode(), reply.headers)
                return
            if reply.refusal is not None:
                said: dict[str, Any] = {"role": "assistant", "content": None, "refusal": reply.refusal}
            else:
                content = reply.content if reply.content is not None else self.server.content(body)
                said = {"role": "assistant", "content": content}
            message = {"choices": [{"index": 0, "message": said}]}
            self._send(200, json.dumps(message).encode(), {"Content-Type": "application/json"})
        except OSError:
            pass  # the client gave up (a timeout)
        finally:
            self.server.done()

    def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


ServerT = TypeVar("ServerT", bound=LoopbackChatServer)


@contextmanager
def serve(server: ServerT) -> Iterator[ServerT]:
    """``server`` answering on a daemon thread until the block ends."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Autouse in every module that imports it: no proxy between the client and 127.0.0.1."""
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
