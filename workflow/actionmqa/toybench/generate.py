"""Write the five toy benchmarks for one world: clips, questions, files, videos, README, manifest.

Each benchmark is written into a staging folder and moved into place whole, so an interrupted
run never leaves a benchmark whose question files and videos disagree; ``manifest.json`` at the
top is written last, so its presence means every benchmark is complete.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actionmqa.io import atomic_dir, atomic_open, sha256_file, write_json, write_jsonl
from actionmqa.toybench.base import PROVENANCE, README, Placed, ToyBenchmark, readme_text
from actionmqa.toybench.cutting import write_clip
from actionmqa.toybench.design import Item, build_items
from actionmqa.toybench.egoschema import ToyEgoSchema
from actionmqa.toybench.longvideobench import ToyLongVideoBench
from actionmqa.toybench.mvbench import ToyMVBench
from actionmqa.toybench.perceptiontest import ToyPerceptionTest
from actionmqa.toybench.videomme import ToyVideoMME
from actionmqa.toybench.world import World, load_world

log = logging.getLogger(__name__)

GENERATOR = "actionmqa.toybench"
MANIFEST = "manifest.json"
BENCHMARKS: tuple[ToyBenchmark, ...] = (
    ToyEgoSchema(),
    ToyPerceptionTest(),
    ToyLongVideoBench(),
    ToyVideoMME(),
    ToyMVBench(),
)


@dataclass(frozen=True)
class Written:
    """What one benchmark folder holds: counts, kinds, and the sha256 of every file but the videos."""

    name: str
    questions: int
    videos: int
    kinds: dict[str, int]
    sha256: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "videos": self.videos,
            "kinds": self.kinds,
            "sha256": self.sha256,
        }


def emit(bench: ToyBenchmark, world: World, seed: int, root: Path, videos: bool = True) -> Written:
    """Write one benchmark under ``root`` (replacing what was there)."""
    items = build_items(world, bench.design, seed, bench.name)
    with atomic_dir(root) as staging:
        placed = bench.write(staging, items, seed)
        write_jsonl(staging / PROVENANCE, (p.provenance() for p in placed))
        with atomic_open(staging / README) as handle:
            handle.write(readme_text(bench, placed, seed, world.split))
        clips = _clips(placed)
        if videos:
            for video, item in clips.items():
                write_clip(staging / video, item.clip)
        written = Written(
            name=bench.name,
            questions=len(placed),
            videos=len(clips),
            kinds=dict(sorted(Counter(p.question.kind.value for p in placed).items())),
            sha256=_digests(staging),
        )
    return written


def _clips(placed: Sequence[Placed]) -> dict[str, Item]:
    """video path -> its item; a path shared by several questions is one clip."""
    clips: dict[str, Item] = {}
    for p in placed:
        if clips.setdefault(p.video, p.item) is not p.item:
            raise RuntimeError(f"{p.video} is the path of two different clips")
    return clips


def _digests(root: Path) -> dict[str, str]:
    """sha256 of the question, subtitle and README files (video bytes depend on the x264 build)."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".mp4")
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in files}


def generate_benchmarks(
    world_dir: Path, out_dir: Path, seed: int, split: str = "validation", videos: bool = True
) -> dict[str, Written]:
    """All five toy benchmarks of the world at ``world_dir``, under ``out_dir/<benchmark>/``."""
    started = time.perf_counter()
    world = load_world(Path(world_dir), split)
    out_dir = Path(out_dir)
    written = {}
    for bench in BENCHMARKS:
        written[bench.name] = emit(bench, world, seed, out_dir / bench.name, videos)
        log.info(
            "%s: %d questions, %d videos",
            bench.name,
            written[bench.name].questions,
            written[bench.name].videos,
        )
    world_manifest = Path(world_dir) / "manifest.json"
    write_json(
        out_dir / MANIFEST,
        {
            "generator": GENERATOR,
            "seed": seed,
            "split": split,
            "videos": videos,
            "world_manifest_sha256": sha256_file(world_manifest) if world_manifest.is_file() else None,
            "benchmarks": {name: w.to_json() for name, w in written.items()},
        },
    )
    log.info("toy benchmarks in %s: %.1f s", out_dir, time.perf_counter() - started)
    return written
