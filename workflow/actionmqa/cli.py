"""The ``actionmqa`` command: one sub-command per workflow stage, one verb per rule.

Each stage lives in its own module and contributes its parser through a ``register``
function, so this file only lists the stages. Stage modules import heavy dependencies
(torch, decord) inside their handlers, which keeps ``actionmqa --help`` fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import Any

from actionmqa.determinism import pin_cpu_code_paths
from actionmqa.errors import UserError

#: stage name -> module that defines ``register(subparsers)``
STAGES: dict[str, str] = {
    "toyworld": "actionmqa.toyworld.cli",
    "data": "actionmqa.ek100.cli",
    "video": "actionmqa.video.cli",
    "specialist": "actionmqa.specialist.cli",
    "mqa": "actionmqa.mqa.cli",
    "bench": "actionmqa.bench.cli",
    "model": "actionmqa.model.cli",
    "base": "actionmqa.basemodel.cli",
    "sft": "actionmqa.sft.cli",
    "train": "actionmqa.train.cli",
    "eval": "actionmqa.evaluate.cli",
    "toybench": "actionmqa.toybench.cli",
    "report": "actionmqa.report.cli",
    "rehearsal": "actionmqa.rehearsal.cli",
}


class WholeFlagsParser(argparse.ArgumentParser):
    """A parser that reads flags only as spelled whole: argparse's default takes a prefix for the
    flag it starts (``eval throughput --batch-size 4`` would set ``--batch-sizes``), so a
    mistyped setting would run silently as another. Its sub-parsers are of its class."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = WholeFlagsParser(prog="actionmqa", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    stages = parser.add_subparsers(dest="stage", required=True, metavar="STAGE")
    for name, module in STAGES.items():
        importlib.import_module(module).register(stages)
        assert name in stages.choices, f"{module} did not register '{name}'"
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # before the stages' parsers import NumPy: a job's numbers must not depend on the CPU model
    pin_cpu_code_paths()
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        args.func(args)
    except UserError as exc:
        # Bad input, or an endpoint that failed or refused too many clips, is the user's to act
        # on, not a bug: one clear line (it names the file, clip or request), no traceback.
        print(f"actionmqa {args.stage}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
