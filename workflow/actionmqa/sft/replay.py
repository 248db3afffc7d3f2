"""General-video replay: the base model's instruction data passed through (spec/llavaction.md §2.2).

They keep the model's general video skills while it learns actions: the paper replays
LLaVA-Video-178K (its ``*_processed.json`` files, each a JSON list), the toy world replays its base
model's own instruction data (``results/toy/sft/base.jsonl``, one record a line). Each record
gains ``task: "replay"``, the action target ``[-1, -1, -1]`` that upstream's collator uses for
"no action label", and an id prefixed ``replay:`` (the toy's replayed captions would otherwise
repeat the ids of the mixture's own); everything else, the prompts included, is theirs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actionmqa.errors import InputError
from actionmqa.io import read_jsonl
from actionmqa.sft.mixture import keeps

TASK = "replay"
#: Upstream's "no action label" target, ``[-1, -1, -1]``.
NO_ACTION_IDS = {"verb_id": -1, "noun_id": -1, "action_id": -1}
ID_PREFIX = "replay:"


def load_replay_file(path: Path) -> list[dict[str, Any]]:
    """Records with ``video`` and ``conversations``: a JSON list (LLaVA-Video-178K's
    ``*_processed.json``), or JSONL (``.jsonl``: an SFT file of this workflow)."""
    if Path(path).suffix == ".jsonl":
        document = read_jsonl(path)
    else:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(path, f"not valid JSON ({exc.msg}, line {exc.lineno})") from exc
        if not isinstance(document, list):
            raise InputError(path, f"expected a JSON list of records, got {type(document).__name__}")
    for index, record in enumerate(document):
        _check_record(path, index, record)
    return document


def replay_records(paths: Sequence[Path], fraction: float, seed: int) -> list[dict[str, Any]]:
    """The kept records of every file, in file order; keep draws are keyed by (path as given, index)."""
    kept = []
    for path in paths:
        for index, record in enumerate(load_replay_file(path)):
            if keeps(fraction, seed, f"{Path(path).as_posix()}#{index}", TASK):
                kept.append({**record, **_replay_id(record), "task": TASK, **NO_ACTION_IDS})
    return kept


def _replay_id(record: dict[str, Any]) -> dict[str, str]:
    return {"id": ID_PREFIX + str(record["id"])} if "id" in record else {}


def _check_record(path: Path, index: int, record: Any) -> None:
    if not isinstance(record, dict):
        raise InputError(path, f"record {index} is a {type(record).__name__}, not an object")
    if not isinstance(record.get("video"), str) or not record["video"]:
        raise InputError(path, f"record {index} has no 'video' path", key="video")
    turns = record.get("conversations")
    if not isinstance(turns, list) or len(turns) < 2 or not all(_is_turn(turn) for turn in turns):
        raise InputError(
            path,
            f"record {index}: 'conversations' must be a list of at least two {{'from', 'value'}} turns",
            key="conversations",
        )


def _is_turn(turn: Any) -> bool:
    return (
        isinstance(turn, dict) and turn.get("from") in ("human", "gpt") and isinstance(turn.get("value"), str)
    )
