"""Enough of the Hugging Face hub's HTTP API on 127.0.0.1 for ``snapshot_download`` at a commit.

huggingface_hub 2.4, given a commit, lists the repository (``GET /api/<type>s/<repo>/tree/<commit>``),
asks each file's metadata (``HEAD <prefix>/<repo>/resolve/<commit>/<path>``: ``X-Repo-Commit``,
``ETag``, ``Content-Length``) and downloads it (``GET`` of the same URL, with Range on a resume).
``LoopbackHub`` answers those from bytes in memory, with ``FaultServer``'s fault injection and
request log; point huggingface_hub at it with ``HF_ENDPOINT=<hub.endpoint>`` set before import.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from loopback_faults import FaultServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def resolve_path(repo: str, name: str, repo_type: str = "model", commit: str = COMMIT) -> str:
    """The URL path of a file (datasets and spaces carry a ``/<type>s`` prefix, models none)."""
    prefix = "" if repo_type == "model" else f"/{repo_type}s"
    return f"{prefix}/{repo}/resolve/{commit}/{name}"


class LoopbackHub(FaultServer):
    def __init__(self, repos: Mapping[tuple[str, str], Mapping[str, bytes]], commit: str = COMMIT) -> None:
        """``repos``: ``(repo_type, repo) -> {path: bytes}``, all at ``commit``."""
        files: dict[str, bytes] = {}
        self.etags: dict[str, str] = {}
        self.commit = commit
        for (repo_type, repo), content in repos.items():
            tree = [
                {"type": "file", "path": name, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
                for name, data in sorted(content.items())
            ]
            files[f"/api/{repo_type}s/{repo}/tree/{commit}"] = json.dumps(tree).encode()
            for name, data in content.items():
                path = resolve_path(repo, name, repo_type, commit)
                files[path] = data
                self.etags[path] = hashlib.sha256(data).hexdigest()
        super().__init__(files)

    @property
    def endpoint(self) -> str:
        return self.url("")

    def headers_for(self, path: str) -> dict[str, str]:
        if path in self.etags:
            return {"X-Repo-Commit": self.commit, "ETag": f'"{self.etags[path]}"'}
        return {"Content-Type": "application/json"}

    def gets(self, path: str) -> list[tuple[str | None, int, int]]:
        """``(Range, status, body bytes)`` of every GET of ``path``."""
        return [
            (s.range, s.status, s.body_bytes) for s in self.served if s.method == "GET" and s.path == path
        ]
