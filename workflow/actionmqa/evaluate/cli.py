"""``actionmqa eval ...``: a saved model (or an API model) on EK100-MQA, SAP, two-stage recognition
and the five video-QA benchmarks; one verb per rule. Each verb's knobs are defined in
:mod:`.jobs` and its flags derived from them (``actionmqa.flags``); only the outputs, ``eval
mqa``'s several benchmarks and ``--skip-likelihood`` are spelled here.

Each model verb runs a whole evaluation (``--summary`` and its predictions flag) or one shard of
it (``--shard I --shards N --part PART``), whose parts ``eval gather`` merges into the same
outputs. A job rerun after a crash resumes from its progress file (see ``evaluate.progress``).
"""

from __future__ import annotations

import argparse
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from actionmqa.errors import InputError
from actionmqa.evaluate.jobs import (
    APIJob,
    BenchJob,
    ClipAnswersJob,
    ClipSource,
    MQAJob,
    RecognitionJob,
    SAPJob,
    ThroughputJob,
)
from actionmqa.flags import add_field_arguments, at_least, from_arguments

if TYPE_CHECKING:
    from actionmqa.evaluate.runner import Answerers, EvalTask, Target

J = TypeVar("J", bound=ClipAnswersJob)


def register(stages: Any) -> None:
    stage = stages.add_parser("eval", help="evaluate models (EK100-MQA, SAP, recognition, benchmarks)")
    verbs = stage.add_subparsers(dest="verb", required=True, metavar="VERB")
    fmt = argparse.ArgumentDefaultsHelpFormatter

    mqa = verbs.add_parser(
        "mqa",
        help="EK100-MQA: greedy answers, upstream and strict parsing, option likelihoods",
        formatter_class=fmt,
    )
    _clip_answers(mqa, MQAJob, "skip the option-likelihood view (one extra forward pass over all options)")
    mqa.add_argument(
        "--benchmark",
        type=Path,
        nargs="+",
        required=True,
        help="frozen EK100-MQA JSONL; several (e.g. the three distractor sets) share one loaded model",
    )
    _targets_flags(mqa, "--predictions", per="--benchmark")
    mqa.set_defaults(func=_mqa)

    sap = verbs.add_parser(
        "sap",
        help="sequential action prediction: a second MQA pass told the model's own answers before",
        formatter_class=fmt,
    )
    _clip_answers(sap, SAPJob, "skip the option-likelihood view")
    _targets_flags(sap, "--predictions")
    sap.set_defaults(func=_sap)

    recognition = verbs.add_parser(
        "recognition",
        help="two-stage EK100 action recognition: specialist top-K, then the model picks one",
        formatter_class=fmt,
    )
    unparsed = "score unparseable answers wrong instead of taking the most likely option"
    _clip_answers(recognition, RecognitionJob, unparsed)
    _targets_flags(recognition, "--predictions-out")
    recognition.set_defaults(func=_recognition)

    bench = verbs.add_parser(
        "bench",
        help="EgoSchema ... MVBench as lmms-eval runs them, scored in every parser mode",
        formatter_class=fmt,
    )
    add_field_arguments(bench, BenchJob)
    _targets_flags(bench, "--predictions")
    bench.set_defaults(func=_bench)

    api = verbs.add_parser(
        "api", help="an OpenAI-compatible API model on EK100-MQA (the GPT-4o baseline)", formatter_class=fmt
    )
    add_field_arguments(api, APIJob)
    add_field_arguments(api, ClipSource)
    _targets_flags(api, "--predictions")
    api.set_defaults(func=_api)

    throughput = verbs.add_parser(
        "throughput",
        help="EK100-MQA questions per second at several batch sizes, and answers unchanged from the first",
        formatter_class=fmt,
    )
    _clip_answers(
        throughput, MQAJob, "time generation alone, without the option-likelihood view", skip={"batch_size"}
    )
    throughput.add_argument("--benchmark", type=Path, required=True, help="frozen EK100-MQA JSONL")
    add_field_arguments(throughput, ThroughputJob)
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
    gather.add_argument("--predictions", type=Path, required=True, help="output per-sample JSONL")
    gather.set_defaults(func=_gather)


# -- shared flags ----------------------------------------------------------------------------


def _clip_answers(
    parser: argparse.ArgumentParser,
    job: type[ClipAnswersJob],
    skip_likelihood_help: str,
    skip: Collection[str] = (),
) -> None:
    """The flags of a verb over EK100 clips: its job's, the clips', and ``--skip-likelihood``."""
    add_field_arguments(parser, job, skip)
    add_field_arguments(parser, ClipSource)
    parser.add_argument("--skip-likelihood", action="store_true", help=skip_likelihood_help)


def _clip_answers_job(job: type[J], args: argparse.Namespace, **fixed: Any) -> J:
    """The job of a verb over EK100 clips, built back from its flags."""
    clips = from_arguments(ClipSource, args)
    return from_arguments(job, args, clips=clips, likelihood=not args.skip_likelihood, **fixed)


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
    shard.add_argument("--shards", type=at_least(1), help="how many shards the evaluation has")
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


# -- handlers --------------------------------------------------------------------------------


def _mqa(args: argparse.Namespace) -> None:
    from actionmqa.evaluate.run import MQATask

    jobs = [_clip_answers_job(MQAJob, args, benchmark=benchmark) for benchmark in args.benchmark]
    _run(args, [MQATask(job) for job in jobs], "--predictions")


def _sap(args: argparse.Namespace) -> None:
    from actionmqa.evaluate.sap_run import SAPTask

    _run(args, [SAPTask(_clip_answers_job(SAPJob, args))], "--predictions")


def _recognition(args: argparse.Namespace) -> None:
    from actionmqa.evaluate.recognition import RecognitionTask

    _run(args, [RecognitionTask(_clip_answers_job(RecognitionJob, args))], "--predictions-out")


def _bench(args: argparse.Namespace) -> None:
    from actionmqa.evaluate.bench import BenchTask

    _run(args, [BenchTask(from_arguments(BenchJob, args))], "--predictions")


def _throughput(args: argparse.Namespace) -> None:
    from actionmqa.evaluate.throughput import measure

    timed = _clip_answers_job(MQAJob, args, benchmark=args.benchmark, batch_size=args.batch_sizes[0])
    measure(from_arguments(ThroughputJob, args, job=timed), args.out)


def _gather(args: argparse.Namespace) -> None:
    from actionmqa.evaluate.gather import gather

    gather(args.parts, args.summary, args.predictions)


def _api(args: argparse.Namespace) -> None:
    from actionmqa.evaluate.api import APITask, EndpointAnswerers

    job = from_arguments(APIJob, args, clips=from_arguments(ClipSource, args))
    _run(args, [APITask(job)], "--predictions", EndpointAnswerers())
