"""The paper's numbers (config/paper_results.yaml): what the tables place beside ours.

Each table of the file has a source, the paper's column headings and its rows. A row may name
the paper model it is of (``model``, an id under ``models``) and conditions on our row
(``match``); a model of the workflow config names its paper model with ``models.<name>.paper``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from actionmqa.io import read_yaml_model
from actionmqa.report import TABLES

#: The tables of the report, in the order of spec/llavaction.md §7.
TABLE_NAMES = tuple(TABLES)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PaperRow(_Strict):
    """One row of a paper table; ``values`` maps column keys to % (None: no confirmed number)."""

    row: str
    model: str | None = None
    match: dict[str, str] = Field(default_factory=dict)
    values: dict[str, float | None]
    unconfirmed: list[str] = Field(default_factory=list)
    note: str | None = None

    def value(self, column: str) -> float | None:
        return self.values.get(column)

    def is_unconfirmed(self, column: str) -> bool:
        return column in self.unconfirmed

    def has_values(self) -> bool:
        return any(v is not None for v in self.values.values())


class EffectSpan(_Strict):
    from_: str = Field(alias="from")
    to: str


class Effect(_Strict):
    """A difference the ablation measures: a model with a component minus one without it."""

    label: str
    with_: str = Field(alias="with")
    without: str
    paper: EffectSpan


class PaperTable(_Strict):
    title: str
    source: str
    frames: int | None = None
    columns: dict[str, str]
    rows: list[PaperRow]
    effects: list[Effect] = Field(default_factory=list)

    @model_validator(mode="after")
    def _columns_known(self) -> PaperTable:
        for index, row in enumerate(self.rows):
            unknown = sorted((set(row.values) | set(row.unconfirmed)) - set(self.columns))
            if unknown:
                raise ValueError(f"rows[{index}] ('{row.row}') has columns {unknown} not in columns")
        labels = {row.row for row in self.rows}
        for effect in self.effects:
            for label in (effect.paper.from_, effect.paper.to):
                if label not in labels:
                    raise ValueError(f"effect '{effect.label}' names no row '{label}'")
        return self

    def row(self, label: str) -> PaperRow:
        return next(row for row in self.rows if row.row == label)


class PaperResults(_Strict):
    models: dict[str, str]
    tables: dict[str, PaperTable]

    @model_validator(mode="after")
    def _references_known(self) -> PaperResults:
        missing = [name for name in TABLE_NAMES if name not in self.tables]
        if missing:
            raise ValueError(f"tables {missing} are missing")
        for name, table in self.tables.items():
            for index, row in enumerate(table.rows):
                if row.model is not None and row.model not in self.models:
                    raise ValueError(f"tables.{name}.rows[{index}].model: '{row.model}' is not under models")
            for effect in table.effects:
                for model in (effect.with_, effect.without):
                    if model not in self.models:
                        raise ValueError(
                            f"tables.{name} effect '{effect.label}': '{model}' is not under models"
                        )
        return self


def load_paper_results(path: str | Path) -> PaperResults:
    """Read and validate the paper's numbers; a problem raises ``InputError`` naming file and key."""
    return read_yaml_model(path, PaperResults, "paper results")


def paper_reference_errors(models: Mapping[str, Mapping[str, Any]], paper: PaperResults) -> list[str]:
    """``models.<name>.paper`` values that name no paper model, as config-error lines."""
    known = sorted(paper.models)
    return [
        f"config key 'models.{name}.paper': '{spec['paper']}' is not a paper model of the paper's"
        f" results ({known})"
        for name, spec in models.items()
        if "paper" in spec and spec["paper"] not in paper.models
    ]
