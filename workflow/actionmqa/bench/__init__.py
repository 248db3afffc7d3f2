"""Benchmark adapters: EgoSchema, Perception Test, LongVideoBench, Video-MME and MVBench.

One :class:`~actionmqa.bench.base.BenchmarkAdapter` per benchmark; :func:`make_adapter` builds
one by name with its settings. EK100 action-recognition metrics are in ``ek100_ar``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from actionmqa.bench.base import BenchmarkAdapter, evaluate
from actionmqa.bench.egoschema import EgoSchema
from actionmqa.bench.longvideobench import LongVideoBench
from actionmqa.bench.mvbench import MVBench
from actionmqa.bench.perceptiontest import PerceptionTest
from actionmqa.bench.records import ParseMode, PromptStyle, Question
from actionmqa.bench.videomme import VideoMME
from actionmqa.errors import InputError

#: name -> adapter class
ADAPTERS: dict[str, type[BenchmarkAdapter]] = {
    cls.name: cls for cls in (EgoSchema, PerceptionTest, LongVideoBench, VideoMME, MVBench)
}


def make_adapter(name: str, **settings: Any) -> BenchmarkAdapter:
    """The adapter called ``name``; settings left ``None`` keep their defaults.

    A setting the benchmark does not have (subtitles for EgoSchema) is an error rather than
    silently ignored, so a command line never claims a condition that was not applied.
    """
    if name not in ADAPTERS:
        raise InputError(None, f"unknown benchmark {name!r}; expected one of {sorted(ADAPTERS)}")
    cls = ADAPTERS[name]
    given = {key: value for key, value in settings.items() if value is not None and value is not False}
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(given) - known)
    if unknown:
        raise InputError(
            None, f"{name} has no setting {', '.join(unknown)} (it has: {sorted(known) or 'none'})"
        )
    return cls(**given)


__all__ = [
    "ADAPTERS",
    "BenchmarkAdapter",
    "ParseMode",
    "PromptStyle",
    "Question",
    "evaluate",
    "make_adapter",
]
