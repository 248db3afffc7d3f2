"""The paper's tables (spec/llavaction.md §7.1-§7.5), ours beside the paper's, as CSV, Markdown
and LaTeX.

Each table lists this run's evaluated models in the config's order, each beside the paper row
of the paper model it names (``models.<name>.paper``), then the paper's remaining rows with
their numbers for context; the ablation follows the paper's stack. CSV holds the numbers under
snake_case keys; Markdown and LaTeX hold the same cells formatted, a title and the notes (the
metric, the paper's source, unconfirmed values marked †).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from actionmqa.io import atomic_open
from actionmqa.report import TABLE_FORMATS
from actionmqa.report.collect import DISTRACTORS, Results
from actionmqa.report.paper import TABLE_NAMES, PaperResults, PaperRow, PaperTable

Kind = Literal["text", "int", "pct", "delta"]
MISSING = "–"
EFFECT = "effect (points)"
DAGGER = "†"

LEVELS = {"random": "Random", "medium": "Medium", "hard": "Hard"}
BENCHMARK_NAMES = {
    "egoschema": "EgoSchema",
    "perceptiontest": "PerceptionTest",
    "longvideobench": "LongVideoBench",
    "videomme": "Video-MME",
    "mvbench": "MVBench",
}
OURS_NOTE = (
    "Ours: accuracy (%) of the generated answer, parsed as the authors' code parses it (the paper's"
    " protocol); lik.: the option the model gives the highest likelihood."
)


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    kind: Kind = "pct"
    #: a paper column: dropped when no row has a value in it
    paper: bool = False


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: (row index, column key) of paper values the spec marks (unconfirmed)
    unconfirmed: set[tuple[int, str]] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    def add(self, values: Mapping[str, Any], unconfirmed: Iterable[str] = ()) -> None:
        self.unconfirmed |= {(len(self.rows), key) for key in unconfirmed}
        self.rows.append(dict(values))

    def shown_columns(self) -> list[Column]:
        return [
            column
            for column in self.columns
            if not column.paper or any(row.get(column.key) is not None for row in self.rows)
        ]


@dataclass(frozen=True)
class Context:
    """What the config says beyond the summaries: each model's paper model and the benchmark's
    option count; ``medium_specialist`` is the medium-distractor specialist's top-1 in %, when
    that source is a workflow specialist; ``distractor_sources`` names the medium and hard
    sources where the config names them (e.g. a stand-in for TIM), for the table rows."""

    paper_models: Mapping[str, str]
    options: int
    medium_specialist: Mapping[str, float] | None = None
    distractor_sources: Mapping[str, str] = field(default_factory=dict)

    def specialist_row(self, role: str) -> str:
        """``Specialist of the hard distractors[ (name)], top-1``."""
        name = self.distractor_sources.get(role)
        return f"Specialist of the {role} distractors{f' ({name})' if name else ''}, top-1"

    def paper_id(self, model: str) -> str | None:
        return self.paper_models.get(model)


def paper_row_for(
    table: PaperTable, paper_id: str | None, attrs: Mapping[str, str] | None = None
) -> PaperRow | None:
    """The first paper row of ``paper_id`` (a row without ``model`` takes any) whose ``match``
    conditions all hold for ``attrs``; rows with neither ``model`` nor ``match`` match nothing."""
    attrs = attrs or {}
    for row in table.rows:
        if row.model is None and not row.match:
            continue
        if row.model is not None and row.model != paper_id:
            continue
        if all(attrs.get(key) == value for key, value in row.match.items()):
            return row
    return None


def _paper_cells(row: PaperRow | None, columns: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """``{target key: paper value}`` and the unconfirmed target keys, for paper column -> key."""
    if row is None:
        return {key: None for key in columns.values()}, []
    cells = {key: row.value(column) for column, key in columns.items()}
    return cells, [key for column, key in columns.items() if row.is_unconfirmed(column)]


def _model_row(
    spec: PaperTable, context: Context, model: str, columns: Mapping[str, str]
) -> tuple[PaperRow | None, dict[str, Any], list[str]]:
    """A model's row: its name, the paper row it stands for and that row's values (and which are
    unconfirmed); the caller adds our numbers."""
    row = paper_row_for(spec, context.paper_id(model))
    cells, unconfirmed = _paper_cells(row, columns)
    return row, {"model": model, "paper_row": row.row if row else None, **cells}, unconfirmed


def _paper_only_rows(
    table: Table,
    paper: PaperTable,
    used: set[str],
    fill: Callable[[PaperRow], dict[str, Any]],
    columns: Mapping[str, str],
) -> None:
    """The paper's rows no model of ours stands beside, with their numbers, for context."""
    for row in paper.rows:
        if row.row in used or not row.has_values():
            continue
        cells, unconfirmed = _paper_cells(row, columns)
        table.add({**fill(row), **cells}, unconfirmed)


