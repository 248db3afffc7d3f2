"""``actionmqa train run``: fine-tune a LLaVAction model on SFT JSONL with the HF Trainer and DeepSpeed.

Launch one process per GPU with ``torchrun --standalone --nproc_per_node N -m actionmqa train
run ...``; on a CPU, ``actionmqa train run ...`` alone is one process on gloo. A rerun with the
same ``--output-dir`` resumes from its newest complete checkpoint.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(stages: Any) -> None:
    stage = stages.add_parser("train", help="fine-tune on SFT data (HF Trainer + DeepSpeed)")
    verbs = stage.add_subparsers(dest="verb", required=True, metavar="VERB")
    run = verbs.add_parser(
        "run",
        help="train (or resume) and save the final model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--base", type=Path, required=True, help="base model folder (save_pretrained format)")
    run.add_argument("--data", type=Path, required=True, help="SFT JSONL (LLaVA conversations)")
    run.add_argument(
        "--data2", type=Path, action="append", default=[], metavar="DATA", help="more SFT JSONL; repeatable"
    )
    run.add_argument("--video-root", type=Path, required=True, help="root of the EK100 videos")
    run.add_argument("--layout", choices=("whole", "chunks"), required=True, help="video file layout")
    run.add_argument("--backend", choices=("pyav", "decord"), default="pyav", help="video decoder")
    run.add_argument("--recipe", type=Path, required=True, help="training recipe YAML (train.recipe)")
    run.add_argument(
        "--output-dir", type=Path, required=True, help="loss.csv, checkpoints/, sample logs (resumed from)"
    )
    run.add_argument("--final", type=Path, required=True, help="final model folder (replaced atomically)")
    run.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> None:
    from actionmqa.train.recipe import load_recipe
    from actionmqa.train.run import TrainJob, train

    train(
        TrainJob(
            base=args.base,
            data=(args.data, *args.data2),
            video_root=args.video_root,
            layout=args.layout,
            recipe=load_recipe(args.recipe),
            output_dir=args.output_dir,
            final=args.final,
            backend=args.backend,
        )
    )
