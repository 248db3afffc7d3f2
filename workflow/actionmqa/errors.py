"""The errors a user acts on: one type for bad input, so every message names where the problem is,
and the base class the command line reports in one line."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

#: A CSV's header is its line 1, so its first data row (index 0) is line 2.
CSV_FIRST_DATA_LINE = 2


def csv_line(data_row: int) -> int:
    """The line an editor shows for a CSV's 0-based data row (the index tables are keyed by here).

    Exact for files with one record per line, which ``ek100.csvfields.read_table`` enforces.
    """
    return int(data_row) + CSV_FIRST_DATA_LINE


class UserError(Exception):
    """A failure whose message is all the user needs (what failed, where, what to do): the command
    line prints it in one line, without a traceback. Anything else is a bug and keeps its traceback."""


class InputError(UserError, ValueError):
    """Malformed or missing input: names the file, the line or record, the key, and what was expected.

    ``line`` is the 1-based line of the file as an editor numbers it (for a CSV data row, see
    ``csv_line``). ``row`` locates a record in a file without lines (a parquet row, a JSON list
    item: 0-based).
    """

    def __init__(
        self,
        path: str | Path | None,
        problem: str,
        *,
        line: int | None = None,
        row: int | str | None = None,
        key: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.row = row
        self.key = key
        self.problem = problem
        where = []
        if self.path is not None:
            where.append(self.path)
        if line is not None:
            where.append(f"line {line}")
        if row is not None:
            where.append(f"row {row}")
        if key is not None:
            where.append(f"key '{key}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {problem}" if prefix else problem)

    def located(self, *, path: str | Path | None = None, key: str | None = None) -> InputError:
        """The same problem at the same line or record, with ``path`` or ``key`` filled in."""
        return InputError(
            self.path if path is None else path,
            self.problem,
            line=self.line,
            row=self.row,
            key=self.key if key is None else key,
        )


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
