"""Perception Test, multiple-choice video QA, validation split (spec/benchmarks.md §5).

Layouts read:

- HF ``lmms-lab/PerceptionTest_Val`` (config ``mc_question_val``): one parquet file in
  ``<root>/mc_question_val/`` or ``<root>/``; every scalar is a string (``answer_id`` ``"1"``);
- official ``<root>/mc_question_valid.json``: ``{video_id: {"metadata": {...},
  "mc_question": [{"id": int, "answer_id": int, ...}]}}``, with the optional
  ``cut_frame_mapping_valid.json`` (``{video_id: cut frame}``, format unconfirmed) for cup games.

Videos are ``<root>/videos/<video_name>.mp4`` (lmms-eval also accepts ``.MP4``). Question ids
are ``<video>_<question id>``, because question ids repeat across videos.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from actionmqa.bench.base import BenchmarkAdapter
from actionmqa.bench.loading import (
    Record,
    object_record,
    parquet_records,
    read_json,
    resolve_video,
    single_parquet,
)
from actionmqa.bench.records import UNPARSED, Parsed, ParseMode, Question
from actionmqa.errors import InputError

N_OPTIONS = 3
OFFICIAL_FILE = "mc_question_valid.json"
CUT_FRAME_FILE = "cut_frame_mapping_valid.json"
#: lmms-eval's pattern: the first standalone capital A-D, so "A person ..., so B" reads as A.
_STANDALONE_CAPITAL = re.compile(r"\b([A-D])\b")


@dataclass(frozen=True)
class PerceptionTest(BenchmarkAdapter):
    """Perception Test val MC; ``cut_cup_games`` ends cup-game clips at the test-style cut.

    The prompt is the base adapter's lmms-eval text (``"\\nA. op0\\nB. op1\\nC. op2"``).
    """

    cut_cup_games: bool = False

    name: ClassVar[str] = "perceptiontest"
    group_keys: ClassVar[tuple[str, ...]] = ("area", "reasoning")
    official_scorer: ClassVar[str] = (
        "no separate parser: the eval.ai server compares answer_id integers, so 'official' uses the"
        " lmms-eval val parser (first standalone capital A-D; none -> -1, wrong)"
    )

    # -- loading -------------------------------------------------------------------------

    def read(self, root: Path, video_root: Path | None) -> list[Question]:
        """HF parquet if present, else the official JSON."""
        parquet = single_parquet(root / "mc_question_val", "*.parquet", root, "Perception Test")
        parquet = parquet or single_parquet(root, "*.parquet", root, "Perception Test")
        if parquet is not None:
            if self.cut_cup_games:
                raise InputError(
                    parquet, "cut_cup_games needs the official JSON (frame rates, cup-game flags)"
                )
            return [self._from_hf(r, root, video_root) for r in parquet_records(parquet)]
        if (root / OFFICIAL_FILE).is_file():
            return list(self._from_official(root, video_root))
        raise InputError(
            root, f"no Perception Test data: expected mc_question_val/*.parquet or {OFFICIAL_FILE}"
        )

    def _question(
        self,
        record: Record,
        video: str,
        qid: str,
        root: Path,
        video_root: Path | None,
        **kw: Any,
    ) -> Question:
        options = record.strings("options", N_OPTIONS)
        answer = record.int_like("answer_id")
        if not 0 <= answer < len(options):
            raise record.error(f"answer {answer} is not among the {len(options)} options", key="answer_id")
        return Question(
            id=f"{video}_{qid}",
            video=resolve_video(record, root / "videos", video_root, f"{video}.mp4", (f"{video}.MP4",)),
            question=record.text("question"),
            options=options,
            answer=answer,
            source=record.where,
            groups={"area": record.text("area"), "reasoning": record.text("reasoning")},
            extra={"video_id": video, "question_id": qid, "tag": list(record.strings("tag"))},
            **kw,
        )

    def _from_hf(self, record: Record, root: Path, video_root: Path | None) -> Question:
        return self._question(record, record.text("video_name"), record.text("question_id"), root, video_root)

    def _from_official(self, root: Path, video_root: Path | None) -> Iterator[Question]:
        path = root / OFFICIAL_FILE
        data = read_json(path)
        if not isinstance(data, dict):
            raise InputError(path, f"expected an object keyed by video id, got {type(data).__name__}")
        cuts = _cut_frames(root / CUT_FRAME_FILE) if (root / CUT_FRAME_FILE).is_file() else {}
        for video_id, entry in data.items():
            video = object_record(path, video_id, entry)
            metadata = object_record(path, f"{video_id}/metadata", video.get("metadata", dict))
            items = video.get("mc_question", list)
            end = None
            if self.cut_cup_games and metadata.get("is_cup_game", bool):
                if video_id not in cuts:
                    raise metadata.error(f"cup game without an entry in {CUT_FRAME_FILE}", key="is_cup_game")
                end = cuts[video_id] / metadata.number("frame_rate")
            for k, item in enumerate(items):
                record = object_record(path, f"{video_id}/mc_question[{k}]", item)
                qid = str(record.get("id", int))
                start = None if end is None else 0.0
                yield self._question(record, video_id, qid, root, video_root, start=start, end=end)

    # -- parse -------------------------------------------------------------------------

    def parse_lmms_eval(self, raw: str, question: Question, seed: int) -> Parsed:
        """First standalone capital A-D in the stripped output; none is -1, scored wrong."""
        match = _STANDALONE_CAPITAL.search(raw.strip())
        return Parsed(letter=match.group(1), found=True) if match else UNPARSED

    # -- submission ----------------------------------------------------------------------

    def submission(
        self, questions: Sequence[Question], outputs: Mapping[str, str], mode: ParseMode | str, seed: int = 0
    ) -> dict[str, list[dict[str, Any]]]:
        """``{video_id: [{"id", "answer_id", "answer"}]}`` (VideoLLaMA2's eval.ai format, spec §5.2).

        Unparsed answers are written as ``answer_id`` -1 with an empty ``answer``.
        """
        out: dict[str, list[dict[str, Any]]] = {}
        for question, parsed in self.parsed_outputs(questions, outputs, mode, seed):
            index = parsed.index if parsed.index is not None and parsed.index < len(question.options) else -1
            out.setdefault(question.extra["video_id"], []).append(
                {
                    "id": _numeric(question.extra["question_id"]),
                    "answer_id": index,
                    "answer": question.options[index] if index >= 0 else "",
                }
            )
        return out


def _numeric(question_id: str) -> int | str:
    """Official ids are ints; HF copies hold them as strings (spec §5.2)."""
    return int(question_id) if question_id.isdigit() else question_id


def _cut_frames(path: Path) -> dict[str, int]:
    data = read_json(path)
    if not isinstance(data, dict):
        raise InputError(path, f"expected {{video_id: cut frame}}, got {type(data).__name__}")
    for video_id, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(path, f"cut frame {value!r} is not a frame number", key=video_id)
    return dict(data)
