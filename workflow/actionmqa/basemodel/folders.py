"""Model folders written whole or not at all: a killed step leaves no folder Snakemake would trust."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from actionmqa.train.checkpoints import publish, staging_dir


@contextlib.contextmanager
def atomic_folder(out: Path) -> Iterator[Path]:
    """Yield an empty staging sibling of ``out``; on success it replaces ``out`` in one rename."""
    staging = staging_dir(Path(out))
    if staging.exists():
        shutil.rmtree(staging)  # left by a killed run
    staging.mkdir(parents=True)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    publish(staging, Path(out))
