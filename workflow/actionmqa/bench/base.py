"""The one adapter interface every benchmark implements.

An adapter is lmms-eval's task ``utils.py`` done as a class: :meth:`~BenchmarkAdapter.load`
reads the benchmark's real on-disk layout into :class:`Question` records,
:meth:`~BenchmarkAdapter.prompt` builds what a model is fed, :meth:`~BenchmarkAdapter.parse`
turns a raw output into an option letter under a :class:`ParseMode`,
:meth:`~BenchmarkAdapter.score` decides correctness (or exclusion from the denominator) and
:meth:`~BenchmarkAdapter.aggregate` reduces the results to a :class:`Summary`. What all
benchmarks share lives here and in ``letters``, ``extract``, ``scoring`` and ``loading``; a
benchmark module holds only what is peculiar to it.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from actionmqa.bench.extract import strict_parse
from actionmqa.bench.letters import ANSWER_WITH_LETTER, letter
from actionmqa.bench.records import (
    Parsed,
    ParseMode,
    Prompt,
    PromptStyle,
    Question,
    SampleResult,
    Skip,
    VideoMeta,
)
from actionmqa.bench.scoring import GroupStat, Summary, accuracy_pct, group_breakdown, tally
from actionmqa.errors import InputError


class BenchmarkAdapter(abc.ABC):
    """Load, prompt, parse, score and aggregate one benchmark.

    Concrete adapters are dataclasses whose fields are the benchmark's settings (subtitles on
    or off, frame counts); :meth:`settings` copies them into the summary so a number never
    travels without the conditions it was measured under.
    """

    #: Registry and CLI name.
    name: ClassVar[str]
    #: Keys of ``Question.groups`` reported in the per-group breakdown, in order.
    group_keys: ClassVar[tuple[str, ...]] = ()
    #: What ``official`` mode means for this benchmark (copied into every summary).
    official_scorer: ClassVar[str]
    #: How ``accuracy`` is aggregated (copied into every summary).
    aggregation: ClassVar[str] = "correct / denominator"

    # -- loading and prompting -----------------------------------------------------------

    def load(self, root: Path, video_root: Path | None = None) -> list[Question]:
        """Questions from the benchmark's on-disk layout under ``root``.

        Videos resolve against ``video_root`` when given, and each must then exist (a missing
        one raises ``InputError`` naming the record); otherwise against the benchmark's default
        folder under ``root``, unchecked, so outputs can be scored without the videos. Ids must
        be unique, since outputs are matched to questions by id.
        """
        questions = self.read(root, video_root)
        first: dict[str, Question] = {}
        for question in questions:
            if question.id in first:
                raise InputError(
                    root,
                    f"question id {question.id!r} repeats ({first[question.id].source}, {question.source})",
                )
            first[question.id] = question
        return questions

    @abc.abstractmethod
    def read(self, root: Path, video_root: Path | None) -> list[Question]:
        """The benchmark-specific part of :meth:`load`: parse the files into questions."""

    def prompt(
        self,
        question: Question,
        style: PromptStyle | str = PromptStyle.LMMS_EVAL,
        video: VideoMeta | None = None,
    ) -> Prompt:
        """The prompt for one question; ``video`` is needed only where subtitles follow frames.

        By default lmms-eval's plain multiple-choice text: the question, ``"\\nA. ..."`` per
        option and ``"\\nAnswer with the option's letter ..."`` (EgoSchema forces it even over
        the YAML's post-prompt, spec §4.3; Perception Test, §5.3). Where the authors publish no
        prompt of their own, the official style is this same text.
        """
        return Prompt(user=f"{question.with_options()}\n{ANSWER_WITH_LETTER}")

    def needs_video_meta(self, question: Question, style: PromptStyle | str) -> bool:
        """Whether :meth:`prompt` needs the video's fps and frame count for this question."""
        return False

    # -- parsing -------------------------------------------------------------------------

    def parse(self, raw: str, question: Question, mode: ParseMode | str, seed: int = 0) -> Parsed:
        """Dispatch on the parser mode; ``seed`` feeds lmms-eval's per-sample random fallbacks."""
        mode = ParseMode(mode)
        if mode is ParseMode.STRICT:
            return strict_parse(raw, question)
        if mode is ParseMode.OFFICIAL:
            return self.parse_official(raw, question, seed)
        return self.parse_lmms_eval(raw, question, seed)

    @abc.abstractmethod
    def parse_lmms_eval(self, raw: str, question: Question, seed: int) -> Parsed:
        """lmms-eval's parser for this task, quirks included."""

    def parse_official(self, raw: str, question: Question, seed: int) -> Parsed:
        """The authors' parser; the lmms-eval one where none exists (see ``official_scorer``)."""
        return self.parse_lmms_eval(raw, question, seed)

    # -- scoring -------------------------------------------------------------------------

    def excluded(self, raw: str, parsed: Parsed, mode: ParseMode) -> bool:
        """Whether ``mode`` drops this sample from the denominator (none does by default)."""
        return False

    def is_correct(self, parsed: Parsed, question: Question, mode: ParseMode) -> bool:
        """Letter comparison; a letter beyond the options (E on a 4-way question) is wrong."""
        return parsed.index is not None and parsed.index == question.answer

    def score(self, raw: str, parsed: Parsed, question: Question, mode: ParseMode | str) -> SampleResult:
        """One sample's result; ``correct`` is ``None`` when the mode excludes it."""
        mode = ParseMode(mode)
        if question.answer is None:
            raise ValueError(f"question {question.id} has no label and cannot be scored")
        counted = not self.excluded(raw, parsed, mode)
        return SampleResult(
            id=question.id,
            output=raw,
            parsed=parsed,
            answer=letter(question.answer),
            correct=self.is_correct(parsed, question, mode) if counted else None,
            groups=dict(question.groups),
        )

    # -- aggregation ---------------------------------------------------------------------

    def overall(
        self, results: Sequence[SampleResult], groups: Mapping[str, Mapping[str, GroupStat]]
    ) -> float:
        """The headline accuracy (%): correct / denominator unless a benchmark averages otherwise."""
        return accuracy_pct(*tally(results))

    def extra_metrics(
        self, results: Sequence[SampleResult], groups: Mapping[str, Mapping[str, GroupStat]]
    ) -> dict[str, Any]:
        """Benchmark-specific numbers reported beside the headline (none by default)."""
        return {}

    def aggregate(
        self,
        results: Sequence[SampleResult],
        mode: ParseMode | str,
        seed: int = 0,
        skipped: Sequence[Skip] = (),
    ) -> Summary:
        """Reduce per-sample results to the :class:`Summary`: headline, groups, counts, lists."""
        correct, denominator = tally(results)
        groups = group_breakdown(results, self.group_keys)
        return Summary(
            benchmark=self.name,
            parser_mode=ParseMode(mode).value,
            accuracy=self.overall(results, groups),
            n=len(results),
            correct=correct,
            denominator=denominator,
            unparsed=sum(not r.parsed.found for r in results),
            random_fallbacks=sum(r.parsed.fallback for r in results),
            aggregation=self.aggregation,
            groups=groups,
            seed=seed,
            settings=self.settings(),
            extra={"official_scorer": self.official_scorer, **self.extra_metrics(results, groups)},
            empty_outputs=[r.id for r in results if not r.output.strip()],
            skipped=list(skipped),
        )

    def submission(
        self, questions: Sequence[Question], outputs: Mapping[str, str], mode: ParseMode | str, seed: int = 0
    ) -> Any:
        """The benchmark's own submission object for hidden-label splits, where it has one."""
        raise InputError(None, f"{self.name} has no submission format")

    def parsed_outputs(
        self, questions: Sequence[Question], outputs: Mapping[str, str], mode: ParseMode | str, seed: int = 0
    ) -> list[tuple[Question, Parsed]]:
        """Every question that has an output, with its parse (labels not needed)."""
        return [(q, self.parse(outputs[q.id], q, mode, seed)) for q in questions if q.id in outputs]

    def settings(self) -> dict[str, Any]:
        """The adapter's dataclass fields (subtitles, frame counts, ...)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]


def evaluate(
    adapter: BenchmarkAdapter,
    questions: Sequence[Question],
    outputs: Mapping[str, str],
    mode: ParseMode | str,
    seed: int = 0,
    allow_missing: bool = False,
) -> tuple[Summary, list[SampleResult]]:
    """Parse and score every labelled question that has an output, then aggregate.

    Policy (documented in the summary's ``skipped`` list): questions without a label (hidden
    test answers) are skipped with reason ``unlabelled``; labelled questions without an output
    raise ``InputError`` unless ``allow_missing``, then they are skipped with reason ``no_output``.
    Empty outputs are scored like any other (the mode decides: wrong, a random guess, or
    excluded) and listed in ``empty_outputs``.
    """
    mode = ParseMode(mode)
    results: list[SampleResult] = []
    skipped: list[Skip] = []
    missing = [q.id for q in questions if q.answer is not None and q.id not in outputs]
    if missing and not allow_missing:
        raise InputError(None, f"{len(missing)} labelled questions have no output, e.g. {missing[:5]}")
    for question in questions:
        if question.answer is None:
            skipped.append(Skip(question.id, "unlabelled"))
        elif question.id not in outputs:
            skipped.append(Skip(question.id, "no_output"))
        else:
            raw = outputs[question.id]
            parsed = adapter.parse(raw, question, mode, seed)
            results.append(adapter.score(raw, parsed, question, mode))
    return adapter.aggregate(results, mode, seed, skipped), results
