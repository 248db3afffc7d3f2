"""``actionmqa eval mqa``: EK100-MQA accuracy of a saved model on a frozen benchmark file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def register(stages: Any) -> None:
    stage = stages.add_parser("eval", help="evaluate models (EK100-MQA)")
    verbs = stage.add_subparsers(dest="verb", required=True, metavar="VERB")
    mqa = verbs.add_parser(
        "mqa",
        help="EK100-MQA: greedy answers, upstream and strict parsing, option likelihoods",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    mqa.add_argument("--model", type=Path, required=True, help="saved model folder")
    mqa.add_argument("--benchmark", type=Path, required=True, help="frozen EK100-MQA JSONL")
    mqa.add_argument("--video-root", type=Path, required=True, help="root of the EK100 videos")
    mqa.add_argument("--layout", choices=("whole", "chunks"), required=True, help="video file layout")
    mqa.add_argument("--backend", choices=("pyav", "decord"), default="pyav", help="video decoder")
    mqa.add_argument("--frames", type=positive_int, default=8, help="frames per clip")
    mqa.add_argument(
        "--time-instruction",
        action="store_true",
        help="state the clip's duration and frame count (7B final run)",
    )
    mqa.add_argument("--batch-size", type=positive_int, default=8, help="questions per generate call")
    mqa.add_argument("--max-new-tokens", type=positive_int, default=32, help="generation length cap")
    mqa.add_argument(
        "--skip-likelihood",
        action="store_true",
        help="skip the option-likelihood view (one extra forward pass over all options per question)",
    )
    mqa.add_argument("--limit", type=positive_int, help="evaluate only the first N questions")
    mqa.add_argument("--summary", type=Path, required=True, help="output summary JSON")
    mqa.add_argument("--predictions", type=Path, required=True, help="output per-question JSONL")
    mqa.set_defaults(func=_mqa)


def _mqa(args: argparse.Namespace) -> None:
    from actionmqa.evaluate.run import MQAJob, run_mqa

    run_mqa(
        MQAJob(
            model=args.model,
            benchmark=args.benchmark,
            video_root=args.video_root,
            layout=args.layout,
            frames=args.frames,
            summary=args.summary,
            predictions=args.predictions,
            time_instruction=args.time_instruction,
            batch_size=args.batch_size,
            max_new_tokens=args.max_new_tokens,
            likelihood=not args.skip_likelihood,
            limit=args.limit,
            backend=args.backend,
        )
    )
