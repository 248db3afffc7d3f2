"""A small toy world and the ``base`` stage's command line, for the base-model tests."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from actionmqa.basemodel.cli import register
from actionmqa.toyworld import WorldConfig, generate_world

#: 40 train and 10 validation segments over three participants: two seconds to render.
SMALL_WORLD = WorldConfig(seed=3, n_train=40, n_val=10, n_participants=3, n_unseen=1)

#: A tower small enough to train in a second: 32 px frames in 8 px patches, one layer.
TINY_VISION = (
    *("--frames", "4", "--image-size", "32", "--patch-size", "8", "--hidden", "32", "--layers", "1"),
    *("--steps", "3", "--batch-size", "8", "--lr", "1e-3", "--threads", "1"),
)


def make_world(root: Path) -> Path:
    generate_world(root, SMALL_WORLD)
    return root


def run_base(argv: Sequence[str]) -> None:
    """``actionmqa base ...`` through the stage's own parser (the handler, as the CLI calls it)."""
    parser = argparse.ArgumentParser(prog="actionmqa")
    register(parser.add_subparsers(dest="stage", required=True))
    args = parser.parse_args(["base", *argv])
    args.func(args)


def build_tokenizer(world: Path, out: Path) -> Path:
    run_base(
        [
            "tokenizer",
            *("--annotations-dir", str(world / "annotations"), "--scenes", str(world / "scenes.jsonl")),
            *("--vocab-size", "2048", "--out", str(out)),
        ]
    )
    return out


def build_vision(world: Path, out: Path, metrics: Path, *extra: str) -> Path:
    run_base(
        [
            "vision",
            *("--annotations-dir", str(world / "annotations"), "--video-root", str(world / "videos")),
            *TINY_VISION,
            *extra,
            *("--out", str(out), "--metrics", str(metrics)),
        ]
    )
    return out


def base_parts(root: Path) -> dict[str, Path]:
    """A small world under ``root``, its tokenizer and a (barely) pretrained tower."""
    world = make_world(root / "world")
    return {
        "root": root,
        "world": world,
        "tokenizer": build_tokenizer(world, root / "tokenizer"),
        "vision": build_vision(world, root / "vision", root / "vision.json"),
    }


def init_base(parts: dict[str, Path], out: Path, *extra: str, tokenizer: Path | None = None) -> Path:
    """``base init`` of a one-layer, 32-wide language model from ``base_parts``; ``extra`` flags last."""
    run_base(
        [
            "init",
            *("--tokenizer", str(tokenizer or parts["tokenizer"]), "--vision", str(parts["vision"])),
            *("--annotations-dir", str(parts["world"] / "annotations")),
            *("--hidden", "32", "--layers", "1", "--heads", "2", "--seed", "0"),
            *extra,
            *("--out", str(out)),
        ]
    )
    return out
