"""``actionmqa report {tables, figures, wording, letters}``: the paper's tables and figures from one
run's summaries, the wording analysis of its generated EK100-MQA answers, and the letter analysis
of its benchmark answers.

``tables`` and ``figures`` take the run's evaluation summaries explicitly and the layout that says
which must be there (models, frame counts, K, benchmarks), so a summary that is missing is an
error naming it, never a row quietly left out.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def register(stages: argparse._SubParsersAction) -> None:
    parser = stages.add_parser(
        "report", help="the paper's tables (CSV, Markdown, LaTeX) and figures (PNG, SVG)"
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    tables = verbs.add_parser("tables", help="spec §7.1-§7.5 with the paper's value beside ours")
    _run_args(tables)
    tables.add_argument(
        "--specialist-metrics",
        type=Path,
        help="results/<dataset>/specialist/metrics.json (the workflow's specialists)",
    )
    tables.add_argument(
        "--medium-variant", help="the workflow's specialist variant behind the medium distractors, if any"
    )
    tables.add_argument(
        "--distractor-sources",
        nargs="*",
        default=[],
        metavar="ROLE=NAME",
        help="names of the medium/hard distractor sources, shown on their table rows (a stand-in says so)",
    )
    tables.set_defaults(func=_tables)

    figures = verbs.add_parser("figures", help="distractor difficulty, benchmarks, loss curves, frames")
    _run_args(figures)
    figures.add_argument(
        "--loss", nargs="*", default=[], metavar="MODEL=LOSS_CSV", help="trained models' loss.csv files"
    )
    figures.set_defaults(func=_figures)

    wording = verbs.add_parser(
        "wording", help="EK100-MQA answers: right action, right wording, letters (answer_wording.csv/.md)"
    )
    wording.add_argument(
        "--predictions",
        type=Path,
        nargs="+",
        required=True,
        help="results/<dataset>/eval/<model>/ek100_mqa_<distractors>_<N>f.predictions.jsonl, in table order",
    )
    wording.add_argument(
        "--benchmarks",
        type=Path,
        nargs="+",
        required=True,
        help="results/<dataset>/mqa/<split>_<distractors>.jsonl",
    )
    wording.add_argument(
        "--annotations", type=Path, required=True, help="the EK100 annotations the benchmarks were built from"
    )
    wording.add_argument("--out-dir", type=Path, required=True)
    wording.set_defaults(func=_wording)

    letters = verbs.add_parser(
        "letters", help="benchmark answers: option named, letter given (benchmark_letters.csv/.md)"
    )
    letters.add_argument(
        "--predictions",
        type=Path,
        nargs="+",
        required=True,
        help="results/<dataset>/eval/<model>/<benchmark>.predictions.jsonl, in table order",
    )
    letters.add_argument(
        "--data", type=Path, required=True, help="the folder holding each benchmark's folder (real layout)"
    )
    letters.add_argument("--out-dir", type=Path, required=True)
    letters.set_defaults(func=_letters)


def _run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--summaries", type=Path, nargs="+", required=True, help="results/<dataset>/eval/<model>/*.json"
    )
    parser.add_argument("--models", nargs="+", required=True, help="evaluated models, in table order")
    parser.add_argument("--frames", type=int, nargs="+", required=True, help="EK100-MQA frame counts")
    parser.add_argument("--top-k", type=int, required=True, help="K of two-stage recognition")
    parser.add_argument("--benchmarks", nargs="*", default=[], help="the other benchmarks evaluated")
    parser.add_argument(
        "--paper", type=Path, required=True, help="the paper's numbers (config/paper_results.yaml)"
    )
    parser.add_argument(
        "--paper-models",
        nargs="*",
        default=[],
        metavar="MODEL=PAPER_ID",
        help="the paper's model each model stands for (models.<name>.paper)",
    )
    parser.add_argument("--options", type=int, default=5, help="options per EK100-MQA question (chance)")
    parser.add_argument("--out-dir", type=Path, required=True)


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    from actionmqa.errors import InputError

    pairs = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name or not rest:
            raise InputError(None, f"{flag} expects NAME=VALUE, got '{value}'")
        pairs[name] = rest
    return pairs


def _load(args: argparse.Namespace):
    from actionmqa.errors import InputError
    from actionmqa.report.collect import RunLayout, collect
    from actionmqa.report.paper import load_paper_results
    from actionmqa.report.tables import Context

    paper = load_paper_results(args.paper)
    paper_models = _pairs(args.paper_models, "--paper-models")
    for model, paper_id in paper_models.items():
        if paper_id not in paper.models:
            raise InputError(
                args.paper, f"--paper-models {model}={paper_id}: no such paper model", key="models"
            )
    layout = RunLayout(tuple(args.models), tuple(args.frames), args.top_k, tuple(args.benchmarks))
    results = collect(args.summaries, layout)
    return results, paper, Context(paper_models, args.options)


def _tables(args: argparse.Namespace) -> None:
    from dataclasses import replace

    from actionmqa.report.collect import read_specialist_accuracy
    from actionmqa.report.tables import build_tables, write_tables

    results, paper, context = _load(args)
    context = replace(context, distractor_sources=_pairs(args.distractor_sources, "--distractor-sources"))
    if args.medium_variant and args.specialist_metrics:
        context = replace(
            context, medium_specialist=read_specialist_accuracy(args.specialist_metrics, args.medium_variant)
        )
    written = write_tables(build_tables(results, paper, context), args.out_dir)
    log.info("wrote %d table files to %s", len(written), args.out_dir)


def _figures(args: argparse.Namespace) -> None:
    from actionmqa.report.collect import loss_curves
    from actionmqa.report.figures import write_figures

    results, paper, context = _load(args)
    curves = loss_curves(_pairs(args.loss, "--loss"))
    written = write_figures(results, paper, context, curves, args.out_dir)
    log.info("wrote %d figure files to %s", len(written), args.out_dir)


def _wording(args: argparse.Namespace) -> None:
    from actionmqa.ek100.annotations import load_annotation_dir
    from actionmqa.report.analysis import write_analysis
    from actionmqa.report.wording import LEGEND, TITLE, NarrationIndex, pair_inputs, wording_table

    index = NarrationIndex.from_annotations(load_annotation_dir(args.annotations))
    table = wording_table(pair_inputs(args.predictions, args.benchmarks), index)
    write_analysis(table, args.out_dir, "answer_wording", TITLE, LEGEND)
    log.info("wrote the wording analysis of %d prediction files to %s", len(table), args.out_dir)


def _letters(args: argparse.Namespace) -> None:
    from actionmqa.bench import make_adapter
    from actionmqa.report.analysis import write_analysis
    from actionmqa.report.letters import LEGEND, TITLE, LettersInput, letters_table

    inputs = [LettersInput.of(path) for path in args.predictions]
    questions = {
        name: make_adapter(name).load(args.data / name) for name in dict.fromkeys(i.benchmark for i in inputs)
    }
    table = letters_table(inputs, questions)
    write_analysis(table, args.out_dir, "benchmark_letters", TITLE, LEGEND)
    log.info("wrote the letter analysis of %d prediction files to %s", len(table), args.out_dir)
