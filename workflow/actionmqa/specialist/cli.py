"""``actionmqa specialist VERB``: the distractor sources, rule-sized.

Built-in specialists: ``features`` (the slow, video-bound part, cached per split and feature
set, so refitting never decodes video again) and ``fit``. Public EK100 weights (AVION, LaViLa):
``fetch`` (a release, md5-checked), ``convert`` (into checked safetensors), ``score`` (one shard
of a split, on the GPU when there is one) and ``rank`` (shards, or an ensemble's members, into a
prediction file).
``validate`` checks a user's own TIM/AVION file against the CSV before a benchmark is built from
it; ``summarize`` gathers every specialist's accuracy in one file.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from actionmqa.specialist.features import FEATURE_SETS

log = logging.getLogger(__name__)

SPLITS = ("train", "validation")


def register(stages: argparse._SubParsersAction) -> None:
    parser = stages.add_parser(
        "specialist", help="built-in specialist: clip features, fit, validate predictions"
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    features = verbs.add_parser("features", help="order-blind clip features of one split (.npz)")
    _annotations_arg(features)
    features.add_argument("--video-root", type=Path, required=True)
    features.add_argument("--layout", choices=("whole", "chunks"), default="whole")
    features.add_argument("--chunk-sec", type=int, default=15, help="chunk length of the 'chunks' layout")
    features.add_argument("--backend", choices=("pyav", "decord"), default="pyav")
    features.add_argument("--split", choices=SPLITS, required=True)
    features.add_argument("--frames", type=int, default=8, help="frames per clip (segment midpoints)")
    features.add_argument("--feature-set", choices=FEATURE_SETS, default="full")
    features.add_argument("--out", type=Path, required=True)
    features.set_defaults(func=_features)

    fit = verbs.add_parser("fit", help="k-fold train predictions, full-train val predictions, metrics")
    _annotations_arg(fit)
    fit.add_argument("--train-features", type=Path, required=True)
    fit.add_argument("--val-features", type=Path, required=True)
    fit.add_argument("--folds", type=int, default=5)
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--top-k", type=int, default=20, help=">= 10 for SFT distractors, 20 for two-stage")
    fit.add_argument("--inverse-l2", type=float, default=1.0, help="logistic regression C")
    fit.add_argument("--threads", type=int, default=1, help="folds fit side by side (results unchanged)")
    fit.add_argument("--out-train", type=Path, required=True)
    fit.add_argument("--out-val", type=Path, required=True)
    fit.add_argument("--metrics", type=Path, required=True)
    fit.set_defaults(func=_fit)

    validate = verbs.add_parser("validate", help="check a TIM/AVION-format prediction file against a split")
    _annotations_arg(validate)
    validate.add_argument("--split", choices=SPLITS, required=True)
    validate.add_argument("--predictions", type=Path, required=True)
    validate.add_argument("--min-k", type=int, default=1, help="fewest predictions each row must have")
    validate.set_defaults(func=_validate)

    _register_released(verbs)

    summarize = verbs.add_parser(
        "summarize", help="one metrics file: the primary variant on top, all variants"
    )
    summarize.add_argument(
        "--variant", action="append", required=True, metavar="NAME=METRICS", help="a variant's metrics.json"
    )
    summarize.add_argument("--primary", required=True, help="the variant whose numbers go on top (hard)")
    summarize.add_argument("--out", type=Path, required=True)
    summarize.set_defaults(func=_summarize)


def _annotations_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--annotations-dir", type=Path, required=True, help="EK100 annotations directory")


def _features(args: argparse.Namespace) -> None:
    from actionmqa.ek100.annotations import load_annotation_dir
    from actionmqa.specialist.extraction import extract_features
    from actionmqa.specialist.featurefile import save_features
    from actionmqa.specialist.features import FeatureConfig
    from actionmqa.video.layout import make_layout
    from actionmqa.video.readers import ClipReader

    segments = load_annotation_dir(args.annotations_dir).split(args.split)
    reader = ClipReader(make_layout(args.layout, args.video_root, args.chunk_sec), backend=args.backend)
    config = FeatureConfig(feature_set=args.feature_set)
    save_features(args.out, extract_features(segments, reader, args.frames, config))
    log.info(
        "%d clips of %s -> %s (%s features; %d clipped at the video end)",
        reader.stats.n_clips,
        args.split,
        args.out,
        args.feature_set,
        len(reader.stats.clipped),
    )


def _fit(args: argparse.Namespace) -> None:
    from actionmqa.ek100.annotations import load_annotation_dir
    from actionmqa.ek100.labels import LabelMap
    from actionmqa.io import write_json
    from actionmqa.specialist.featurefile import load_matching_features
    from actionmqa.specialist.metrics import Subsets
    from actionmqa.specialist.pipeline import FitConfig, LabelledSplit, run_specialist
    from actionmqa.specialist.predictions import write_predictions

    annotations = load_annotation_dir(args.annotations_dir)
    labels = LabelMap.from_annotations(annotations)
    train_table, val_table = load_matching_features([args.train_features, args.val_features])
    train_segments, val_segments = annotations.split("train"), annotations.split("validation")
    run = run_specialist(
        LabelledSplit(train_segments, train_table.aligned_to(train_segments, args.train_features)),
        LabelledSplit(val_segments, val_table.aligned_to(val_segments, args.val_features)),
        labels.actions,
        FitConfig(
            n_folds=args.folds,
            seed=args.seed,
            top_k=args.top_k,
            inverse_l2=args.inverse_l2,
            workers=args.threads,
        ),
        subsets=Subsets.from_annotations(annotations),
        verb_names=labels.verbs,
        noun_names=labels.nouns,
    )
    write_predictions(args.out_train, run.train_ranked, train_segments)
    write_predictions(args.out_val, run.val_ranked, val_segments)
    write_json(args.metrics, {**run.metrics, "feature_set": train_table.feature_set})
    val_metrics = run.metrics["val"]
    log.info(
        "val action top-1 %.3f top-5 %.3f, verb top-1 %.3f, noun top-1 %.3f -> %s",
        val_metrics["action_top1"],
        val_metrics["action_top5"],
        val_metrics["verb_top1"],
        val_metrics["noun_top1"],
        args.metrics,
    )


def _validate(args: argparse.Namespace) -> None:
    from actionmqa.ek100.annotations import load_annotation_dir
    from actionmqa.specialist.metrics import hits_at_k
    from actionmqa.specialist.predictions import load_predictions

    segments = load_annotation_dir(args.annotations_dir).split(args.split)
    ranked = load_predictions(args.predictions, segments, min_k=args.min_k)
    lists, targets = list(ranked.values()), segments["vn"].tolist()
    lengths = [len(predictions) for predictions in lists] or [0]
    print(
        f"{args.predictions}: valid for {args.split} ({len(lists)} rows, {min(lengths)}-{max(lengths)} "
        f"predictions each); action top-1 {hits_at_k(lists, targets, 1).mean():.3f}, "
        f"top-5 {hits_at_k(lists, targets, 5).mean():.3f}"
    )


def _summarize(args: argparse.Namespace) -> None:
    from actionmqa.errors import InputError
    from actionmqa.io import write_json
    from actionmqa.specialist.summary import summarize

    variants = {}
    for item in args.variant:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise InputError(None, f"expected NAME=METRICS.json, got {item!r}", key="--variant")
        variants[name] = Path(path)
    summary = summarize(variants, args.primary)
    write_json(args.out, summary)
    log.info("%s: primary %s, val action top-1 %.3f", args.out, args.primary, summary["val"]["action_top1"])


def _register_released(verbs: argparse._SubParsersAction) -> None:
    from actionmqa.download import RetryPolicy
    from actionmqa.flags import add_field_arguments
    from actionmqa.specialist.released.settings import PRECISIONS
    from actionmqa.specialist.released.zoo import RELEASES

    fetch = verbs.add_parser(
        "fetch", help="download a released checkpoint (retried, resumed, md5-prefix and sha256 checked)"
    )
    fetch.add_argument("--checkpoint", required=True, choices=sorted(RELEASES), help="name of the release")
    fetch.add_argument("--out", type=Path, required=True)
    fetch.add_argument("--sha256", help="its pinned sha256 (specialist.checkpoint_sha256 in the config)")
    fetch.add_argument("--url", help="a mirror of the publisher's URL")
    add_field_arguments(fetch, RetryPolicy)
    fetch.set_defaults(func=_fetch)

    convert = verbs.add_parser("convert", help="a released AVION/LaViLa checkpoint into checked safetensors")
    _annotations_arg(convert)
    convert.add_argument("--checkpoint", required=True, help=f"name of the release ({', '.join(RELEASES)})")
    convert.add_argument("--release", type=Path, required=True, help="the downloaded .pt/.pth file")
    convert.add_argument(
        "--architecture",
        type=Path,
        help="JSON of actionmqa.specialist.released.architecture.Architecture fields, for a release"
        " that is not in the zoo (another size, or a test model)",
    )
    _sizes_arg(convert)
    convert.add_argument("--out", type=Path, required=True, help="folder: model.safetensors + config.json")
    convert.set_defaults(func=_convert)

    score = verbs.add_parser("score", help="class probabilities of one shard of a split (.npz)")
    _annotations_arg(score)
    score.add_argument("--model", type=Path, required=True, help="a converted specialist folder")
    score.add_argument("--split", choices=SPLITS, required=True)
    score.add_argument("--shard", type=int, required=True, help="0-based block of the split's rows")
    score.add_argument("--shards", type=int, required=True, help="blocks the split is cut into")
    score.add_argument("--video-root", type=Path, required=True)
    score.add_argument("--layout", choices=("whole", "chunks"), default="whole")
    score.add_argument("--chunk-sec", type=int, default=15, help="chunk length of the 'chunks' layout")
    score.add_argument("--backend", choices=("pyav", "decord"), default="pyav")
    score.add_argument("--batch-size", type=int, default=8)
    score.add_argument("--workers", type=int, default=0, help="decoding processes (0: decode in-process)")
    score.add_argument("--device", default="auto", help="auto (cuda when available), cpu, cuda, cuda:1 ...")
    score.add_argument(
        "--precision", choices=PRECISIONS, default="auto", help="auto: fp16 on a GPU, else fp32"
    )
    score.add_argument("--out", type=Path, required=True)
    score.set_defaults(func=_score)

    speed = verbs.add_parser("speed", help="clips per second of a released architecture, random weights")
    speed.add_argument("--checkpoint", required=True, help=f"name of the release ({', '.join(RELEASES)})")
    speed.add_argument("--architecture", type=Path, help="JSON of Architecture fields instead of the zoo's")
    _sizes_arg(speed)
    speed.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32])
    speed.add_argument("--repeats", type=int, default=5, help="timed forward passes per batch size")
    speed.add_argument("--device", default="auto")
    speed.add_argument("--precision", choices=PRECISIONS, default="auto")
    speed.add_argument("--out", type=Path, required=True, help="JSON: clips/s, peak memory, projected hours")
    speed.set_defaults(func=_speed)

    rank = verbs.add_parser("rank", help="a split's TIM/AVION-format predictions from score shards")
    _annotations_arg(rank)
    rank.add_argument("--split", choices=SPLITS, required=True)
    rank.add_argument(
        "--member",
        nargs="+",
        action="append",
        required=True,
        metavar=("NAME", "SHARD"),
        help="a specialist and its score shards in order; repeat it for an ensemble (softmaxes averaged)",
    )
    rank.add_argument("--variant", required=True, help="the specialist variant these predictions are")
    rank.add_argument("--description", default="", help="what the variant is, for the manifest")
    rank.add_argument("--stands-in-for", help="the paper's specialist this one replaces (e.g. TIM)")
    rank.add_argument("--top-k", type=int, default=100)
    rank.add_argument("--out", type=Path, required=True)
    rank.add_argument("--manifest", type=Path, required=True)
    rank.set_defaults(func=_rank)


def _fetch(args: argparse.Namespace) -> None:
    from actionmqa.download import RetryPolicy
    from actionmqa.flags import from_arguments
    from actionmqa.specialist.released.fetch import fetch_release
    from actionmqa.specialist.released.zoo import release

    fetch_release(
        release(args.checkpoint),
        args.out,
        sha256=args.sha256,
        url=args.url,
        policy=from_arguments(RetryPolicy, args),
    )


def _sizes_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sizes",
        nargs="+",
        default=[],
        metavar="FIELD=N",
        help="architecture fields that differ from the zoo's (e.g. width=32 layers=1): a release of"
        " another size, such as the rehearsal's stand-ins",
    )


def _architecture(args: argparse.Namespace):
    """``--architecture FILE`` when given, else the zoo's architecture of ``--checkpoint``; either
    with the ``--sizes`` fields replaced."""
    import json
    from dataclasses import replace

    from actionmqa.errors import InputError
    from actionmqa.specialist.released.architecture import Architecture, parse_sizes
    from actionmqa.specialist.released.zoo import RELEASES

    if args.architecture is not None:
        try:
            arch = Architecture.from_dict(json.loads(args.architecture.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, TypeError, ValueError) as exc:
            raise InputError(args.architecture, f"not an architecture ({exc})") from exc
    elif args.checkpoint in RELEASES:
        arch = RELEASES[args.checkpoint].architecture
    else:
        raise InputError(
            None, f"not in the zoo ({sorted(RELEASES)}): give --architecture", key=args.checkpoint
        )
    sizes = parse_sizes(args.sizes)
    try:
        return replace(arch, **sizes)
    except (TypeError, ValueError) as exc:
        raise InputError(None, f"not sizes of an architecture ({exc})", key=" ".join(args.sizes)) from exc


def _convert(args: argparse.Namespace) -> None:
    from actionmqa.specialist.released.run import convert
    from actionmqa.specialist.released.zoo import RELEASES

    convert(
        args.release,
        args.annotations_dir,
        args.out,
        name=args.checkpoint,
        arch=_architecture(args),
        release=RELEASES.get(args.checkpoint),
    )


def _speed(args: argparse.Namespace) -> None:
    from actionmqa.io import write_json
    from actionmqa.specialist.released.settings import InferenceConfig
    from actionmqa.specialist.released.speed import measure_speed

    config = InferenceConfig(device=args.device, precision=args.precision)
    report = measure_speed(_architecture(args), args.batch_sizes, config, args.repeats)
    write_json(args.out, report)
    for run in report["runs"]:
        log.info(
            "%s %s, batch %d: %.2f clips/s, EK100 validation %.1f h, train %.1f h",
            report["device"],
            report["dtype"],
            run["batch_size"],
            run["clips_per_s"],
            run["hours"]["validation"],
            run["hours"]["train"],
        )


def _score(args: argparse.Namespace) -> None:
    from actionmqa.specialist.released.run import ShardJob, score_shard
    from actionmqa.specialist.released.settings import InferenceConfig
    from actionmqa.video.layout import make_layout

    score_shard(
        ShardJob(
            model_dir=args.model,
            annotations_dir=args.annotations_dir,
            split=args.split,
            shard=args.shard,
            shards=args.shards,
            layout=make_layout(args.layout, args.video_root, args.chunk_sec),
            backend=args.backend,
            inference=InferenceConfig(
                batch_size=args.batch_size, workers=args.workers, device=args.device, precision=args.precision
            ),
            out=args.out,
        )
    )


def _rank(args: argparse.Namespace) -> None:
    from actionmqa.errors import InputError
    from actionmqa.specialist.released.run import RankJob, rank_split

    members: dict[str, list[Path]] = {}
    for name, *shards in args.member:
        if not shards or name in members:
            raise InputError(
                None, f"--member {name}: expected a new NAME and at least one shard", key="--member"
            )
        members[name] = [Path(shard) for shard in shards]
    rank_split(
        RankJob(
            annotations_dir=args.annotations_dir,
            split=args.split,
            members=members,
            top_k=args.top_k,
            variant=args.variant,
            out=args.out,
            manifest=args.manifest,
            description=args.description,
            stands_in_for=args.stands_in_for,
        )
    )
