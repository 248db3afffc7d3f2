"""The rehearsal's loopback server as the workflow runs it: what it serves where, and its lifetime.

``rules/rehearsal.smk`` builds one ``RehearsalService`` when the Snakefile loads, starts it in
``onstart`` (the main Snakemake process only: the jobs Snakemake spawns, locally or on a cluster,
run with ``--no-hooks``) and stops it in ``onsuccess`` / ``onerror``. The config's URLs must name
its port and mounts; ``url_problems`` says where one does not, before anything runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from actionmqa.rehearsal.annotations import FIXTURE
from actionmqa.rehearsal.server import Running
from actionmqa.rehearsal.teacher import TeacherServer

log = logging.getLogger(__name__)

#: URL prefix of the annotations (the package's fixture) and of the files the stand-in rules write.
ANNOTATIONS_PREFIX = "/ek100-annotations/"
FILES_PREFIX = "/files/"
#: Where the stand-in rules put the files the server publishes under FILES_PREFIX.
FILES_DIR = Path("results/rehearsal/files")


def loopback(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def url_problems(config: Mapping[str, Any], teacher_base_url: str) -> list[str]:
    """Each URL of the config that the rehearsal's server would not answer (wrong host, port or path)."""
    root = loopback(config["rehearsal"]["port"])
    urls = {"annotations.base_url": (config["annotations"]["base_url"], ANNOTATIONS_PREFIX.rstrip("/"))}
    urls |= {
        f"specialist.releases.{name}.url": (spec["url"], FILES_PREFIX.rstrip("/"))
        for name, spec in config["specialist"]["releases"].items()
        if "url" in spec
    }
    urls["sft.teacher_config: base_url"] = (teacher_base_url, "/v1")
    problems = []
    for key, (url, prefix) in urls.items():
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != root or not parts.path.startswith(prefix):
            problems.append(
                f"config key '{key}': {url!r} is not served by the rehearsal (expected {root}{prefix}...)"
            )
    return problems


class RehearsalService:
    """The annotations, the stand-in files and the teacher on 127.0.0.1:``port``, once started."""

    def __init__(self, port: int, files_dir: Path = FILES_DIR) -> None:
        self.port = port
        self.mounts = {ANNOTATIONS_PREFIX: FIXTURE, FILES_PREFIX: Path(files_dir).resolve()}
        self._running: Running | None = None

    def start(self) -> None:
        if self._running is not None:
            return
        try:
            server = TeacherServer(self.port, self.mounts)
        except OSError as exc:
            raise OSError(
                f"the rehearsal's server cannot listen on {loopback(self.port)} ({exc}); another run holds"
                " the port? Choose another with rehearsal.port (and the URLs that name it)"
            ) from exc
        self._running = Running(server)
        log.info("rehearsal server on %s: %s; the teacher at %s/v1", server.url, self.mounts, server.url)

    def stop(self) -> None:
        if self._running is not None:
            self._running.stop()
            self._running = None
