"""One loopback HTTP server on 127.0.0.1: static files under mount points, and an OpenAI-compatible
``POST /v1/chat/completions``.

The rehearsal serves the annotations and the specialist checkpoints from it (``GET`` and ``HEAD``,
as a static web server does) and lets it play the teacher; the tests use it to play a chat model
(a subclass overrides ``content``, or ``reply`` and ``done`` for errors, delays and scripts) and a
file server. It records every chat request (JSON body and ``Authorization`` header).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

CHAT_PATH = "/v1/chat/completions"


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


class LoopbackServer(ThreadingHTTPServer):
    """127.0.0.1:``port`` (0: a free one). ``mounts`` maps URL prefixes (``/annotations/``) to folders."""

    daemon_threads = True

    def __init__(self, port: int = 0, mounts: Mapping[str, Path] | None = None) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.mounts = {_prefix(p): Path(folder) for p, folder in (mounts or {}).items()}
        self.lock = threading.Lock()
        self.bodies: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (``.../v1``) a client appends ``/chat/completions`` to."""
        return f"{self.url}/v1"

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


def _prefix(path: str) -> str:
    """``annotations`` -> ``/annotations/``; ``/`` stays the root."""
    return "/" + path.strip("/") + "/" if path.strip("/") else "/"


class _Handler(SimpleHTTPRequestHandler):
    server: LoopbackServer

    def translate_path(self, path: str) -> str:
        """A file under the mount whose prefix the URL starts with (``..`` cannot leave it)."""
        route = urlsplit(path).path
        for prefix, folder in sorted(self.server.mounts.items(), key=lambda m: -len(m[0])):
            if route.startswith(prefix):
                self.directory = str(folder)
                return super().translate_path("/" + route[len(prefix) :])
        return str(Path("/nonexistent") / "unmounted")

    def list_directory(self, path: Any) -> None:
        """Folders are not listed: only the files a download names are served."""
        self.send_error(404, "not found")
        return None

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        if urlsplit(self.path).path != CHAT_PATH:
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

    def _send(self, status: int, payload: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """No access log on stderr (the rehearsal's Snakemake output stays readable)."""


ServerT = TypeVar("ServerT", bound=LoopbackServer)


class Running:
    """A server answering on a daemon thread until ``stop``."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


@contextmanager
def serve(server: ServerT) -> Iterator[ServerT]:
    """``server`` answering on a daemon thread until the block ends."""
    running = Running(server)
    try:
        yield server
    finally:
        running.stop()
