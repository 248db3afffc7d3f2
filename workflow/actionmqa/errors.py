"""One error type for bad input, so every message names where the problem is."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Malformed or missing input: names the file, the row or key, and what was expected.

    ``row`` is the 0-based data-row index (header excluded) for tables and the 1-based line
    number for JSONL, as stated in the message.
    """

    def __init__(
        self,
        path: str | Path | None,
        problem: str,
        *,
        row: int | str | None = None,
        key: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.row = row
        self.key = key
        self.problem = problem
        where = []
        if self.path is not None:
            where.append(self.path)
        if row is not None:
            where.append(f"row {row}")
        if key is not None:
            where.append(f"key '{key}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {problem}" if prefix else problem)
