"""``actionmqa data ...``: fetch, validate and label the EK100 annotations; check or fetch its videos
(rules/data.smk)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from actionmqa.download import RetryPolicy, add_fetch_file_verb
from actionmqa.ek100.fetch import DEFAULT_BASE_URL, DEFAULT_FILES
from actionmqa.errors import InputError
from actionmqa.flags import add_field_arguments, from_arguments

log = logging.getLogger(__name__)


def _add_dir_and_out(parser: argparse.ArgumentParser, out_help: str) -> None:
    parser.add_argument(
        "--annotations-dir", type=Path, required=True, help="directory with the EK100 annotation CSVs"
    )
    parser.add_argument("--out", type=Path, required=True, help=out_help)


def register(stages: Any) -> None:
    """Add the ``data`` stage: ``validate``, ``labels``, ``fetch``, ``fetch-file``, ``check-videos``,
    ``fetch-videos``."""
    stage = stages.add_parser("data", help="EK100 annotations: fetch, validate, label map")
    verbs = stage.add_subparsers(dest="verb", required=True, metavar="VERB")

    validate = verbs.add_parser("validate", help="load and check every file; write summary counts")
    _add_dir_and_out(validate, "report JSON")
    validate.set_defaults(func=_validate)

    labels = verbs.add_parser("labels", help="write the label map (verbs, nouns, string-sorted actions)")
    _add_dir_and_out(labels, "label map JSON")
    labels.set_defaults(func=_labels)

    fetch = verbs.add_parser(
        "fetch",
        help="download annotation files at a pinned commit, sha256-checked",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    fetch.add_argument("--base-url", default=DEFAULT_BASE_URL, help="raw-file URL of the repository commit")
    fetch.add_argument("--out", type=Path, required=True, help="directory to write the files into")
    fetch.add_argument("--files", nargs="+", default=list(DEFAULT_FILES), help="repository file paths")
    fetch.add_argument(
        "--no-verify", action="store_true", help="skip sha256 checks (a commit other than the pinned one)"
    )
    fetch.add_argument(
        "--sha256",
        nargs="+",
        action="extend",  # the rule repeats the flag, one pin each: every one counts
        default=[],
        metavar="FILE=HEX",
        help="pin (or override) a file's sha256, e.g. EPIC_100_train.csv=<64 hex>",
    )
    fetch.add_argument(
        "--require-sha256", action="store_true", help="refuse a file without a pinned sha256 (frozen runs)"
    )
    add_field_arguments(fetch, RetryPolicy)
    fetch.set_defaults(func=_fetch)

    add_fetch_file_verb(verbs)

    for verb, text in (
        ("check-videos", "check that every video the segment CSVs need is in the official layout"),
        (
            "fetch-videos",
            "download the needed videos a root lacks (official layout, md5-checked), then check",
        ),
    ):
        videos = verbs.add_parser(verb, help=text, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        videos.add_argument(
            "--video-root", type=Path, required=True, help="<root>/<Pxx>/videos/<video_id>.MP4"
        )
        videos.add_argument("--segments", type=Path, nargs="+", required=True, metavar="CSV")
        videos.add_argument("--out", type=Path, required=True, metavar="REPORT.json")
        if verb == "fetch-videos":
            from actionmqa.ek100.videos import EPIC_55_URL, EPIC_100_URL, TABLES_URL

            videos.add_argument("--epic-55-url", default=EPIC_55_URL, help="EPIC-KITCHENS-55 data")
            videos.add_argument(
                "--epic-100-url", default=EPIC_100_URL, help="EPIC-KITCHENS-100 extension data"
            )
            videos.add_argument(
                "--tables-url",
                default=TABLES_URL,
                help="data/ of epic-kitchens-download-scripts (splits, md5)",
            )
            add_field_arguments(videos, RetryPolicy)
        videos.set_defaults(func=_videos, download=verb == "fetch-videos")


def _validate(args: argparse.Namespace) -> None:
    from actionmqa.ek100.annotations import load_annotation_dir
    from actionmqa.ek100.report import annotation_report
    from actionmqa.io import write_json

    report = annotation_report(load_annotation_dir(args.annotations_dir))
    write_json(args.out, report)
    rows = {name: split["rows"] for name, split in report["splits"].items()}
    log.info("annotations valid: %s rows, %d actions -> %s", rows, report["label_space"]["actions"], args.out)


def _labels(args: argparse.Namespace) -> None:
    from actionmqa.ek100.annotations import load_annotation_dir
    from actionmqa.ek100.labels import LabelMap
    from actionmqa.io import write_json

    label_map = LabelMap.from_annotations(load_annotation_dir(args.annotations_dir))
    write_json(args.out, label_map.to_json())
    log.info("label map: %d actions -> %s", len(label_map.actions), args.out)


def _fetch(args: argparse.Namespace) -> None:
    from actionmqa.ek100.fetch import KNOWN_SHA256, fetch_annotations

    pins = {} if args.no_verify else dict(KNOWN_SHA256)
    for item in args.sha256:
        name, sep, digest = item.partition("=")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest):
            raise InputError(None, "expected FILE=<64 hex digits>", key=item)
        pins[name] = digest.lower()
    if args.no_verify and args.require_sha256:
        raise InputError(None, "--no-verify and --require-sha256 contradict each other")
    fetch_annotations(
        args.base_url,
        args.files,
        args.out,
        pins,
        policy=from_arguments(RetryPolicy, args),
        require_sha256=args.require_sha256,
    )


def _videos(args: argparse.Namespace) -> None:
    from actionmqa.ek100.videos import check_videos, download_videos
    from actionmqa.io import write_json
    from actionmqa.video.segments import read_videos

    needed = read_videos(args.segments)
    report: dict[str, Any] = {"root": str(args.video_root)}
    if args.download:
        report |= download_videos(
            args.video_root,
            needed,
            epic_55_url=args.epic_55_url,
            epic_100_url=args.epic_100_url,
            tables_url=args.tables_url,
            policy=from_arguments(RetryPolicy, args),
        )
    report |= check_videos(args.video_root, needed)
    write_json(args.out, report)
    log.info("%d videos in the official layout under %s -> %s", report["videos"], args.video_root, args.out)