def _source_notes(paper: PaperTable, table: Table) -> list[str]:
    notes = [f"Source of the paper's values: {paper.source}."]
    if any(key in {c.key for c in table.shown_columns()} for _, key in table.unconfirmed):
        notes.append(f"{DAGGER} unconfirmed in spec/llavaction.md.")
    notes.append(f"{MISSING}: no value.")
    return notes


def _frames_for(paper_frames: int | None, frames: tuple[int, ...]) -> int:
    """The paper's frame count when the run evaluated it, else the run's first."""
    return paper_frames if paper_frames in frames else frames[0]


# ---------------------------------------------------------------- §7.1


def distractors_table(results: Results, paper: PaperResults, context: Context) -> Table:
    spec = paper.tables["distractors"]
    frames = _frames_for(spec.frames, results.layout.frames)
    columns = [Column("model", "Model", "text"), Column("paper_row", "Paper row", "text")]
    for level in DISTRACTORS:
        columns += [
            Column(f"{level}_ours", f"{LEVELS[level]} (ours)"),
            Column(f"{level}_ours_likelihood", f"{LEVELS[level]} (ours, lik.)"),
            Column(f"{level}_paper", f"{spec.columns[level]} (paper)", paper=True),
        ]
    table = Table("distractors", f"{spec.title}, {frames} frames, accuracy (%)", columns)
    paper_columns = {level: f"{level}_paper" for level in DISTRACTORS}
    used: set[str] = set()
    for model in results.layout.models:
        row, values, unconfirmed = _model_row(spec, context, model, paper_columns)
        for level in DISTRACTORS:
            values[f"{level}_ours"] = results.mqa_accuracy(model, level, frames)
            values[f"{level}_ours_likelihood"] = results.mqa_accuracy(
                model, level, frames, "accuracy_likelihood"
            )
        table.add(values, unconfirmed)
        used |= {row.row} if row else set()
    _paper_only_rows(table, spec, used, lambda row: {"model": None, "paper_row": row.row}, paper_columns)
    table.notes = [
        OURS_NOTE,
        f"Chance: {100 / context.options:.0f}% ({context.options} options). Medium distractors stand"
        " in for the paper's AVION top-5, hard ones for its TIM top-5.",
        *_source_notes(spec, table),
    ]
    return table


# ---------------------------------------------------------------- §7.2


