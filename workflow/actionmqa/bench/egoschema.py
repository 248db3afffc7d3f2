"""EgoSchema: 5-way questions on 3-minute Ego4D clips (spec/benchmarks.md §4).

Layouts read:

- HF ``lmms-lab/egoschema``: ``<root>/Subset/*.parquet`` (500 labelled rows; every field a
  string, options carry their ``"A. "`` prefix, ``answer`` is ``"0"``-``"4"``), or with
  ``full_set`` the ``MC`` (else ``GENERATION``) config, whose ``answer`` is null;
- official: ``<root>/questions.json`` (``q_uid``, ``"option 0"``..``"option 4"``, no prefixes)
  with ``<root>/subset_answers.json`` (``{q_uid: int}``) for the labelled subset.

Videos are ``<root>/videos/<q_uid>.mp4`` (lmms-eval also accepts ``.MP4``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from actionmqa.bench.base import BenchmarkAdapter
from actionmqa.bench.extract import or_random
from actionmqa.bench.letters import letters_for, strip_letter_prefix
from actionmqa.bench.loading import (
    Record,
    json_list_records,
    parquet_records,
    read_json,
    resolve_video,
    single_parquet,
)
from actionmqa.bench.records import Parsed, ParseMode, Question
from actionmqa.errors import InputError

N_OPTIONS = 5
LETTERS = letters_for(N_OPTIONS)
#: Characters lmms-eval strips from both ends, one after the other, before matching.
_EDGE_PUNCTUATION = ",.!?;:'"


def mmmu_style_letter(response: str, labels: Sequence[str]) -> str | None:
    """lmms-eval EgoSchema's MMMU-derived ``parse_multi_choice_response``; ``None`` = no candidate.

    Candidates are ``(X)``, ``X `` and ``X.`` in all three forms at once; only when there are
    none and the response has more than 5 words does it look for an option's full text, which
    is the *prefixed* string (``"A. c cooks."``, lmms-eval's ``index2ans``). Among several
    candidates the one whose last occurrence comes earliest wins (``argmin`` of ``rfind``).
    """
    for char in _EDGE_PUNCTUATION:
        response = response.strip(char)
    response = f" {response} "
    forms = [form.format(c) for form in ("({})", "{} ", "{}.") for c in LETTERS]
    candidates = [form for form in forms if form in response]
    by_content = not candidates and len(response.split()) > 5
    if by_content:
        lowered = response.lower()
        candidates = [c for c, label in zip(LETTERS, labels, strict=True) if label.strip().lower() in lowered]
    if not candidates:
        return None
    if by_content:
        positions = [response.lower().rfind(labels[LETTERS.index(c)].strip().lower()) for c in candidates]
    else:
        positions = [response.rfind(c) for c in candidates]
    chosen = candidates[int(np.argmin(positions))]
    return chosen.replace("(", "").replace(")", "").replace(".", "").strip()


@dataclass(frozen=True)
class EgoSchema(BenchmarkAdapter):
    """EgoSchema subset (scored offline) or full set (submission only).

    The prompt is the base adapter's: lmms-eval forces its letter instruction for EgoSchema.
    """

    full_set: bool = False

    name: ClassVar[str] = "egoschema"
    official_scorer: ClassVar[str] = (
        "no separate scorer: the authors grade {q_uid: int} submissions by exact match, so 'official'"
        " uses the lmms-eval parser (MMMU-style, seeded random fallback)"
    )

    # -- loading -------------------------------------------------------------------------

    def read(self, root: Path, video_root: Path | None) -> list[Question]:
        """HF ``Subset`` parquet if present, else the official JSON pair."""
        hf_dirs = ("MC", "GENERATION") if self.full_set else ("Subset",)
        for config in hf_dirs:
            parquet = single_parquet(root / config, "*.parquet", root, f"EgoSchema {config}")
            if parquet is not None:
                return [self._from_hf(r, root, video_root) for r in parquet_records(parquet)]
        if (root / "questions.json").is_file():
            return list(self._from_official(root, video_root))
        raise InputError(root, f"no EgoSchema data: expected {hf_dirs[0]}/*.parquet or questions.json")

    def _video(self, record: Record, q_uid: str, root: Path, video_root: Path | None) -> Path:
        return resolve_video(record, root / "videos", video_root, f"{q_uid}.mp4", (f"{q_uid}.MP4",))

    def _from_hf(self, record: Record, root: Path, video_root: Path | None) -> Question:
        labels = record.strings("option", N_OPTIONS)
        answer = record.data.get("answer")
        q_uid = record.text("video_idx")
        return Question(
            id=q_uid,
            video=self._video(record, q_uid, root, video_root),
            question=record.text("question"),
            options=tuple(strip_letter_prefix(label, i) for i, label in enumerate(labels)),
            option_labels=labels,
            answer=None if answer is None else _answer_index(record, "answer"),
            source=record.where,
            extra={"question_idx": record.data.get("question_idx")},
        )

    def _from_official(self, root: Path, video_root: Path | None) -> Iterator[Question]:
        answers_path = root / "subset_answers.json"
        answers = _subset_answers(answers_path) if answers_path.is_file() else {}
        if not self.full_set and not answers:
            raise InputError(answers_path, "the labelled subset needs subset_answers.json ({q_uid: int})")
        seen: set[str] = set()
        for record in json_list_records(root / "questions.json"):
            q_uid = record.text("q_uid")
            seen.add(q_uid)
            if not self.full_set and q_uid not in answers:
                continue
            yield Question(
                id=q_uid,
                video=self._video(record, q_uid, root, video_root),
                question=record.text("question"),
                options=tuple(record.text(f"option {i}") for i in range(N_OPTIONS)),
                answer=answers.get(q_uid),
                source=record.where,
            )
        unknown = sorted(set(answers) - seen)
        if unknown:
            raise InputError(
                answers_path, f"{len(unknown)} answered q_uids are not in questions.json", key=unknown[0]
            )

    # -- parse -------------------------------------------------------------------------

    def parse_lmms_eval(self, raw: str, question: Question, seed: int) -> Parsed:
        return or_random(mmmu_style_letter(raw, question.lettered_options()), seed, question, LETTERS)

    # -- submission ----------------------------------------------------------------------

    def submission(
        self, questions: Sequence[Question], outputs: Mapping[str, str], mode: ParseMode | str, seed: int = 0
    ) -> dict[str, int]:
        """``{q_uid: option index}``, what the server and Kaggle take; -1 where nothing parsed."""
        return {
            q.id: -1 if p.index is None else p.index
            for q, p in self.parsed_outputs(questions, outputs, mode, seed)
        }


def _answer_index(record: Record, key: str) -> int:
    value = record.int_like(key)
    if not 0 <= value < N_OPTIONS:
        raise record.error(f"answer {value} is not among the {N_OPTIONS} options", key=key)
    return value


def _subset_answers(path: Path) -> dict[str, int]:
    data = read_json(path)
    if not isinstance(data, dict):
        raise InputError(path, f"expected an object {{q_uid: int}}, got {type(data).__name__}")
    for q_uid, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < N_OPTIONS:
            raise InputError(path, f"answer {value!r} is not an option index 0-4", key=q_uid)
    return dict(data)
