"""``actionmqa mqa ...``: the benchmark stage's verbs."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

from actionmqa.mqa.distractors import DistractorKind
from actionmqa.mqa.options import TextMode

log = logging.getLogger(__name__)


def register(stages: Any) -> None:
    """Add the ``mqa`` stage and its ``build`` verb to the top-level sub-parsers."""
    stage = stages.add_parser("mqa", help="build the frozen EK100-MQA benchmark files")
    verbs = stage.add_subparsers(dest="verb", required=True, metavar="VERB")
    build = verbs.add_parser(
        "build",
        help="one benchmark JSONL (one question per segment) plus its .manifest.json",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    build.add_argument("--annotations-dir", type=Path, required=True, help="EK100 annotations directory")
    build.add_argument("--split", default="validation", help="the split whose segments become questions")
    build.add_argument(
        "--distractors",
        required=True,
        choices=[kind.value for kind in DistractorKind],
        help="distractor kind",
    )
    build.add_argument(
        "--predictions", type=Path, help="specialist prediction file (spec §0); required for medium/hard"
    )
    build.add_argument(
        "--predictions-manifest",
        type=Path,
        help="the manifest beside a public-weights specialist's predictions: its source goes into ours",
    )
    build.add_argument(
        "--source-name", help="distractor_source of the records (default: random or file stem)"
    )
    build.add_argument("--options", type=int, default=5, help="options per question (K)")
    build.add_argument(
        "--text",
        default=TextMode.NARRATION.value,
        choices=[mode.value for mode in TextMode],
        help="option texts: narrations (the paper's) or class labels",
    )
    build.add_argument("--seed", type=int, required=True, help="global seed of every draw")
    build.add_argument("--out", type=Path, required=True, help="output JSONL; the manifest goes beside it")
    build.set_defaults(func=_build)


def _build(args: argparse.Namespace) -> None:
    from actionmqa.errors import InputError
    from actionmqa.mqa.benchmark import build_benchmark, default_source
    from actionmqa.mqa.builder import BuildConfig

    kind = DistractorKind(args.distractors)
    if not 2 <= args.options <= 26:
        raise InputError(None, f"--options {args.options}: expected 2 to 26 (letters A-Z)")
    config = BuildConfig(
        distractors=kind,
        text=TextMode(args.text),
        seed=args.seed,
        distractor_source=args.source_name or default_source(kind, args.predictions),
        split=args.split,
        n_options=args.options,
    )
    started = time.perf_counter()
    build_benchmark(args.annotations_dir, config, args.out, args.predictions, args.predictions_manifest)
    log.info("built %s in %.1f s", args.out, time.perf_counter() - started)
