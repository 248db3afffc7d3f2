"""``actionmqa sft ...``: build the SFT mixture, and ask a teacher for its captions and QA."""

from __future__ import annotations

import argparse
import logging
import re
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_]*")


def named_path(text: str) -> tuple[str, Path]:
    """``avion=preds/avion_train.json`` -> ("avion", Path(...)); the name becomes task ``hard_mqa_avion``."""
    name, sep, path = text.partition("=")
    if not sep or not path or not _SOURCE_NAME.fullmatch(name):
        raise argparse.ArgumentTypeError(f"expected NAME=FILE with NAME in [a-z0-9_], got {text!r}")
    return name, Path(path)


def register(stages: Any) -> None:
    """Add the ``sft`` stage and its ``build`` and ``teacher`` verbs to the top-level sub-parsers."""
    stage = stages.add_parser("sft", help="build the SFT mixture (LLaVA conversation JSONL)")
    verbs = stage.add_subparsers(dest="verb", required=True, metavar="VERB")
    _add_build(verbs)
    _add_teacher(verbs)


def _add_build(verbs: Any) -> None:
    build = verbs.add_parser(
        "build",
        help="one SFT JSONL (every task of the mixture) plus its .manifest.json",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_common(build, mixture_help="mixture YAML/JSON (actionmqa.sft.mixture.MixtureConfig)", required=True)
    build.add_argument(
        "--predictions",
        type=named_path,
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="specialist predictions on --split (spec §0); one hard-MQA task per NAME; repeatable",
    )
    build.add_argument(
        "--predictions-manifest",
        type=named_path,
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="the manifest beside a public-weights specialist's predictions (recorded: in-sample)",
    )
    texts = build.add_mutually_exclusive_group()
    texts.add_argument("--scenes", type=Path, help="toy world scenes.jsonl: captions and QA (demo)")
    texts.add_argument("--teacher-file", type=Path, help="captions and QA written by 'sft teacher'")
    build.add_argument(
        "--world", type=Path, help="toy world folder: the train clips of general video multiple choice"
    )
    build.add_argument(
        "--time-instruction", action="store_true", help="prefix each prompt with the video's duration"
    )
    build.add_argument("--frames", type=int, help="frames the time instruction announces")
    build.add_argument("--out", type=Path, required=True, help="output JSONL; the manifest goes beside it")
    build.set_defaults(func=_build)


def _add_teacher(verbs: Any) -> None:
    teacher = verbs.add_parser(
        "teacher",
        help="captions and QA pairs for the split's clips from an OpenAI-compatible teacher",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_common(
        teacher,
        mixture_help="with --seed: ask only for the clips the mixture's caption/open_qa tasks select",
        required=False,
    )
    teacher.add_argument(
        "--teacher-config", type=Path, required=True, help="YAML/JSON of actionmqa.teacher.TeacherConfig"
    )
    teacher.add_argument("--video-root", type=Path, required=True)
    teacher.add_argument("--layout", choices=("whole", "chunks"), default="whole")
    teacher.add_argument("--chunk-sec", type=int, default=15, help="chunk length of the 'chunks' layout")
    teacher.add_argument("--backend", choices=("pyav", "decord"), default="pyav")
    teacher.add_argument("--frames", type=int, default=4, help="frames per caption request (upstream: 4)")
    teacher.add_argument("--batch-size", type=int, default=64, help="clips decoded and sent per batch")
    teacher.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output JSONL, one line per clip; <out>.failures.jsonl and <out>.manifest.json go beside it",
    )
    teacher.add_argument(
        "--ask-again",
        action="store_true",
        help="ask again for the clips whose refusal or invalid reply an earlier run recorded in the cache",
    )
    teacher.set_defaults(func=_teacher)


def _add_common(parser: argparse.ArgumentParser, *, mixture_help: str, required: bool) -> None:
    parser.add_argument("--annotations-dir", type=Path, required=True, help="EK100 annotations directory")
    parser.add_argument("--split", default="train", help="the split whose segments become samples")
    parser.add_argument("--mixture", type=Path, required=required, help=mixture_help)
    parser.add_argument("--seed", type=int, required=required, help="global seed of every draw")


def _build(args: argparse.Namespace) -> None:
    from actionmqa.errors import InputError
    from actionmqa.sft.build import BuildRequest, build_sft

    names = [name for name, _ in args.predictions]
    if len(set(names)) != len(names):
        raise InputError(None, f"--predictions names repeat: {names}")
    if args.time_instruction != (args.frames is not None) or (args.frames is not None and args.frames < 1):
        raise InputError(None, "--time-instruction and --frames N (N >= 1) go together")
    request = BuildRequest(
        annotations_dir=args.annotations_dir,
        mixture_file=args.mixture,
        seed=args.seed,
        out=args.out,
        split=args.split,
        predictions=dict(args.predictions),
        prediction_manifests=dict(args.predictions_manifest),
        scenes=args.scenes,
        teacher_file=args.teacher_file,
        world=args.world,
        frames=args.frames,
    )
    started = time.perf_counter()
    build_sft(request)
    log.info("built %s in %.1f s", args.out, time.perf_counter() - started)


def _teacher(args: argparse.Namespace) -> None:
    from actionmqa.errors import InputError
    from actionmqa.sft.teacher_run import TeachRequest, teach

    if (args.mixture is None) != (args.seed is None):
        raise InputError(None, "--mixture and --seed go together")
    teach(
        TeachRequest(
            annotations_dir=args.annotations_dir,
            split=args.split,
            teacher_config=args.teacher_config,
            video_root=args.video_root,
            layout=args.layout,
            chunk_sec=args.chunk_sec,
            backend=args.backend,
            frames=args.frames,
            batch_size=args.batch_size,
            out=args.out,
            mixture_file=args.mixture,
            seed=args.seed,
            ask_again=args.ask_again,
        )
    )
