"""``actionmqa base``: the toy world's base model in LLaVA's stages, one verb per rule.

``tokenizer`` (BPE on the world's train text and the prompt templates), ``vision`` (pretrain the
SigLIP tower on the train clips), ``init`` (tokenizer + tower + fresh projector and language
model, in the format ``train run --base`` reads; the language stage trains from there).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from actionmqa.basemodel.recipes import LanguageRecipe, VisionRecipe
from actionmqa.flags import add_field_arguments, from_arguments


def register(stages: Any) -> None:
    stage = stages.add_parser("base", help="toy world base model: tokenizer, vision tower, assembly")
    verbs = stage.add_subparsers(dest="verb", required=True, metavar="VERB")
    _add_tokenizer(verbs)
    _add_vision(verbs)
    _add_language(verbs)
    _add_init(verbs)


def _add_tokenizer(verbs: Any) -> None:
    parser = verbs.add_parser("tokenizer", help="byte-level BPE on the world's train text and prompts")
    parser.add_argument("--annotations-dir", type=Path, required=True, help="EK100-format annotations")
    parser.add_argument("--scenes", type=Path, required=True, help="the world's scenes.jsonl")
    parser.add_argument("--vocab-size", type=int, default=2048, help="at most this many pieces")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampled prompt options")
    parser.add_argument("--out", type=Path, required=True, help="tokenizer folder (replaced whole)")
    parser.set_defaults(func=_tokenizer)


def _add_vision(verbs: Any) -> None:
    parser = verbs.add_parser("vision", help="pretrain the SigLIP tower on the train clips")
    parser.add_argument("--annotations-dir", type=Path, required=True, help="EK100-format annotations")
    parser.add_argument("--video-root", type=Path, required=True, help="root of the videos")
    parser.add_argument("--layout", choices=("whole", "chunks"), default="whole", help="video file layout")
    parser.add_argument("--backend", choices=("pyav", "decord"), default="pyav", help="video decoder")
    parser.add_argument("--frames", type=int, default=8, help="frames per clip")
    parser.add_argument("--image-size", type=int, default=64, help="tower input side in pixels")
    parser.add_argument("--patch-size", type=int, default=16, help="SigLIP patch side in pixels")
    parser.add_argument("--hidden", type=int, default=128, help="tower width (a multiple of 32)")
    parser.add_argument("--layers", type=int, default=4, help="tower depth")
    add_field_arguments(parser, VisionRecipe)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (OMP_NUM_THREADS)")
    parser.add_argument("--out", type=Path, required=True, help="tower folder (replaced whole)")
    parser.add_argument("--metrics", type=Path, required=True, help="train and held-out accuracies (JSON)")
    parser.set_defaults(func=_vision)


def _add_language(verbs: Any) -> None:
    parser = verbs.add_parser("language", help="pretrain the language model on the world's train text")
    parser.add_argument("--annotations-dir", type=Path, required=True, help="EK100-format annotations")
    parser.add_argument("--tokenizer", type=Path, required=True, help="folder written by `base tokenizer`")
    _add_language_shape(parser)
    add_field_arguments(parser, LanguageRecipe)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (OMP_NUM_THREADS)")
    parser.add_argument("--out", type=Path, required=True, help="language model folder (replaced whole)")
    parser.add_argument("--metrics", type=Path, required=True, help="held-out choosing accuracies (JSON)")
    parser.set_defaults(func=_language)


def _add_language_shape(parser: argparse.ArgumentParser) -> None:
    """Width, depth and heads: ``base language`` and ``base init`` must be given the same."""
    parser.add_argument("--hidden", type=int, default=128, help="language model width")
    parser.add_argument("--layers", type=int, default=4, help="language model depth")
    parser.add_argument("--heads", type=int, default=4, help="language model attention heads")


def _add_init(verbs: Any) -> None:
    parser = verbs.add_parser("init", help="tokenizer + pretrained tower + fresh projector and LM")
    parser.add_argument("--tokenizer", type=Path, required=True, help="folder written by `base tokenizer`")
    parser.add_argument("--vision", type=Path, required=True, help="folder written by `base vision`")
    parser.add_argument("--annotations-dir", type=Path, required=True, help="sizes the action head")
    parser.add_argument(
        "--language",
        type=Path,
        default=None,
        help="folder written by `base language` (default: an untrained LM)",
    )
    _add_language_shape(parser)
    parser.add_argument(
        "--visual-layout", choices=("hf", "llava_video"), default="llava_video", help="visual token layout"
    )
    parser.add_argument("--action-token", choices=("on", "off"), default="off", help="action token and heads")
    parser.add_argument("--seed", type=int, default=0, help="initialisation of projector and LM")
    parser.add_argument("--out", type=Path, required=True, help="model folder (replaced whole)")
    parser.set_defaults(func=_init)


def _tokenizer(args: argparse.Namespace) -> None:
    from actionmqa.basemodel.corpus import build_tokenizer

    build_tokenizer(args.annotations_dir, args.scenes, args.vocab_size, args.out, args.seed)


def _vision(args: argparse.Namespace) -> None:
    from actionmqa.basemodel.vision import VisionJob, build_vision
    from actionmqa.determinism import compute_deterministically

    compute_deterministically(args.seed, args.threads)
    build_vision(
        VisionJob(
            annotations_dir=args.annotations_dir,
            video_root=args.video_root,
            out=args.out,
            metrics=args.metrics,
            recipe=from_arguments(VisionRecipe, args),
            frames=args.frames,
            image_size=args.image_size,
            patch_size=args.patch_size,
            hidden=args.hidden,
            layers=args.layers,
            layout=args.layout,
            backend=args.backend,
        )
    )


def _language(args: argparse.Namespace) -> None:
    from actionmqa.basemodel.language import LanguageJob, build_language
    from actionmqa.determinism import compute_deterministically

    compute_deterministically(args.seed, args.threads)
    build_language(
        LanguageJob(
            annotations_dir=args.annotations_dir,
            tokenizer_dir=args.tokenizer,
            out=args.out,
            metrics=args.metrics,
            recipe=from_arguments(LanguageRecipe, args),
            hidden=args.hidden,
            layers=args.layers,
            heads=args.heads,
        )
    )


def _init(args: argparse.Namespace) -> None:
    from actionmqa.basemodel.assemble import InitJob, assemble
    from actionmqa.determinism import compute_deterministically

    compute_deterministically(args.seed)

    assemble(
        InitJob(
            tokenizer_dir=args.tokenizer,
            vision_dir=args.vision,
            annotations_dir=args.annotations_dir,
            out=args.out,
            language_dir=args.language,
            hidden=args.hidden,
            layers=args.layers,
            heads=args.heads,
            visual_layout=args.visual_layout,
            action_token=args.action_token == "on",
            seed=args.seed,
        )
    )
