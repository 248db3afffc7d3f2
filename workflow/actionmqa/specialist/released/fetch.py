"""Download a released checkpoint through the shared download path, then check the publisher's md5.

:func:`actionmqa.download.fetch_file` retries, resumes from ``<file>.download.part`` and checks a
pinned sha256. The publishers print only an md5 prefix, which the shared path cannot take, so
the file lands beside the target first and moves into place only when its md5 starts with that
prefix: a truncated or corrupt file never becomes the rule's output.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from actionmqa.download import DownloadError, FetchResult, RetryPolicy, fetch_file
from actionmqa.io import md5_file
from actionmqa.specialist.released.zoo import Release

log = logging.getLogger(__name__)


def staging_path(dest: Path) -> Path:
    """Where the download collects before its md5 is checked (its partial is ``<this>.part``)."""
    return dest.with_name(dest.name + ".download")


def fetch_release(
    release: Release,
    dest: Path,
    *,
    sha256: str | None = None,
    url: str | None = None,
    policy: RetryPolicy | None = None,
) -> FetchResult:
    """``release`` (from ``url``, a mirror, when given) at ``dest``, md5-prefix checked and, with
    ``sha256``, verified in full."""
    dest = Path(dest)
    url = url or release.url
    staged = staging_path(dest)
    result = fetch_file(url, staged, sha256=sha256, policy=policy)
    md5 = md5_file(staged)
    if not md5.startswith(release.md5_prefix):
        staged.unlink()
        raise DownloadError(
            url,
            f"md5 {md5} does not start with the published {release.md5_prefix} of {release.name};"
            f" {dest} not written (a corrupt or truncated download, or another file at that URL)",
            key=release.name,
        )
    os.replace(staged, dest)
    if sha256 is None:
        log.warning(
            "%s: md5 prefix %s matches; its sha256 is %s. Pin it as specialist.checkpoint_sha256.%s"
            " in the config (a frozen run requires it)",
            dest,
            release.md5_prefix,
            result.sha256,
            release.name,
        )
    return result
