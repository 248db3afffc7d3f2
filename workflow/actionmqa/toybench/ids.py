"""Identifiers in each benchmark's own style (UUIDs, YouTube ids, numbered file names), seeded and unique."""

from __future__ import annotations

import string
import uuid
from collections.abc import Callable

import numpy as np

#: The 64 characters of a YouTube video id.
_YOUTUBE = string.ascii_letters + string.digits + "-_"
_CHARADES = string.ascii_uppercase + string.digits


def youtube_id(rng: np.random.Generator) -> str:
    """An 11-character id such as ``dQw4w9WgXcQ`` (Video-MME ``videoID``, LongVideoBench ``video_id``)."""
    return "".join(_YOUTUBE[int(i)] for i in rng.integers(len(_YOUTUBE), size=11))


def uuid4(rng: np.random.Generator) -> str:
    """A version-4 UUID string (EgoSchema ``q_uid``)."""
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def charades_id(rng: np.random.Generator) -> str:
    """A 5-character Charades-style id such as ``0A8CF`` (MVBench STAR clips)."""
    return "".join(_CHARADES[int(i)] for i in rng.integers(len(_CHARADES), size=5))


def numbered(prefix: str, digits: int) -> Callable[[np.random.Generator], str]:
    """``prefix`` + a number of ``digits`` digits: ``video_10023`` (Perception Test, CLEVRER)."""

    def draw(rng: np.random.Generator) -> str:
        return f"{prefix}{int(rng.integers(10 ** (digits - 1), 10**digits))}"

    return draw


def unique(draw: Callable[[np.random.Generator], str], n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct draws, in draw order."""
    seen: dict[str, None] = {}
    while len(seen) < n:
        seen.setdefault(draw(rng), None)
    return list(seen)