def mqa_frames_table(results: Results, paper: PaperResults, context: Context) -> Table:
    spec = paper.tables["mqa_frames"]
    ours = results.layout.frames
    paper_frames = {int(key): key for key in spec.columns}
    columns = [Column("model", "Model", "text"), Column("paper_row", "Paper row", "text")]
    for n in sorted(set(ours) | set(paper_frames)):
        if n in ours:
            columns += [
                Column(f"ours_{n}f", f"{n} frames (ours)"),
                Column(f"ours_{n}f_likelihood", f"{n} frames (ours, lik.)"),
            ]
        if n in paper_frames:
            columns.append(Column(f"paper_{n}f", f"{spec.columns[paper_frames[n]]} (paper)", paper=True))
    table = Table("mqa_frames", f"{spec.title}, accuracy (%)", columns)
    paper_columns = {key: f"paper_{n}f" for n, key in paper_frames.items()}
    used: set[str] = set()
    for model in results.layout.models:
        row, values, unconfirmed = _model_row(spec, context, model, paper_columns)
        for n in ours:
            values[f"ours_{n}f"] = results.mqa_accuracy(model, "hard", n)
            values[f"ours_{n}f_likelihood"] = results.mqa_accuracy(model, "hard", n, "accuracy_likelihood")
        table.add(values, unconfirmed)
        used |= {row.row} if row else set()
    _paper_only_rows(table, spec, used, lambda row: {"model": None, "paper_row": row.row}, paper_columns)
    table.notes = [OURS_NOTE, f"Chance: {100 / context.options:.0f}%.", *_source_notes(spec, table)]
    return table


# ---------------------------------------------------------------- §7.3


def ablation_table(results: Results, paper: PaperResults, context: Context) -> Table:
    spec = paper.tables["ablation"]
    frames = results.layout.frames[0]
    columns = [
        Column("configuration", "Configuration (paper)", "text"),
        Column("kind", "Row", "text"),
        Column("paper", "Paper", "pct", paper=True),
        Column("model", "Model (ours)", "text"),
        Column("ours", "Ours"),
        Column("ours_likelihood", "Ours (lik.)"),
        Column("ours_sap", "Ours, SAP"),
    ]
    table = Table("ablation", f"{spec.title}, accuracy (%); ours at {frames} frames", columns)
    models = results.layout.models

    def ours(model: str) -> dict[str, Any]:
        sap = results.row("sap", model)
        return {
            "model": model,
            "ours": results.mqa_accuracy(model, "hard", frames),
            "ours_likelihood": results.mqa_accuracy(model, "hard", frames, "accuracy_likelihood"),
            "ours_sap": sap["second_pass"],
        }

    for row in spec.rows:
        matched = [m for m in models if row.model is not None and context.paper_id(m) == row.model]
        label = f"{row.row} ({row.note})" if row.note else row.row
        for model in matched or [None]:
            values = {"configuration": label, "kind": "stack", "paper": row.value("accuracy"), "model": None}
            values |= ours(model) if model else {}
            table.add(values, ["paper"] if row.is_unconfirmed("accuracy") else [])
    for effect in spec.effects:
        start, end = spec.row(effect.paper.from_), spec.row(effect.paper.to)
        with_ = next((m for m in models if context.paper_id(m) == effect.with_), None)
        without = next((m for m in models if context.paper_id(m) == effect.without), None)
        values: dict[str, Any] = {
            "configuration": f"{effect.label}: '{end.row}' minus '{start.row}'",
            "kind": EFFECT,
            "paper": _difference(end.value("accuracy"), start.value("accuracy")),
            "model": f"{with_} minus {without}" if with_ and without else None,
        }
        if with_ and without:
            a, b = ours(with_), ours(without)
            values |= {key: _difference(a[key], b[key]) for key in ("ours", "ours_likelihood", "ours_sap")}
        table.add(values)
    shown = {row["model"] for row in table.rows if row["kind"] == "stack"}
    outside = [m for m in models if m not in shown]
    table.notes = [
        OURS_NOTE + " SAP: the second, prior-actions pass (spec §5).",
        *([f"Not in the paper's stack (see the other tables): {', '.join(outside)}."] if outside else []),
        f"Ours at {frames} frames; the paper's frame count is presumably {spec.frames} (unconfirmed)."
        " Effect rows: the paper's difference between two rows of its stack, ours between the models"
        " standing for them.",
        *_source_notes(spec, table),
    ]
    return table


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 10)


# ---------------------------------------------------------------- §7.4


