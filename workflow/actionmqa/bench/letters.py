"""Option lettering, the one convention every benchmark shares: index 0 is ``A``, 1 is ``B``, ..."""

from __future__ import annotations

import string
from collections.abc import Sequence

#: Upper-case option letters, in order.
LETTERS: str = string.ascii_uppercase
#: The instruction lmms-eval appends to EgoSchema, Perception Test, LongVideoBench and Video-MME
#: prompts (and the LongVideoBench authors to theirs).
ANSWER_WITH_LETTER: str = "Answer with the option's letter from the given choices directly."


def letter(index: int) -> str:
    """0 -> ``'A'``; raises ``ValueError`` outside A-Z."""
    if not 0 <= index < len(LETTERS):
        raise ValueError(f"option index {index} has no letter (A-Z)")
    return LETTERS[index]


def lettered(options: Sequence[str]) -> list[str]:
    """``"A. text"`` labels in list order: how lmms-eval's prompts list options (one per line),
    EK100-MQA's prompt lists them (on one line) and EgoSchema and Video-MME store them."""
    return [f"{letter(i)}. {text}" for i, text in enumerate(options)]


def index_of(choice: str) -> int:
    """``'A'`` -> 0 (case-insensitive); raises ``ValueError`` for anything but one letter."""
    if len(choice) != 1 or not choice.isascii() or not choice.isalpha():
        raise ValueError(f"not an option letter: {choice!r}")
    return LETTERS.index(choice.upper())


def letters_for(n_options: int) -> tuple[str, ...]:
    """The letters of an ``n_options``-way question: 3 -> ``('A', 'B', 'C')``."""
    return tuple(letter(i) for i in range(n_options))


def strip_letter_prefix(label: str, index: int) -> str:
    """``"A. c cooks."`` -> ``"c cooks."`` when the prefix is this option's own letter.

    EgoSchema and Video-MME store options with their prefixes; the bare text is what the strict
    parser compares against. A string without its own prefix is returned whole (stripped).
    """
    text = label.strip()
    head = f"{letter(index)}."
    rest = text[len(head) :].strip() if text.startswith(head) else ""
    return rest or text
