"""A file server on 127.0.0.1 that misbehaves on request, for the download tests.

``FaultServer`` serves ``files`` (URL path -> bytes) with HTTP Range support, and answers each
request for a path with the next ``Fault`` queued for it (and normally once none is left): a
status with headers (503 with ``Retry-After``, 429), a body cut off after N bytes, a stall after
N bytes until the test releases it, Range ignored, a corrupted byte. Every request is recorded
(``served``), with its ``Range`` header, status, arrival time and the body bytes actually sent,
so a test can count what a resumed download fetched. HEAD is answered with the headers a GET
would get (no fault is spent on it); ``headers_for`` adds a subclass's own headers.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar


@dataclass(frozen=True)
class Fault:
    """How to spoil one answer; the default spoils nothing."""

    #: Answer this status, with ``headers`` and an empty body, instead of the file.
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Close the connection after this many body bytes (the headers promised the whole body).
    cut_after: int | None = None
    #: Send this many body bytes, then wait until ``FaultServer.release`` is set (or the client leaves).
    stall_after: int | None = None
    #: Answer a ranged request with 200 and the whole file, as servers without Range support do.
    ignore_range: bool = False
    #: Flip the bits of the file's middle byte.
    corrupt: bool = False


@dataclass
class Served:
    path: str
    range: str | None
    status: int
    time: float
    body_bytes: int
    method: str = "GET"


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, files: dict[str, bytes]) -> None:
        super().__init__(("127.0.0.1", 0), _FaultHandler)
        self.files = files
        self.faults: dict[str, list[Fault]] = defaultdict(list)
        self._served: list[Served] = []
        self.release = threading.Event()
        self.lock = threading.Condition()
        self.answering = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def inject(self, path: str, *faults: Fault) -> None:
        """Answer the next ``len(faults)`` requests for ``path`` with these faults, in order."""
        with self.lock:
            self.faults[path].extend(faults)

    def next_fault(self, path: str) -> Fault:
        with self.lock:
            return self.faults[path].pop(0) if self.faults[path] else Fault()

    def headers_for(self, path: str) -> dict[str, str]:
        """Extra headers of every answer for ``path`` (HEAD and GET)."""
        return {}

    def arrived(self, path: str, asked: str | None, method: str = "GET") -> Served:
        """Record a request as it arrives; its handler fills in status and bytes."""
        served = Served(path, asked, 0, time.monotonic(), 0, method)
        with self.lock:
            self._served.append(served)
            self.answering += 1
        return served

    def answered(self) -> None:
        with self.lock:
            self.answering -= 1
            self.lock.notify_all()

    @property
    def served(self) -> list[Served]:
        """Every request so far, once the answers under way are finished (a client can have its
        last byte before the handler has counted it)."""
        with self.lock:
            self.lock.wait_for(lambda: self.answering == 0, timeout=10)
            return list(self._served)

    @property
    def served_so_far(self) -> list[Served]:
        """The requests so far, answers under way included (their counts still growing)."""
        with self.lock:
            return list(self._served)

    @property
    def body_bytes(self) -> int:
        """Body bytes sent so far, over every request."""
        return sum(s.body_bytes for s in self.served)


class _FaultHandler(BaseHTTPRequestHandler):
    server: FaultServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self._handle("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle("HEAD")

    def _handle(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        served = self.server.arrived(path, self.headers.get("Range"), method)
        try:
            self._answer(served, self.server.next_fault(path) if method == "GET" else Fault())
        except OSError:
            self.close_connection = True  # the client went away (killed, or timed out)
        finally:
            self.server.answered()

    def _answer(self, served: Served, fault: Fault) -> None:
        data = self.server.files.get(served.path)
        if fault.status is not None or data is None:
            served.status = fault.status or 404
            self._head(served.status, {**fault.headers, "Content-Length": "0"})
            return
        if fault.corrupt:
            middle = len(data) // 2
            data = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]
        served.status, body, headers = 200, data, {}
        if served.range and not fault.ignore_range:
            first = int(served.range.removeprefix("bytes=").split("-", 1)[0])
            if first >= len(data):
                served.status, body, headers = 416, b"", {"Content-Range": f"bytes */{len(data)}"}
            else:
                served.status, body = 206, data[first:]
                headers = {"Content-Range": f"bytes {first}-{len(data) - 1}/{len(data)}"}
        headers |= self.server.headers_for(served.path)
        self._head(served.status, {**headers, "Content-Length": str(len(body)), "Accept-Ranges": "bytes"})
        if served.method == "HEAD":
            return
        if fault.cut_after is not None:
            self._send(served, body[: fault.cut_after])
            self.close_connection = True
            return
        if fault.stall_after is not None:
            self._send(served, body[: fault.stall_after])
            while not self.server.release.wait(0.02):
                if self._client_gone():
                    self.close_connection = True
                    return
        self._send(served, body[served.body_bytes :])

    def _head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send(self, served: Served, chunk: bytes) -> None:
        self.wfile.write(chunk)
        served.body_bytes += len(chunk)

    def _client_gone(self) -> bool:
        """The client closed its end (it timed out, or was killed): an end-of-file is waiting."""
        readable, _, _ = select.select([self.connection], [], [], 0)
        return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


ServerT = TypeVar("ServerT", bound=FaultServer)


@contextmanager
def serving(server: ServerT) -> Iterator[ServerT]:
    """``server`` answering on a daemon thread until the block ends."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def serve_faults(files: dict[str, bytes]) -> AbstractContextManager[FaultServer]:
    """A ``FaultServer`` of ``files`` answering until the block ends."""
    return serving(FaultServer(files))
