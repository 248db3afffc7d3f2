"""One error type for bad input, so every message names where the problem is."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError


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


def invalid_model(path: str | Path, exc: ValidationError, top_level: str | None = None) -> InputError:
    """The first problem pydantic found in ``path``'s document, at its dotted key.

    An unknown key is called so instead of pydantic's "Extra inputs are not permitted";
    ``top_level`` names the key of a problem with the document itself.
    """
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or top_level
    problem = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    return InputError(path, f"{problem}{more}", key=key)
