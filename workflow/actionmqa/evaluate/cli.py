"""``actionmqa eval ...``: a saved model (or an API model) on EK100-MQA, SAP, two-stage recognition
and the five video-QA benchmarks; one verb per rule.

Each model verb runs a whole evaluation (``--summary`` and its predictions flag) or one shard of
it (``--shard I --shards N --part PART``), whose parts ``eval gather`` merges into the same
outputs. A job rerun after a crash resumes from its progress file (see ``evaluate.progress``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actionmqa.errors import InputError

if TYPE_CHECKING:
    from actionmqa.evaluate.clips import ClipSource
    from actionmqa.evaluate.runner import Answerers, EvalTask, Target

BENCHMARKS = ("egoschema", "perceptiontest", "longvideobench", "videomme", "mvbench")
PARSE_MODES = ("lmms_eval", "official", "strict")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def register(stages: Any) -> None:
    stage = stages.add_parser("eval", help="evaluate models (EK100-MQA, SAP, recognition, benchmarks)")
    verbs = stage.add_subparsers(dest="verb", required=True, metavar="VERB")
    fmt = argparse.ArgumentDefaultsHelpFormatter

    mqa = verbs.add_parser(
        "mqa",
        help="EK100-MQA: greedy answers, upstream and strict parsing, option likelihoods",
        formatter_class=fmt,
    )
    _model(mqa)
    mqa.add_argument(
        "--benchmark",
        type=Path,
        nargs="+",
        required=True,
        help="frozen EK100-MQA JSONL; several (e.g. the three distractor sets) share one loaded model",
    )
    _clips(mqa)
    _generation(mqa)
    _likelihood(mqa, "skip the option-likelihood view (one extra forward pass over all options per question)")
    _targets_flags(mqa, "--predictions", per="--benchmark")
    mqa.set_defaults(func=_mqa)

    sap = verbs.add_parser(
        "sap",
        help="sequential action prediction: a second MQA pass told the model's own answers before",
        formatter_class=fmt,
    )
    _model(sap)
    _mqa_benchmark(sap)
    sap.add_argument(
        "--first-pass", type=Path, required=True, help="per-question predictions of 'eval mqa' on it"
    )
    _annotations(sap)
    sap.add_argument(
        "--max-gap-sec", type=float, default=3.0, help="largest gap between consecutive prior actions"
    )
    _clips(sap)
    _generation(sap)
    _likelihood(sap, "skip the option-likelihood view")
    _targets_flags(sap, "--predictions")
    sap.set_defaults(func=_sap)

    recognition = verbs.add_parser(
        "recognition",
        help="two-stage EK100 action recognition: specialist top-K, then the model picks one",
        formatter_class=fmt,
    )
    _model(recognition)
    _annotations(recognition)
    recognition.add_argument(
        "--predictions", type=Path, required=True, help="the specialist's prediction JSON for the split"
    )
    recognition.add_argument("--top-k", type=positive_int, default=20, help="classes retrieved per clip")
    recognition.add_argument(
        "--text", choices=("narration", "label"), default="narration", help="how a class reads as an option"
    )
    recognition.add_argument("--seed", type=int, default=0, help="seed of the option texts and order")
    _clips(recognition)
    _generation(recognition)
    _likelihood(recognition, "score unparseable answers wrong instead of taking the most likely option")
    _targets_flags(recognition, "--predictions-out")
    recognition.set_defaults(func=_recognition)

    bench = verbs.add_parser(
        "bench",
        help="EgoSchema ... MVBench as lmms-eval runs them, scored in every parser mode",
        formatter_class=fmt,
    )
    _model(bench)
    bench.add_argument("--benchmark", required=True, choices=BENCHMARKS)
    bench.add_argument("--data", type=Path, required=True, help="the benchmark's root folder (real layout)")
    bench.add_argument("--videos", type=Path, help="video root, if not the benchmark's default folder")
    bench.add_argument("--frames", type=positive_int, required=True, help="frames sampled per video")
    bench.add_argument(
        "--mode", nargs="+", choices=PARSE_MODES, default=list(PARSE_MODES), help="answer parsers to report"
    )
    bench.add_argument("--seed", type=int, default=0, help="seed of lmms-eval's random fallbacks")
    bench.add_argument("--subtitles", action="store_true", help="Video-MME w/ subtitles; LongVideoBench _i")
    _backend(bench)
    bench.add_argument("--batch-size", type=positive_int, default=1, help="questions per generate call")
    bench.add_argument(
        "--max-new-tokens", type=positive_int, help="generation cap (default: the task's lmms-eval cap)"
    )
    _limit(bench)
    _targets_flags(bench, "--predictions")
    bench.set_defaults(func=_bench)

    api = verbs.add_parser(
        "api", help="an OpenAI-compatible API model on EK100-MQA (the GPT-4o baseline)", formatter_class=fmt
    )
    _mqa_benchmark(api)
    api.add_argument(
        "--teacher-config", type=Path, required=True, help="YAML/JSON of actionmqa.teacher.TeacherConfig"
    )
    _clips(api)
    api.add_argument(
        "--batch-size", type=positive_int, default=32, help="clips decoded per round of requests"
    )
    _limit(api)
    _targets_flags(api, "--predictions")
    api.set_defaults(func=_api)

    throughput = verbs.add_parser(
        "throughput",
        help="EK100-MQA questions per second at several batch sizes, and answers unchanged from the first",
        formatter_class=fmt,
    )
    _model(throughput)
    _mqa_benchmark(throughput)
    _clips(throughput)
    throughput.add_argument("--time-instruction", action="store_true", help="state duration and frame count")
    throughput.add_argument("--max-new-tokens", type=positive_int, default=32, help="generation length cap")
    _limit(throughput)
    _likelihood(throughput, "time generation alone, without the option-likelihood view")
    throughput.add_argument(
        "--batch-sizes",
        type=positive_int,
        nargs="+",
        default=[1, 4, 16],
        help="answers compared with the first",
    )
    throughput.add_argument(
        "--warmup", type=int, default=8, help="questions answered untimed first, at the largest batch size"
    )
    throughput.add_argument("--out", type=Path, required=True, help="output figures JSON")
    throughput.set_defaults(func=_throughput)

    gather = verbs.add_parser(
        "gather",
        help="merge the shard parts of one evaluation into its predictions and summary",
        formatter_class=fmt,
    )
    gather.add_argument(
        "--parts",
        type=Path,
        nargs="+",
        required=True,
        help="every shard's part file (--part of the verbs above)",
    )
    gather.add_argument("--summary", type=Path, required=True, help="output summary JSON")
    gather.add_argument("--predictions", type=Path, required=True, help="output per-question JSONL")
    gather.set_defaults(func=_gather)


# -- shared flags ----------------------------------------------------------------------------


def _model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, help="saved model folder")


def _mqa_benchmark(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmark", type=Path, required=True, help="frozen EK100-MQA JSONL")


def _annotations(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--annotations-dir", type=Path, required=True, help="EK100 annotations folder")
    parser.add_argument("--split", default="validation", help="the split the clips belong to")


def _clips(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--video-root", type=Path, required=True, help="root of the EK100 videos")
    parser.add_argument("--layout", choices=("whole", "chunks"), required=True, help="video file layout")
    _backend(parser)
    parser.add_argument("--frames", type=positive_int, default=8, help="frames per clip")


def _backend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=("pyav", "decord"), default="pyav", help="video decoder")


def _limit(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=positive_int, help="evaluate only the first N questions")


def _generation(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--time-instruction",
        action="store_true",
        help="state the clip's duration and frame count (7B final run)",
    )
    parser.add_argument("--batch-size", type=positive_int, default=8, help="questions per generate call")
    parser.add_argument("--max-new-tokens", type=positive_int, default=32, help="generation length cap")
    _limit(parser)


def _likelihood(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--skip-likelihood", action="store_true", help=help_text)


def _targets_flags(parser: argparse.ArgumentParser, predictions_flag: str, per: str | None = None) -> None:
    """A whole run's outputs (``--summary`` and the predictions flag), or a shard's part."""
    many: dict[str, Any] = {"nargs": "+"} if per else {}
    each = f", one per {per}, in its order" if per else ""
    whole = parser.add_argument_group("a whole evaluation")
    whole.add_argument("--summary", type=Path, help=f"output summary JSON{each}", **many)
    whole.add_argument(
        predictions_flag,
        dest="predictions_out",
        metavar="JSONL",
        type=Path,
        help=f"output per-sample JSONL{each}",
        **many,
    )
    shard = parser.add_argument_group("one shard of it, for 'eval gather'")
    shard.add_argument("--shard", type=int, help="this shard's index, from 0")
    shard.add_argument("--shards", type=positive_int, help="how many shards the evaluation has")
    shard.add_argument("--part", type=Path, help=f"output part JSONL{each}", **many)


def _targets(args: argparse.Namespace, n: int, predictions_flag: str) -> list[Target]:
    """``n`` whole outputs or ``n`` parts of one shard, as the flags say; anything else is an error."""
    from actionmqa.evaluate.runner import Part, Whole
    from actionmqa.evaluate.shards import Shard

    def listed(value: Any) -> list[Path]:
        return [] if value is None else list(value) if isinstance(value, list) else [value]

    summaries, predictions, parts = listed(args.summary), listed(args.predictions_out), listed(args.part)
    sharded = args.shard is not None or args.shards is not None or parts
    if sharded and (summaries or predictions):
        raise InputError(
            None, f"give --summary and {predictions_flag}, or --shard, --shards and --part, not both"
        )
    if not sharded:
        if not (len(summaries) == len(predictions) == n):
            raise InputError(
                None,
                f"{n} benchmarks need as many --summary and {predictions_flag} paths,"
                f" got {len(summaries)} and {len(predictions)}",
            )
        return [
            Whole(summary, prediction) for summary, prediction in zip(summaries, predictions, strict=True)
        ]
    if args.shard is None or args.shards is None or len(parts) != n:
        raise InputError(None, f"a shard needs --shard, --shards and {n} --part path(s)")
    try:
        shard = Shard(args.shard, args.shards)
    except ValueError as exc:
        raise InputError(None, str(exc)) from exc
    return [Part(part, shard) for part in parts]


def _run(
    args: argparse.Namespace,
    tasks: Sequence[EvalTask[Any]],
    predictions_flag: str,
    answerers: Answerers | None = None,
) -> None:
    """Run the tasks of one model (by default the saved one, loaded once) into the outputs the flags name."""
    from actionmqa.evaluate.runner import ModelAnswerers, run

    targets = _targets(args, len(tasks), predictions_flag)
    run(list(zip(tasks, targets, strict=True)), answerers or ModelAnswerers(args.model))


def _clip_source(args: argparse.Namespace) -> ClipSource:
    from actionmqa.evaluate.clips import ClipSource

    return ClipSource(args.video_root, args.layout, args.frames, args.backend)


# -- handlers --------------------------------------------------------------------------------


def _mqa(args: argparse.Namespace) -> None:
    from actionmqa.evaluate.run import MQAJob, MQATask

    jobs = [
        MQAJob(
            model=args.model,
            benchmark=benchmark,
            video_root=args.video_root,
            layout=args.layout,
            frames=args.frames,
            time_instruction=args.time_instruction,
            batch_size=args.batch_size,
            max_new_tokens=args.max_new_tokens,
            likelihood=not args.skip_likelihood,
            limit=args.limit,
            backend=args.backend,
        )
        for benchmark in args.benchmark
    ]
    _run(args, [MQATask(job) for job in jobs], "--predictions")


def _sap(args: argparse.Namespace) -> None:
    from actionmqa.evaluate.sap_run import SAPJob, SAPTask

    job = SAPJob(
        model=args.model,
        benchmark=args.benchmark,
        first_pass=args.first_pass,
        annotations_dir=args.annotations_dir,
        clips=_clip_source(args),
        split=args.split,
        max_gap_sec=args.max_gap_sec,
        time_instruction=args.time_instruction,
        batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens,
        likelihood=not args.skip_likelihood,
        limit=args.limit,
    )
    _run(args, [SAPTask(job)], "--predictions")


def _recognition(args: argparse.Namespace) -> None:
    from actionmqa.evaluate.recognition import RecognitionJob, RecognitionTask
    from actionmqa.mqa.options import TextMode

    job = RecognitionJob(
        model=args.model,
        annotations_dir=args.annotations_dir,
        specialist_predictions=args.predictions,
        clips=_clip_source(args),
        split=args.split,
        top_k=args.top_k,
        text=TextMode(args.text),
        seed=args.seed,
        time_instruction=args.time_instruction,
        batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens,
        likelihood_fallback=not args.skip_likelihood,
        limit=args.limit,
    )
    _run(args, [RecognitionTask(job)], "--predictions-out")


def _bench(args: argparse.Namespace) -> None:
    from actionmqa.bench import ParseMode
    from actionmqa.evaluate.bench import BenchJob, BenchTask

    job = BenchJob(
        model=args.model,
        benchmark=args.benchmark,
        data=args.data,
        frames=args.frames,
        videos=args.videos,
        modes=tuple(ParseMode(mode) for mode in dict.fromkeys(args.mode)),
        seed=args.seed,
        subtitles=args.subtitles,
        batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens,
        limit=args.limit,
        backend=args.backend,
    )
    _run(args, [BenchTask(job)], "--predictions")


def _throughput(args: argparse.Namespace) -> None:
    from actionmqa.evaluate.run import MQAJob
    from actionmqa.evaluate.throughput import ThroughputJob, measure

    job = MQAJob(
        model=args.model,
        benchmark=args.benchmark,
        video_root=args.video_root,
        layout=args.layout,
        frames=args.frames,
        time_instruction=args.time_instruction,
        max_new_tokens=args.max_new_tokens,
        likelihood=not args.skip_likelihood,
        limit=args.limit,
        backend=args.backend,
    )
    measure(ThroughputJob(job, tuple(args.batch_sizes), args.warmup), args.out)


def _gather(args: argparse.Namespace) -> None:
    from actionmqa.evaluate.gather import gather

    gather(args.parts, args.summary, args.predictions)


def _api(args: argparse.Namespace) -> None:
    from actionmqa.evaluate.api import APIJob, APITask, EndpointAnswerers

    job = APIJob(
        benchmark=args.benchmark,
        teacher_config=args.teacher_config,
        clips=_clip_source(args),
        batch_size=args.batch_size,
        limit=args.limit,
    )
    _run(args, [APITask(job)], "--predictions", EndpointAnswerers())