def recognition_table(results: Results, paper: PaperResults, context: Context) -> Table:
    spec = paper.tables["recognition"]
    parts = ("verb_top1", "noun_top1", "action_top1")
    columns = [Column("method", "Method", "text"), Column("paper_row", "Paper row", "text")]
    for part in parts:
        columns += [
            Column(f"{part}_ours", f"{spec.columns[part]} (ours)"),
            Column(f"{part}_paper", f"{spec.columns[part]} (paper)", paper=True),
        ]
    columns.append(Column("top_k_recall", "Top-K recall (ours)"))
    table = Table("recognition", f"{spec.title}, accuracy (%)", columns)
    paper_columns = {part: f"{part}_paper" for part in parts}
    used: set[str] = set()

    def add(
        method: str, ours: Mapping[str, float | None], row: PaperRow | None, recall: float | None = None
    ) -> None:
        cells, unconfirmed = _paper_cells(row, paper_columns)
        values = {"method": method, "paper_row": row.row if row else None, **cells, "top_k_recall": recall}
        values |= {f"{part}_ours": ours.get(part) for part in parts}
        table.add(values, unconfirmed)
        used.update({row.row} if row else set())

    first = results.row("recognition", results.layout.models[0])
    hard = {part: first[f"specialist_{part}"] for part in parts}
    add(context.specialist_row("hard"), hard, paper_row_for(spec, None, {"specialist": "hard"}))
    if context.medium_specialist is not None:
        add(
            context.specialist_row("medium"),
            context.medium_specialist,
            paper_row_for(spec, None, {"specialist": "medium"}),
        )
    for model in results.layout.models:
        ours = results.row("recognition", model)
        row = paper_row_for(spec, context.paper_id(model), {"text": ours["text"]})
        method = f"{model}, two-stage (top-{ours['top_k']}, {ours['text']} options, {ours['frames']} frames)"
        add(method, {part: ours[part] for part in parts}, row, ours["top_k_recall"])
    _paper_only_rows(table, spec, used, lambda row: {"method": None, "paper_row": row.row}, paper_columns)
    table.notes = [
        "Ours: top-1 (%) on the validation split. Two-stage: the hard-distractor specialist proposes"
        " its top-K actions and the model picks one; top-K recall bounds it.",
        *_source_notes(spec, table),
    ]
    return table


# ---------------------------------------------------------------- §7.5


def benchmarks_table(results: Results, paper: PaperResults, context: Context) -> Table:
    spec = paper.tables["benchmarks"]
    names = results.layout.benchmarks
    columns = [Column("model", "Model", "text"), Column("paper_row", "Paper row", "text")]
    for name in names:
        heading = spec.columns.get(name, BENCHMARK_NAMES.get(name, name))
        columns += [
            Column(f"{name}_ours", f"{heading} (ours)"),
            Column(f"{name}_paper", f"{heading} (paper)", paper=True),
        ]
    table = Table("benchmarks", f"{spec.title}, accuracy (%)", columns)
    paper_columns = {name: f"{name}_paper" for name in names}
    used: set[str] = set()
    bench = results.bench
    for model in results.layout.models:
        row, values, unconfirmed = _model_row(spec, context, model, paper_columns)
        for name in names:
            hit = bench[(bench.model == model) & (bench.benchmark == name)]
            values[f"{name}_ours"] = float(hit.accuracy.iloc[0])
        table.add(values, unconfirmed)
        used |= {row.row} if row else set()
    _paper_only_rows(table, spec, used, lambda row: {"model": None, "paper_row": row.row}, paper_columns)
    modes = sorted(set(bench["mode"])) or ["lmms_eval"]
    table.notes = [
        f"Ours: accuracy (%) scored as {', '.join(modes)} scores it (the paper ran lmms-eval).",
        *_source_notes(spec, table),
    ]
    return table


BUILDERS: dict[str, Callable[[Results, PaperResults, Context], Table]] = {
    "distractors": distractors_table,
    "mqa_frames": mqa_frames_table,
    "ablation": ablation_table,
    "recognition": recognition_table,
    "benchmarks": benchmarks_table,
}
assert tuple(BUILDERS) == TABLE_NAMES


