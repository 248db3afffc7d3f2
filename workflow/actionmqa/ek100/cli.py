"""``actionmqa data ...``: fetch, validate and label the EK100 annotations (rules/data.smk)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from actionmqa.ek100.fetch import DEFAULT_BASE_URL, DEFAULT_FILES

log = logging.getLogger(__name__)


def _add_dir_and_out(parser: argparse.ArgumentParser, out_help: str) -> None:
    parser.add_argument(
        "--annotations-dir", type=Path, required=True, help="directory with the EK100 annotation CSVs"
    )
    parser.add_argument("--out", type=Path, required=True, help=out_help)


def register(stages: Any) -> None:
    """Add the ``data`` stage and its ``validate``, ``labels`` and ``fetch`` verbs."""
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
    fetch.set_defaults(func=_fetch)


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

    fetch_annotations(args.base_url, args.files, args.out, {} if args.no_verify else KNOWN_SHA256)
