"""The records every benchmark adapter passes around: questions, prompts, parses, results."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actionmqa.bench.letters import index_of, letter, lettered, letters_for


class ParseMode(str, enum.Enum):
    """Which answer parser (and denominator rule) turns raw outputs into scores.

    ``lmms_eval``: lmms-eval's task code, quirks included (its random fallbacks seeded per
    sample). ``official``: the benchmark authors' scorer where one exists; each adapter's
    ``official_scorer`` says what it means where none does. ``strict``: one letter, ``(X)``,
    ``X.`` or an exact option text, else wrong and counted unparsed (spec/benchmarks.md §9:
    report a verbatim scorer and a strict one side by side).
    """

    LMMS_EVAL = "lmms_eval"
    OFFICIAL = "official"
    STRICT = "strict"


class PromptStyle(str, enum.Enum):
    """Whose prompt wording: lmms-eval's task (the paper's recipe) or the benchmark authors'."""

    LMMS_EVAL = "lmms_eval"
    OFFICIAL = "official"


@dataclass(frozen=True)
class SubtitleLine:
    """One subtitle, in seconds from the start of the video file (offsets already applied)."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class VideoMeta:
    """What subtitle-to-frame selection needs to know about a video file."""

    fps: float
    n_frames: int


@dataclass(frozen=True)
class Question:
    """One multiple-choice question of any benchmark.

    ``options`` are the option texts without letter prefixes; ``option_labels`` keeps the
    strings exactly as the source shows them when the source prefixes letters itself
    (EgoSchema's and Video-MME's ``"A. ..."``), because lmms-eval prints those raw.
    ``answer`` is the 0-based index of the correct option, or ``None`` where labels are hidden
    (EgoSchema full set, LongVideoBench test rows). ``subtitles`` is ``None`` when the video has
    no subtitle file, which is not the same as an empty one. ``source`` names the file and
    record, for error messages.
    """

    id: str
    video: Path
    question: str
    options: tuple[str, ...]
    answer: int | None
    source: str
    groups: Mapping[str, str] = field(default_factory=dict)
    option_labels: tuple[str, ...] | None = None
    start: float | None = None
    end: float | None = None
    duration: float | None = None
    subtitles: tuple[SubtitleLine, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def letters(self) -> tuple[str, ...]:
        """The option letters in order (no benchmark shuffles its options, spec §2)."""
        return letters_for(len(self.options))

    @property
    def answer_letter(self) -> str | None:
        return None if self.answer is None else letter(self.answer)

    def with_options(self) -> str:
        """The question, then one ``"A. text"`` line per option: the body of every lmms-eval prompt."""
        return "\n".join([self.question, *self.lettered_options()])

    def lettered_options(self) -> list[str]:
        """``"A. text"`` lines: the source's own strings where it prefixes letters, else built."""
        if self.option_labels is not None:
            return list(self.option_labels)
        return lettered(self.options)


@dataclass(frozen=True)
class Prompt:
    """What a model is fed: the user text, plus a system message and an assistant prefill.

    Only MVBench's official protocol uses ``system`` and ``prefill`` (the assistant turn starts
    with ``Best option:(``); lmms-eval sends the user text alone.
    """

    user: str
    system: str | None = None
    prefill: str | None = None


@dataclass(frozen=True)
class Parsed:
    """A parser's reading of one raw output.

    ``letter`` is the chosen option letter or ``None``. ``found`` is False when the parser found
    no answer in the text; ``fallback`` is True when lmms-eval's random guess supplied the
    letter (``found`` is then False too, so the sample still counts as unparsed). ``token`` is a
    scorer's own normalised form where correctness is not a letter comparison (MVBench's
    official ``check_ans``).
    """

    letter: str | None
    found: bool
    fallback: bool = False
    token: str | None = None

    @property
    def index(self) -> int | None:
        return None if self.letter is None else index_of(self.letter)


#: Nothing found and nothing guessed.
UNPARSED = Parsed(letter=None, found=False)


@dataclass(frozen=True)
class SampleResult:
    """One question's outcome; ``correct`` is ``None`` when the mode drops it from the denominator."""

    id: str
    output: str
    parsed: Parsed
    answer: str
    correct: bool | None
    groups: Mapping[str, str]

    @property
    def counted(self) -> bool:
        return self.correct is not None

    def to_record(self) -> dict[str, Any]:
        """The per-sample prediction line: id, raw output, parsed answer, correctness."""
        return {
            "id": self.id,
            "output": self.output,
            "parsed": self.parsed.letter,
            "answer": self.answer,
            "correct": self.correct,
            "counted": self.counted,
            "found": self.parsed.found,
            "random_fallback": self.parsed.fallback,
        }


@dataclass(frozen=True)
class Skip:
    """A question left out of scoring under a documented policy, and why."""

    id: str
    reason: str
