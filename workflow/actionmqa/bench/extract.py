"""Answer-letter extraction shared across benchmarks.

Three families of parser are reused by more than one adapter:

- the strict parser (every benchmark's ``strict`` mode);
- "strip answer phrases, then take the first capital option letter anywhere", the shape of both
  Video-MME's official ``extract_characters_regex`` and LongVideoBench's authors' parser; they
  differ only in the phrase list, the letter set and what happens when nothing is found;
- lmms-eval's 2026 ``extract_mcq_answer`` ranking (spec/benchmarks.md §7.4), used by Video-MME.

lmms-eval's random fallbacks call Python's global ``random.choice``, so its scores change from
run to run (spec §4.5, §6.5). Here the guess is a function of (seed, question id) instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from actionmqa.bench.records import UNPARSED, Parsed, Question
from actionmqa.seeding import rng_for

# -- strict -----------------------------------------------------------------------------

_STRICT_LETTER = re.compile(r"([A-Z])|\(([A-Z])\)|([A-Z])\.")


def strict_parse(raw: str, question: Question) -> Parsed:
    """``X``, ``(X)``, ``X.``, or exactly one option's text (or its ``"X. text"`` line).

    Anything else, a letter the question does not have, or a text shared by two options
    (Video-MME keeps duplicate options, spec §7.5) is unparsed, and so scored wrong.
    """
    text = raw.strip()
    match = _STRICT_LETTER.fullmatch(text)
    if match:
        choice = next(group for group in match.groups() if group)
        return Parsed(letter=choice, found=True) if choice in question.letters else UNPARSED
    labels = question.lettered_options()
    hits = {i for i, option in enumerate(question.options) if text in (option.strip(), labels[i].strip())}
    if len(hits) == 1:
        return Parsed(letter=question.letters[hits.pop()], found=True)
    return UNPARSED


# -- seeded random fallback -------------------------------------------------------------


def random_letter(seed: int, question_id: str, choices: Sequence[str]) -> str:
    """lmms-eval's ``random.choice(all_choices)``, made a function of (seed, question id)."""
    rng = rng_for(seed, question_id, "lmms_eval_random_fallback")
    return choices[int(rng.integers(len(choices)))]


def or_random(choice: str | None, seed: int, question: Question, choices: Sequence[str]) -> Parsed:
    """A found letter as is; ``None`` becomes a seeded random guess flagged as a fallback."""
    if choice is not None:
        return Parsed(letter=choice, found=True)
    return Parsed(letter=random_letter(seed, question.id, choices), found=False, fallback=True)


# -- phrase stripping + first capital letter ---------------------------------------------


def first_letter_after_phrases(raw: str, phrases: Sequence[str], letter_class: str) -> str | None:
    """Remove each answer phrase, then return the first ``letter_class`` character anywhere.

    Returns ``None`` when there is none. (Both originals first test "more than 10 words and no
    letter"; that branch gives the same result as finding no letter, so it is not repeated.)
    Because any capital counts, "Based on the video, the answer is C" reads as B: the quirk
    both authors' scorers share (spec §6.5, §7.5).
    """
    text = raw.strip()
    for phrase in phrases:
        text = text.replace(phrase, "")
    match = re.search(f"[{letter_class}]", text)
    if match is None:
        return None
    return match.group(0)


# -- lmms-eval 2026 extract_mcq_answer ---------------------------------------------------

#: Phrases after which the next capital choice letter is taken (lowercase search).
_ANSWER_PHRASES: tuple[str, ...] = (
    "the answer is",
    "answer is",
    "the correct answer is",
    "correct answer is",
    "the best answer is",
    "best answer is",
    "the correct option is",
    "correct option is",
    "the best option is",
    "best option is",
    "the choice is",
    "choice is",
    "the correct choice is",
    "correct choice is",
    "i choose",
    "i select",
    "i pick",
    "my answer is",
    "my choice is",
    "옵션",
    "정답은",
    "답은",
    "답:",
    "答案是",
    "答案为",
    "选",
    "答えは",
)

#: Candidate formats and their rank: a higher rank wins, then the later position.
_RANK_START, _RANK_END, _RANK_PHRASE, _RANK_ANY = 10, 9, 7, 0
_MARKED_FORMATS: tuple[tuple[str, int], ...] = (
    ("({})", 6),
    ("{}.", 5),
    ("{}:", 4),
    ("{})", 3),
    ("{} ", 2),
)


def extract_mcq_answer(response: str, choices: Sequence[str]) -> str | None:
    """lmms-eval's ranked extractor (Video-MME since 2026-04-11); ``None`` when nothing matches.

    Each choice's last occurrence in each format is a candidate; the candidate with the best
    format rank (start > end > answer phrase > ``(X)`` > ``X.`` > ``X:`` > ``X)`` > ``X `` >
    any occurrence) wins, the later one on a tie. "Any occurrence" is consulted only when no
    other format matched.
    """
    if not response or not response.strip():
        return None
    text = response.strip()
    for char in ",.!?;:'\"":
        text = text.strip(char)
    text = f" {text} "
    candidates: list[tuple[int, int, str]] = []
    for template, rank in _MARKED_FORMATS:
        for choice in choices:
            position = text.rfind(template.format(choice))
            if position != -1:
                candidates.append((rank, position, choice))
    lowered = text.lower()
    for phrase in _ANSWER_PHRASES:
        at = lowered.find(phrase)
        if at == -1:
            continue
        for choice in choices:
            position = text.find(choice, at + len(phrase))
            if position != -1:
                candidates.append((_RANK_PHRASE, position, choice))
    core = text.strip()
    for choice in choices:
        if core.startswith(choice) and (len(core) == 1 or not core[1].isalpha()):
            candidates.append((_RANK_START, 0, choice))
        if core.endswith(choice) and (len(core) == 1 or not core[-2].isalpha()):
            candidates.append((_RANK_END, len(text) - 1, choice))
    if not candidates:
        for choice in choices:
            position = text.rfind(choice)
            if position != -1:
                candidates.append((_RANK_ANY, position, choice))
    if not candidates:
        return None
    return max(candidates, key=lambda c: (c[0], c[1]))[2]
