"""A static file server on 127.0.0.1 for download tests: a real HTTP endpoint, no network."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from actionmqa.rehearsal.server import LoopbackServer, serve


@contextmanager
def serve_files(directory: Path) -> Iterator[str]:
    """Serve ``directory`` until the block ends; yields the base URL (``http://127.0.0.1:PORT``)."""
    with serve(LoopbackServer(mounts={"/": directory})) as server:
        yield server.url
