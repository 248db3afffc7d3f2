"""Generate a whole toy world: annotations, scene descriptions, videos, and a manifest.

The manifest is written last, so its presence means the world is complete. It records the
config and the sha256 of every table; video bytes are left out because they depend on the
x264 build, while their decoded frames do not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from actionmqa.io import atomic_dir, sha256_file, write_json, write_jsonl
from actionmqa.toyworld import scenes, tables
from actionmqa.toyworld.config import WorldConfig
from actionmqa.toyworld.encode import EncoderSettings, write_mp4
from actionmqa.toyworld.render import render_video
from actionmqa.toyworld.scenery import ParticipantLook
from actionmqa.toyworld.script import TRAIN, VALIDATION, VideoPlan, WorldPlan, plan_world

log = logging.getLogger(__name__)

GENERATOR = "actionmqa.toyworld"
SCENES_FILE = "scenes.jsonl"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class WorldManifest:
    """What was generated: the config, counts, and sha256 of each table (paths relative to the world)."""

    config: WorldConfig
    encoder: EncoderSettings
    counts: dict[str, int]
    sha256: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "generator": GENERATOR,
            "seed": self.config.seed,
            "config": self.config.to_dict(),
            "video": {"codec": "libx264", "pix_fmt": "yuv420p", **asdict(self.encoder)},
            "counts": self.counts,
            "sha256": self.sha256,
        }


def encoder_settings(config: WorldConfig) -> EncoderSettings:
    """One keyframe per second of video, whatever the frame rate."""
    return EncoderSettings(gop=config.fps)


def video_path(videos_dir: Path, video: VideoPlan) -> Path:
    """The official EK100 download layout: ``<Pxx>/videos/<video_id>.MP4``."""
    return videos_dir / video.participant_id / "videos" / f"{video.video_id}.MP4"


@dataclass(frozen=True)
class VideoJob:
    """All one worker process needs to render and encode one video."""

    path: Path
    video: VideoPlan
    look: ParticipantLook
    config: WorldConfig


def _encode_one(job: VideoJob) -> int:
    path, video, look, config = job.path, job.video, job.look, job.config
    blocks = render_video(video, look, config.size, config.fps, config.seed)
    n_frames = write_mp4(path, blocks, config.fps, encoder_settings(config))
    if n_frames != video.n_frames(config.fps):
        raise RuntimeError(f"{path}: wrote {n_frames} frames, planned {video.n_frames(config.fps)}")
    return n_frames


def write_videos(videos_dir: Path, plan: WorldPlan, workers: int = 1, progress: bool = False) -> int:
    """Render and encode every video (in parallel across videos); returns the total frame count.

    The folder is replaced whole: a world regenerated smaller, or with another seed, must not keep
    the previous world's videos beside its own.
    """
    with atomic_dir(videos_dir) as staging:
        jobs = [
            VideoJob(
                video_path(staging, video), video, plan.participant(video.participant_id).look, plan.config
            )
            for video in plan.videos
        ]
        bar = tqdm(total=len(jobs), desc="toyworld videos", unit="video", disable=not progress)
        total = 0
        with bar:
            for n_frames in _run(jobs, workers):
                total += n_frames
                bar.update()
    return total


def _run(jobs: list[VideoJob], workers: int) -> Iterator[int]:
    if workers <= 1:
        yield from map(_encode_one, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_encode_one, jobs)


def count_world(plan: WorldPlan, n_frames: int) -> dict[str, int]:
    segments = list(plan.segments())
    return {
        "train_segments": sum(s.split == TRAIN for s in segments),
        "validation_segments": sum(s.split == VALIDATION for s in segments),
        "train_videos": sum(v.split == TRAIN for v in plan.videos),
        "validation_videos": sum(v.split == VALIDATION for v in plan.videos),
        "participants": len(plan.participants),
        "unseen_participants": sum(p.unseen for p in plan.participants),
        "actions": len({s.action.vn for s in segments}),
        "frames": n_frames,
    }


def generate_world(
    out_dir: Path, config: WorldConfig, *, workers: int = 1, progress: bool = False
) -> WorldManifest:
    """Write the world of ``config`` under ``out_dir``: annotations/, videos/, scenes.jsonl, manifest.json.

    ``workers`` only changes speed: the output is the same for any number of processes.
    """
    out_dir = Path(out_dir)
    started = time.perf_counter()
    plan = plan_world(config)
    table_paths = tables.write_annotations(out_dir / "annotations", plan)
    write_jsonl(out_dir / SCENES_FILE, scenes.scene_records(plan))
    n_frames = write_videos(out_dir / "videos", plan, workers, progress)
    digests = {
        p.relative_to(out_dir).as_posix(): sha256_file(p) for p in [*table_paths, out_dir / SCENES_FILE]
    }
    manifest = WorldManifest(
        config, encoder_settings(config), count_world(plan, n_frames), dict(sorted(digests.items()))
    )
    write_json(out_dir / MANIFEST_FILE, manifest.to_dict())
    log.info("toy world %s: %s in %.1f s", out_dir, manifest.counts, time.perf_counter() - started)
    return manifest
