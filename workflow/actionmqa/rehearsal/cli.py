"""``actionmqa rehearsal {videos, checkpoint, benchmarks, specialist, serve}``: the rehearsal's stand-ins.

Each verb writes one stand-in of something the paper's run downloads and a small JSON manifest of
what it wrote (the rule's output); ``serve`` runs the loopback server by hand (Snakemake starts
its own in ``onstart``).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)


def register(stages: argparse._SubParsersAction) -> None:
    stage = stages.add_parser("rehearsal", help="the dress rehearsal's stand-ins (config/rehearsal.yaml)")
    verbs = stage.add_subparsers(dest="verb", required=True, metavar="VERB")

    def annotations_arg(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--annotations-dir",
            type=Path,
            help="the EK100 CSVs the stand-ins follow (default: the rehearsal's)",
        )

    videos = verbs.add_parser("videos", help="every annotated video, rendered in the official layout")
    annotations_arg(videos)
    videos.add_argument("--video-root", type=Path, required=True, help="<root>/<Pxx>/videos/<video_id>.MP4")
    videos.add_argument("--out", type=Path, required=True, help="manifest JSON")
    videos.set_defaults(func=_videos)

    checkpoint = verbs.add_parser("checkpoint", help="a hub checkpoint as a tiny LLaVA-NeXT one, cached")
    annotations_arg(checkpoint)
    checkpoint.add_argument("--repo", required=True)
    checkpoint.add_argument("--revision", required=True)
    checkpoint.add_argument("--cache-dir", type=Path, required=True, help="the Hugging Face hub cache")
    checkpoint.add_argument("--seed", type=int, default=0)
    checkpoint.add_argument("--out", type=Path, required=True, help="manifest JSON")
    checkpoint.set_defaults(func=_checkpoint)

    benchmarks = verbs.add_parser("benchmarks", help="the five benchmarks in their hub layouts, cached")
    benchmarks.add_argument(
        "--source",
        nargs="+",
        required=True,
        metavar="NAME=REPO@REVISION",
        help="each benchmark's hub dataset",
    )
    benchmarks.add_argument("--cache-dir", type=Path, required=True)
    benchmarks.add_argument("--seed", type=int, default=0)
    benchmarks.add_argument("--out", type=Path, required=True, help="manifest JSON")
    benchmarks.set_defaults(func=_benchmarks)

    specialist = verbs.add_parser("specialist", help="a released specialist as a tiny random release file")
    annotations_arg(specialist)
    specialist.add_argument("--checkpoint", required=True, help="name of the release in the zoo")
    specialist.add_argument(
        "--sizes", nargs="+", default=[], metavar="FIELD=N", help="e.g. width=32 layers=1"
    )
    specialist.add_argument("--seed", type=int, default=0)
    specialist.add_argument("--out", type=Path, required=True, help="the release file")
    specialist.set_defaults(func=_specialist)

    serve = verbs.add_parser("serve", help="the loopback server: files and the teacher, until interrupted")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument(
        "--mount", nargs="*", default=[], metavar="PREFIX=DIR", help="serve DIR's files under /PREFIX/"
    )
    serve.set_defaults(func=_serve)


def _annotations(args: argparse.Namespace) -> Path:
    from actionmqa.rehearsal.annotations import FIXTURE

    return args.annotations_dir or FIXTURE


def _videos(args: argparse.Namespace) -> None:
    from actionmqa.io import write_json
    from actionmqa.rehearsal.videos import render_videos

    frames = render_videos(_annotations(args), args.video_root)
    write_json(args.out, {"root": str(args.video_root), "frames": frames})


def _checkpoint(args: argparse.Namespace) -> None:
    from actionmqa.io import write_json
    from actionmqa.rehearsal.hub_models import cache_checkpoint

    commit = cache_checkpoint(args.cache_dir, args.repo, args.revision, _annotations(args), seed=args.seed)
    write_json(args.out, {"repo": args.repo, "revision": args.revision, "commit": commit})


def _benchmarks(args: argparse.Namespace) -> None:
    from actionmqa.errors import InputError
    from actionmqa.io import write_json
    from actionmqa.rehearsal.benchmarks import cache_benchmarks

    sources = {}
    for item in args.source:
        name, _, rest = item.partition("=")
        repo, _, revision = rest.rpartition("@")
        if not (name and repo and revision):
            raise InputError(None, "expected NAME=REPO@REVISION", key=item)
        sources[name] = {"hub": repo, "revision": revision}
    commits = cache_benchmarks(args.cache_dir, sources, seed=args.seed)
    write_json(args.out, {name: {**sources[name], "commit": commits[name]} for name in sources})


def _specialist(args: argparse.Namespace) -> None:
    from actionmqa.rehearsal.specialists import write_standin
    from actionmqa.specialist.released.architecture import parse_sizes

    write_standin(args.checkpoint, parse_sizes(args.sizes), _annotations(args), args.out, seed=args.seed)


def _serve(args: argparse.Namespace) -> None:
    from actionmqa.errors import InputError
    from actionmqa.rehearsal.server import Running
    from actionmqa.rehearsal.teacher import TeacherServer

    mounts = {}
    for item in args.mount:
        prefix, sep, folder = item.partition("=")
        if not sep:
            raise InputError(None, "expected PREFIX=DIR", key=item)
        mounts[prefix] = Path(folder)
    running = Running(TeacherServer(args.port, mounts))
    log.info(
        "serving %s on %s (teacher at %s); Ctrl-C stops", mounts, running.server.url, running.server.base_url
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        running.stop()
