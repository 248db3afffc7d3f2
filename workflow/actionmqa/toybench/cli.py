"""``actionmqa toybench generate``: the five QA benchmarks in their real layouts, from the toy world."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(stages: Any) -> None:
    """Add the ``toybench`` stage and its ``generate`` verb."""
    parser = stages.add_parser("toybench", help="toy EgoSchema ... MVBench from the toy world (real layouts)")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    generate = verbs.add_parser(
        "generate",
        help="write <out>/<benchmark>/ for egoschema, perceptiontest, longvideobench, videomme, mvbench",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    generate.add_argument(
        "--world", type=Path, required=True, help="a toy world directory (toyworld generate)"
    )
    generate.add_argument(
        "--split",
        default="validation",
        choices=["validation"],
        help="the world split questions come from (never train: the model trains on it)",
    )
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--out", type=Path, required=True, help="folder to write the benchmarks into")
    generate.add_argument(
        "--no-videos", action="store_true", help="question files only (adapters load them without videos)"
    )
    generate.set_defaults(func=run_generate)


def run_generate(args: argparse.Namespace) -> None:
    from actionmqa.toybench.generate import generate_benchmarks

    generate_benchmarks(args.world, args.out, args.seed, args.split, videos=not args.no_videos)
