"""``actionmqa bench ...``: score model outputs, write prompts, write submission files.

Model inference is not here: ``prompts`` writes what a model is fed, some other step writes
``OUTPUTS.jsonl`` (one ``{"id": question_id, "output": raw_text}`` per line), and ``score``
turns it into a summary and per-sample predictions.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actionmqa.bench.records import ParseMode, PromptStyle, Question, VideoMeta
from actionmqa.errors import InputError

if TYPE_CHECKING:
    from actionmqa.bench.base import BenchmarkAdapter

log = logging.getLogger(__name__)

BENCHMARKS = ("egoschema", "perceptiontest", "longvideobench", "videomme", "mvbench")
SUBMITTABLE = ("egoschema", "perceptiontest")


def register(stages: Any) -> None:
    """Add the ``bench`` stage and its ``score``, ``prompts``, ``submit`` and ``fetch`` verbs."""
    stage = stages.add_parser("bench", help="score video-QA benchmarks (EgoSchema ... MVBench)")
    verbs = stage.add_subparsers(dest="verb", required=True, metavar="VERB")
    fmt = argparse.ArgumentDefaultsHelpFormatter

    score = verbs.add_parser("score", help="parse and score model outputs", formatter_class=fmt)
    _common(score, BENCHMARKS)
    _outputs(score)
    score.add_argument("--out", type=Path, required=True, help="summary JSON")
    score.add_argument("--per-sample", type=Path, help="per-sample predictions JSONL")
    score.add_argument(
        "--allow-missing",
        action="store_true",
        help="skip (and list) labelled questions without an output instead of failing",
    )
    score.set_defaults(func=_score)

    prompts = verbs.add_parser("prompts", help="write the prompt of every question", formatter_class=fmt)
    _common(prompts, BENCHMARKS)
    prompts.add_argument(
        "--style",
        default=PromptStyle.LMMS_EVAL.value,
        choices=[s.value for s in PromptStyle],
        help="prompt wording",
    )
    prompts.add_argument(
        "--video-meta",
        type=Path,
        help="JSON {video file name: {fps, n_frames}} for subtitle selection; else the videos are probed",
    )
    prompts.add_argument("--out", type=Path, required=True, help="prompts JSONL")
    prompts.set_defaults(func=_prompts)

    submit = verbs.add_parser("submit", help="write a hidden-label submission file", formatter_class=fmt)
    _common(submit, SUBMITTABLE)
    _outputs(submit)
    submit.add_argument("--out", type=Path, required=True, help="submission JSON")
    submit.set_defaults(func=_submit)

    fetch = verbs.add_parser(
        "fetch",
        help="download a benchmark's hub dataset at a pinned revision into the layout read here"
        " (token: HF_TOKEN from the environment only); without --repo, check the folder given",
        formatter_class=fmt,
    )
    fetch.add_argument("--benchmark", required=True, choices=BENCHMARKS)
    fetch.add_argument("--data", type=Path, required=True, help="the benchmark's folder, written or checked")
    fetch.add_argument("--repo", help="hub dataset id, e.g. lmms-lab/Video-MME (omit: check --data only)")
    fetch.add_argument("--revision", help="a 40-hex commit (a branch is accepted with a warning)")
    fetch.add_argument(
        "--allow-pattern", dest="allow_patterns", nargs="+", metavar="GLOB", help="repository files to fetch"
    )
    fetch.add_argument("--cache-dir", type=Path, help="Hugging Face cache (default: HF_HOME)")
    fetch.add_argument("--offline", action="store_true", help="use the local cache only, no network")
    fetch.add_argument(
        "--require-videos", action="store_true", help="fail when a question's video is missing (else: listed)"
    )
    fetch.add_argument("--manifest", type=Path, required=True, help="manifest JSON, written last")
    fetch.set_defaults(func=_fetch)


def run(argv: Sequence[str]) -> None:
    """Run one ``bench`` verb on its own, without importing the other stages (tests, scripts)."""
    parser = argparse.ArgumentParser(prog="actionmqa")
    register(parser.add_subparsers(dest="stage", required=True))
    args = parser.parse_args(["bench", *map(str, argv)])
    args.func(args)


def _common(parser: argparse.ArgumentParser, benchmarks: tuple[str, ...]) -> None:
    parser.add_argument("--benchmark", required=True, choices=benchmarks)
    parser.add_argument("--data", type=Path, required=True, help="the benchmark's root folder (real layout)")
    parser.add_argument("--videos", type=Path, help="video root; every video must then exist")
    settings = parser.add_argument_group("benchmark settings (only where the benchmark has them)")
    settings.add_argument(
        "--subtitles", action="store_true", help="Video-MME w/ subtitles; LongVideoBench _i"
    )
    settings.add_argument("--frames", type=int, help="frames for subtitle selection (Video-MME 32, LVB 16)")
    settings.add_argument("--full-set", action="store_true", help="EgoSchema: the full 5,031 (no labels)")
    settings.add_argument("--cut-cup-games", action="store_true", help="Perception Test: test-style cuts")


def _outputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--outputs", type=Path, required=True, help='JSONL of {"id", "output"}')
    parser.add_argument("--mode", required=True, choices=[m.value for m in ParseMode], help="answer parser")
    parser.add_argument("--seed", type=int, default=0, help="seed of lmms-eval's random fallbacks")


def _load(args: argparse.Namespace) -> tuple[BenchmarkAdapter, list[Question]]:
    from actionmqa.bench import make_adapter

    adapter = make_adapter(
        args.benchmark,
        subtitles=args.subtitles,
        frames=args.frames,
        full_set=args.full_set,
        cut_cup_games=args.cut_cup_games,
    )
    questions = adapter.load(args.data, args.videos)
    log.info("%s: %d questions from %s", args.benchmark, len(questions), args.data)
    return adapter, questions


def read_outputs(path: Path, questions: list[Question]) -> dict[str, str]:
    """``{id: output}`` from OUTPUTS.jsonl; bad lines, repeats and unknown ids name the line."""
    from actionmqa.io import read_jsonl_lines

    known = {q.id for q in questions}
    outputs: dict[str, str] = {}
    try:
        lines = read_jsonl_lines(path)
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    for lineno, line in lines:
        if (
            not isinstance(line, dict)
            or not isinstance(line.get("id"), str)
            or not isinstance(line.get("output"), str)
        ):
            raise InputError(path, 'expected {"id": str, "output": str}', line=lineno)
        qid = line["id"]
        if qid in outputs:
            raise InputError(path, "repeated id", line=lineno, key=qid)
        if qid not in known:
            raise InputError(path, "id is not a question of this benchmark", line=lineno, key=qid)
        outputs[qid] = line["output"]
    return outputs


def _score(args: argparse.Namespace) -> None:
    from actionmqa.bench.base import evaluate
    from actionmqa.io import write_json, write_jsonl

    adapter, questions = _load(args)
    outputs = read_outputs(args.outputs, questions)
    summary, results = evaluate(adapter, questions, outputs, args.mode, args.seed, args.allow_missing)
    write_json(args.out, summary.to_json())
    if args.per_sample:
        write_jsonl(args.per_sample, (r.to_record() for r in results))
    log.info(
        "%s %s: %.2f%% (n=%d, denominator=%d, unparsed=%d)",
        args.benchmark,
        args.mode,
        summary.accuracy,
        summary.n,
        summary.denominator,
        summary.unparsed,
    )


def _prompts(args: argparse.Namespace) -> None:
    from actionmqa.io import write_jsonl

    adapter, questions = _load(args)
    meta = _video_meta(args.video_meta) if args.video_meta else {}

    def records() -> Iterator[dict[str, Any]]:
        for q in questions:
            needs = adapter.needs_video_meta(q, args.style)
            video = (meta.get(q.video.name) or probe_video(q.video)) if needs else None
            prompt = adapter.prompt(q, args.style, video)
            yield {
                "id": q.id,
                "video": str(q.video),
                "start": q.start,
                "end": q.end,
                "system": prompt.system,
                "prompt": prompt.user,
                "prefill": prompt.prefill,
            }

    n = write_jsonl(args.out, records())
    log.info("wrote %d prompts to %s", n, args.out)


def _submit(args: argparse.Namespace) -> None:
    from actionmqa.io import write_json

    adapter, questions = _load(args)
    outputs = read_outputs(args.outputs, questions)
    write_json(args.out, adapter.submission(questions, outputs, args.mode, args.seed))


def _video_meta(path: Path) -> dict[str, VideoMeta]:
    from actionmqa.bench.loading import read_json

    data = read_json(path)
    if not isinstance(data, dict):
        raise InputError(path, "expected {video file name: {fps, n_frames}}")
    meta = {}
    for name, entry in data.items():
        try:
            meta[name] = VideoMeta(fps=float(entry["fps"]), n_frames=int(entry["n_frames"]))
        except (TypeError, KeyError, ValueError):
            raise InputError(path, f"expected {{fps, n_frames}}, got {entry!r}", key=name) from None
    return meta


def probe_video(path: Path) -> VideoMeta:
    """fps and frame count from the container (PyAV), as lmms-eval reads them with OpenCV."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            fps = float(stream.average_rate or 0)
            n_frames = stream.frames or int(
                float(stream.duration * stream.time_base) * fps if stream.duration else 0
            )
    except (OSError, IndexError, av.error.FFmpegError) as exc:
        raise InputError(path, f"cannot read video metadata ({exc}); pass --video-meta") from None
    if fps <= 0 or n_frames <= 0:
        raise InputError(path, "video reports no fps or frame count; pass --video-meta")
    return VideoMeta(fps=fps, n_frames=n_frames)


def _fetch(args: argparse.Namespace) -> None:
    from actionmqa.bench.fetch import fetch_benchmark
    from actionmqa.io import write_json

    if args.repo is None and (args.revision or args.allow_patterns):
        raise InputError(None, "--revision and --allow-pattern need --repo")
    manifest = fetch_benchmark(
        args.benchmark,
        args.data,
        repo=args.repo,
        revision=args.revision,
        allow_patterns=args.allow_patterns,
        cache_dir=args.cache_dir,
        offline=args.offline,
        require_videos=args.require_videos,
    )
    write_json(args.manifest, manifest)
    log.info("%s ready in %s -> %s", args.benchmark, args.data, args.manifest)
