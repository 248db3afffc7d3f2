"""``actionmqa model {download, convert, random}``: checkpoints in this project's format.

The base models (LLaVA-Video-7B, LLaVA-OV-0.5B) and the released LLaVAction checkpoints all
ship in LLaVA-NeXT's layout; converting them once lets training and evaluation load every
model the same way, with ``from_pretrained`` and no remote code. ``random`` writes the same
architectures untrained, to measure a cluster's step time and memory before a download.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from actionmqa.model.presets import SHAPES


def register(stages: argparse._SubParsersAction) -> None:
    parser = stages.add_parser("model", help="LLaVAction model: download and convert LLaVA-NeXT checkpoints")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    convert = verbs.add_parser("convert", help="LLaVA-NeXT checkpoint folder -> project format folder")
    convert.add_argument(
        "--src", type=Path, required=True, help="folder with config.json, safetensors, tokenizer"
    )
    convert.add_argument("--out", type=Path, required=True, help="output folder (replaced atomically)")
    convert.add_argument(
        "--action-token",
        choices=("auto", "on", "off"),
        default="auto",
        help="auto: keep the checkpoint's token and heads if any; on: add fresh ones if absent; off: drop",
    )
    convert.set_defaults(func=_convert)

    download = verbs.add_parser(
        "download", help="a hub checkpoint at a pinned revision (token: HF_TOKEN from the environment only)"
    )
    download.add_argument("--repo", required=True, help="e.g. lmms-lab/LLaVA-Video-7B-Qwen2")
    download.add_argument("--revision", required=True, help="a commit hash (or a branch, unpinned)")
    download.add_argument("--out", type=Path, required=True, help="folder with the checkpoint's files")
    download.add_argument(
        "--cache-dir", type=Path, default=None, help="Hugging Face cache (default: HF_HOME)"
    )
    download.add_argument("--offline", action="store_true", help="use the local cache only, no network")
    download.add_argument(
        "--allow-pattern",
        dest="allow_patterns",
        nargs="+",
        default=None,
        metavar="GLOB",
        help="repository files to fetch (default: configs, tokenizer files and *.safetensors)",
    )
    download.set_defaults(func=_download)

    random = verbs.add_parser(
        "random", help="a published architecture with random weights (bf16), for GPU memory and speed checks"
    )
    random.add_argument("--shape", choices=sorted(SHAPES), required=True)
    random.add_argument("--tokenizer", type=Path, required=True, help="folder with a chat tokenizer")
    random.add_argument("--out", type=Path, required=True, help="output folder (replaced atomically)")
    random.add_argument("--action-token", choices=("on", "off"), default="on")
    random.add_argument("--visual-layout", choices=("hf", "llava_video"), default="llava_video")
    random.add_argument("--seed", type=int, default=0)
    random.set_defaults(func=_random)


def _convert(args: argparse.Namespace) -> None:
    from actionmqa.model.convert import convert

    convert(args.src, args.out, action_token=args.action_token)


def _download(args: argparse.Namespace) -> None:
    from actionmqa.model.download import ALLOW_PATTERNS, download_checkpoint

    download_checkpoint(
        args.repo,
        args.revision,
        args.out,
        allow_patterns=args.allow_patterns or ALLOW_PATTERNS,
        cache_dir=args.cache_dir,
        offline=args.offline,
    )


def _random(args: argparse.Namespace) -> None:
    from actionmqa.model.random_init import write_random_model

    write_random_model(
        SHAPES[args.shape],
        args.tokenizer,
        args.out,
        seed=args.seed,
        action_token=args.action_token == "on",
        visual_layout=args.visual_layout,
    )
