"""``actionmqa toyworld generate``: write the embedded toy kitchen world."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from actionmqa.toyworld.config import WorldConfig

_DEFAULTS = WorldConfig()


def register(stages: Any) -> None:
    """Add the ``toyworld`` stage and its verbs to the top-level sub-command parsers."""
    parser = stages.add_parser("toyworld", help="the embedded toy kitchen world (EK100 formats)")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    generate = verbs.add_parser(
        "generate",
        help="write annotations/, videos/, scenes.jsonl and manifest.json",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    generate.add_argument("--out", type=Path, required=True, help="world directory to write")
    generate.add_argument("--seed", type=int, default=_DEFAULTS.seed)
    generate.add_argument("--n-train", type=int, default=_DEFAULTS.n_train, help="training segments")
    generate.add_argument("--n-val", type=int, default=_DEFAULTS.n_val, help="validation segments")
    generate.add_argument("--size", type=int, default=_DEFAULTS.size, help="frame side in pixels (even)")
    generate.add_argument("--fps", type=int, default=_DEFAULTS.fps)
    generate.add_argument("--participants", type=int, default=_DEFAULTS.n_participants)
    generate.add_argument(
        "--unseen", type=int, default=_DEFAULTS.n_unseen, help="participants that appear in validation only"
    )
    generate.add_argument(
        "--workers", type=int, default=1, help="processes encoding videos (the output does not depend on it)"
    )
    generate.set_defaults(func=run_generate)


def run_generate(args: argparse.Namespace) -> None:
    from actionmqa.toyworld.generate import generate_world

    config = WorldConfig(
        seed=args.seed,
        n_train=args.n_train,
        n_val=args.n_val,
        size=args.size,
        fps=args.fps,
        n_participants=args.participants,
        n_unseen=args.unseen,
    )
    generate_world(args.out, config, workers=args.workers, progress=True)
