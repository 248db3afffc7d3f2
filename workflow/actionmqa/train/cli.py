"""``actionmqa train``: fine-tune a LLaVAction model on SFT JSONL with the HF Trainer and DeepSpeed.

``run`` trains in this process: launch one per GPU with ``torchrun --standalone
--nproc_per_node N -m actionmqa train run ...``; on a CPU, ``actionmqa train run ...`` alone is one
process on gloo. A rerun with the same ``--output-dir`` resumes from its newest complete
checkpoint. ``launch-node`` is one node's start of a multi-node job, run as a SLURM task.
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
    run.add_argument(
        "--nodes",
        type=int,
        help="nodes the job was planned for (with --processes-per-node: checked at start)",
    )
    run.add_argument("--processes-per-node", type=int, help="processes per node the job was planned for")
    run.add_argument(
        "--time-left",
        type=float,
        metavar="SECONDS",
        help="time this run may take; default: what SLURM says is left of the job's time limit (none"
        " outside SLURM). Training stops with a checkpoint and exit status 75 before it runs out",
    )
    run.set_defaults(func=_run)

    node = verbs.add_parser(
        "launch-node",
        help="one node of a multi-node job: start its torchrun (run as a SLURM task)",
        description="Run as one task per node (srun --ntasks-per-node 1) inside a SLURM job: finds the"
        " job's head node and execs torchrun with c10d rendezvous there; the arguments after '--' go to"
        " 'actionmqa train run'.",
    )
    node.add_argument("--nproc-per-node", type=int, required=True, help="processes on this node (its GPUs)")
    node.add_argument("train_args", nargs=argparse.REMAINDER, help="-- then the arguments of 'train run'")
    node.set_defaults(func=_launch_node)


def _run(args: argparse.Namespace) -> None:
    from actionmqa.errors import InputError
    from actionmqa.train.recipe import load_recipe
    from actionmqa.train.run import TrainJob, train
    from actionmqa.train.topology import BatchSplitError

    if (args.nodes is None) != (args.processes_per_node is None):
        raise InputError(None, "--nodes and --processes-per-node go together")
    planned = None if args.nodes is None else (args.nodes, args.processes_per_node)
    try:
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
                planned=planned,
                time_left_s=args.time_left,
            )
        )
    except BatchSplitError as exc:
        raise InputError(args.recipe, str(exc), key="global_batch_size") from exc


def _launch_node(args: argparse.Namespace) -> None:
    from actionmqa.train.nodes import launch_node

    train_args = args.train_args[1:] if args.train_args[:1] == ["--"] else args.train_args
    launch_node(args.nproc_per_node, train_args)