def build_tables(results: Results, paper: PaperResults, context: Context) -> list[Table]:
    return [BUILDERS[name](results, paper, context) for name in TABLE_NAMES]


# ---------------------------------------------------------------- writers


def _number(value: Any, kind: Kind) -> Any:
    if value is None or kind == "text":
        return value
    if kind == "int":
        return int(value)
    return round(float(value), 2)


def to_frame(table: Table) -> pd.DataFrame:
    """The numbers under snake_case keys (empty where there is none); what the CSV holds."""
    columns = table.shown_columns()
    data = [[_number(row.get(c.key), c.kind) for c in columns] for row in table.rows]
    return pd.DataFrame(data, columns=[c.key for c in columns], dtype=object)


def _cell(table: Table, index: int, column: Column, dagger: str) -> str:
    value = table.rows[index].get(column.key)
    mark = dagger if (index, column.key) in table.unconfirmed else ""
    if value is None:
        return MISSING + mark
    if column.kind == "text":
        return str(value)
    if column.kind == "int":
        return f"{int(value)}{mark}"
    if column.kind == "delta":
        return f"{value:+.1f}{mark}"
    return f"{value:.1f}{mark}"


def _display(table: Table, dagger: str, escape: Callable[[str], str] = str) -> pd.DataFrame:
    columns = table.shown_columns()
    data = []
    for index, values in enumerate(table.rows):
        cells = []
        for column in columns:
            # an effect row's numbers are differences: signed
            kind: Kind = "delta" if values.get("kind") == EFFECT and column.kind == "pct" else column.kind
            text = _cell(table, index, Column(column.key, column.heading, kind), dagger)
            cells.append(escape(text) if column.kind == "text" else text)
        data.append(cells)
    return pd.DataFrame(data, columns=[escape(c.heading) for c in columns], dtype=object)


def to_csv(table: Table) -> str:
    buffer = io.StringIO()
    to_frame(table).to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def to_markdown(table: Table) -> str:
    frame = _display(table, DAGGER)
    align = ["left" if c.kind == "text" else "right" for c in table.shown_columns()]
    body = frame.to_markdown(index=False, colalign=align, disable_numparse=True)
    notes = "\n".join(f"- {note}" for note in table.notes)
    return f"### {table.title}\n\n{body}\n\n{notes}\n"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "–": "--",
    "†": r"$^\dagger$",
    "'": "'",
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(char, char) for char in text)


def to_latex(table: Table) -> str:
    frame = _display(table, DAGGER, latex_escape)
    frame = frame.map(lambda cell: cell.replace("–", "--").replace(DAGGER, r"$^\dagger$"))
    spec = "".join("l" if c.kind == "text" else "r" for c in table.shown_columns())
    tabular = frame.style.hide(axis="index").to_latex(column_format=spec, hrules=True)
    notes = " ".join(latex_escape(note) for note in table.notes)
    return (
        "% Generated by `actionmqa report tables`; needs \\usepackage{booktabs}.\n"
        "\\begin{table}[t]\n\\centering\n\\small\n"
        f"\\caption{{{latex_escape(table.title)}}}\n\\label{{tab:{table.name.replace('_', '-')}}}\n"
        f"\\resizebox{{\\linewidth}}{{!}}{{%\n{tabular}}}\n"
        f"\\par\\smallskip\\footnotesize {notes}\n\\end{{table}}\n"
    )


EXTENSIONS = TABLE_FORMATS
WRITERS: dict[str, Callable[[Table], str]] = {"csv": to_csv, "md": to_markdown, "tex": to_latex}


def write_tables(tables: Iterable[Table], out_dir: Path) -> list[Path]:
    """``<out_dir>/<name>.{csv,md,tex}`` for every table, each written atomically."""
    written = []
    for table in tables:
        for ext in EXTENSIONS:
            path = out_dir / f"{table.name}.{ext}"
            with atomic_open(path) as handle:
                handle.write(WRITERS[ext](table))
            written.append(path)
    return written
