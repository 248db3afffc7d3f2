"""The paper's figures from one run, as PNG and SVG that are byte-identical on every rebuild.

- ``distractors``: EK100-MQA accuracy by distractor difficulty per model (the paper's Figure 1,
  right), this run's generated answers and option likelihoods beside the paper's numbers;
- ``benchmarks``: accuracy per benchmark and model, the paper's values as markers;
- ``loss``: the training loss curves of the run's trained models;
- ``frames``: hard EK100-MQA accuracy against the number of frames, the paper's as dashed lines.

Matplotlib draws with the Agg backend (no display); SVG ids come from a fixed hash salt and no
file records a date, so a rerun rewrites the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from actionmqa.io import atomic_open  # noqa: E402
from actionmqa.report import FIGURE_FORMATS, FIGURES  # noqa: E402
from actionmqa.report.collect import DISTRACTORS, Results  # noqa: E402
from actionmqa.report.paper import PaperResults  # noqa: E402
from actionmqa.report.tables import BENCHMARK_NAMES, LEVELS, Context, paper_row_for  # noqa: E402

FIGURE_NAMES = tuple(FIGURES)
FORMATS = FIGURE_FORMATS

#: Everything that could make two renders differ, fixed.
STYLE = {
    "svg.hashsalt": "actionmqa",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "figure.titlesize": 11,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "path.simplify": False,
}
METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}
DPI = 150
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
LINESTYLES = ("-", "--", "-.", ":")
PAPER_COLORS = ("#4d4d4d", "#8c8c8c", "#b3b3b3", "#2f4f4f", "#696969")


def _color(index: int) -> str:
    return COLORS[index % len(COLORS)]


def _chance(ax: Axes, options: int) -> None:
    ax.axhline(
        100 / options, color="black", linestyle=":", linewidth=1, label=f"chance ({100 / options:.0f}%)"
    )


def _legend_below(ax: Axes, title: str, ncol: int = 2) -> None:
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=ncol, title=title)


def _bars(
    ax: Axes, groups: Sequence[str], series: Sequence[tuple[str, Sequence[float | None], dict]]
) -> None:
    """Grouped bars: one group per x tick, one bar per series; None draws nothing."""
    width = 0.8 / max(len(series), 1)
    x = np.arange(len(groups))
    for index, (label, values, style) in enumerate(series):
        heights = [np.nan if v is None else v for v in values]
        offset = (index - (len(series) - 1) / 2) * width
        bars = ax.bar(x + offset, heights, width * 0.92, label=label, **style)
        for bar, value in zip(bars, values, strict=True):
            if value is not None:
                ax.annotate(
                    f"{value:.0f}",
                    (bar.get_x() + bar.get_width() / 2, value),
                    xytext=(0, 1.5),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=6,
                )
    ax.set_xticks(x, groups)
    ax.set_ylim(0, 105)


# ---------------------------------------------------------------- figures


def distractors_figure(results: Results, paper: PaperResults, context: Context) -> Figure:
    spec = paper.tables["distractors"]
    frames = spec.frames if spec.frames in results.layout.frames else results.layout.frames[0]
    models = results.layout.models
    groups = [f"{LEVELS[level]}\n({spec.columns[level]}\nin the paper)" for level in DISTRACTORS]
    fig = Figure(figsize=(12, 5), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    for ax, column, what in (
        (axes[0], "accuracy", "this run: generated answer"),
        (axes[1], "accuracy_likelihood", "this run: option likelihood"),
    ):
        series = [
            (
                model,
                [results.mqa_accuracy(model, level, frames, column) for level in DISTRACTORS],
                {"color": _color(i)},
            )
            for i, model in enumerate(models)
        ]
        _bars(ax, groups, series)
        _chance(ax, context.options)
        ax.set_title(f"{what}, {frames} frames")
        _legend_below(ax, "model")
    paper_series = [
        (row.row, [row.value(level) for level in DISTRACTORS], {"color": PAPER_COLORS[i % len(PAPER_COLORS)]})
        for i, row in enumerate(spec.rows)
        if row.has_values()
    ]
    _bars(axes[2], groups, paper_series)
    _chance(axes[2], context.options)
    axes[2].set_title(f"the paper, {spec.frames} frames (spec §7.1)")
    _legend_below(axes[2], "paper's model")
    axes[0].set_ylabel("EK100-MQA accuracy (%)")
    for ax in axes:
        ax.set_xlabel("distractors")
    fig.suptitle(
        "EPIC-KITCHENS-100-MQA accuracy by distractor difficulty (random options → a specialist's top-5)"
    )
    return fig


def benchmarks_figure(results: Results, paper: PaperResults, context: Context) -> Figure:
    spec = paper.tables["benchmarks"]
    names = results.layout.benchmarks
    models = results.layout.models
    fig = Figure(figsize=(max(6.0, 1.6 * len(names) + 3), 4.2), layout="constrained")
    ax = fig.subplots()
    if not names:
        ax.text(0.5, 0.5, "no benchmark is configured (evaluate.benchmarks)", ha="center", va="center")
        ax.set_axis_off()
        return fig
    bench = results.bench
    series = []
    for i, model in enumerate(models):
        values = [
            float(bench[(bench.model == model) & (bench.benchmark == name)].accuracy.iloc[0])
            for name in names
        ]
        series.append((model, values, {"color": _color(i)}))
    labels = [spec.columns.get(name, BENCHMARK_NAMES.get(name, name)) for name in names]
    _bars(ax, labels, series)
    width = 0.8 / max(len(models), 1)
    marked = False
    for i, model in enumerate(models):
        row = paper_row_for(spec, context.paper_id(model))
        if row is None:
            continue
        for j, name in enumerate(names):
            value = row.value(name)
            if value is None:
                continue
            x = j + (i - (len(models) - 1) / 2) * width
            ax.plot(
                [x],
                [value],
                marker="D",
                color="black",
                markersize=5,
                linestyle="none",
                label=None if marked else "paper's value for the model's paper row",
            )
            marked = True
    ax.set_ylabel("accuracy (%)")
    ax.set_xlabel("benchmark (toy versions on the toy world)" if _is_toy(results) else "benchmark")
    ax.set_title("Other video benchmarks: accuracy per model")
    ax.legend(loc="upper right", title="model")
    return fig


def _is_toy(results: Results) -> bool:
    paths = [*results.mqa.path, *results.bench.path]
    return bool(paths) and all(Path(p).parts[:2] == ("results", "toy") for p in paths)


def loss_figure(curves: Mapping[str, pd.DataFrame], models: Sequence[str]) -> Figure:
    fig = Figure(figsize=(10, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    if not curves:
        for ax in axes:
            ax.set_axis_off()
        fig.text(0.5, 0.5, "no evaluated model was trained in this run", ha="center", va="center")
        return fig
    for i, model in enumerate(models):
        if model not in curves:
            continue
        curve = curves[model]
        for ax, column in zip(axes, ("loss", "lm_loss"), strict=True):
            ax.plot(
                curve.step,
                curve[column],
                color=_color(i),
                linestyle=LINESTYLES[i % len(LINESTYLES)],
                linewidth=1.2,
                label=model,
            )
    axes[0].set_title("total training loss (language model + action heads)")
    axes[1].set_title("language-model loss (next-token cross-entropy)")
    for ax in axes:
        ax.set_xlabel("optimiser step")
        ax.set_ylabel("loss (nats per token)")
        ax.legend(title="model")
    fig.suptitle("Training loss per model (results/<dataset>/train/<model>/loss.csv)")
    return fig


def frames_figure(results: Results, paper: PaperResults, context: Context) -> Figure:
    spec = paper.tables["mqa_frames"]
    frames = sorted(results.layout.frames)
    fig = Figure(figsize=(9.5, 4.5), layout="constrained")
    ax = fig.subplots()
    all_frames = set(frames)
    for i, model in enumerate(results.layout.models):
        color = _color(i)
        ours = [results.mqa_accuracy(model, "hard", n) for n in frames]
        ax.plot(frames, ours, marker="o", color=color, label=f"{model}: generated answer")
        likelihood = [results.mqa_accuracy(model, "hard", n, "accuracy_likelihood") for n in frames]
        if any(v is not None for v in likelihood):
            ax.plot(
                frames,
                [np.nan if v is None else v for v in likelihood],
                marker="s",
                linestyle=":",
                color=color,
                label=f"{model}: option likelihood",
            )
        row = paper_row_for(spec, context.paper_id(model))
        if row is not None:
            points = sorted((int(key), value) for key, value in row.values.items() if value is not None)
            if points:
                ax.plot(
                    [n for n, _ in points],
                    [value for _, value in points],
                    marker="^",
                    linestyle="--",
                    color=color,
                    alpha=0.6,
                    label=f"paper: {row.row}",
                )
                all_frames |= {n for n, _ in points}
    _chance(ax, context.options)
    ax.set_xscale("log", base=2)
    ticks = sorted(all_frames)
    ax.set_xticks(ticks, [str(n) for n in ticks])
    ax.minorticks_off()
    ax.set_xlim(min(ticks) / 1.3, max(ticks) * 1.3)
    ax.set_ylim(0, 100)
    ax.set_xlabel("frames sampled per clip")
    ax.set_ylabel("EK100-MQA accuracy, hard distractors (%)")
    ax.set_title("EK100-MQA accuracy against the number of frames")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7)
    return fig


# ---------------------------------------------------------------- output


def render(fig: Figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=DPI, metadata=METADATA[fmt])
    return buffer.getvalue()


def write_figure(fig: Figure, stem: Path) -> list[Path]:
    """``<stem>.png`` and ``<stem>.svg``, each written atomically."""
    written = []
    for fmt in FORMATS:
        path = stem.with_suffix(f".{fmt}")
        with atomic_open(path, "wb") as handle:
            handle.write(render(fig, fmt))
        written.append(path)
    return written


def write_figures(
    results: Results,
    paper: PaperResults,
    context: Context,
    curves: Mapping[str, pd.DataFrame],
    out_dir: Path,
) -> list[Path]:
    """Every figure of FIGURE_NAMES as ``<out_dir>/<name>.{png,svg}``."""
    makers: dict[str, Callable[[], Figure]] = {
        "distractors": lambda: distractors_figure(results, paper, context),
        "benchmarks": lambda: benchmarks_figure(results, paper, context),
        "loss": lambda: loss_figure(curves, results.layout.models),
        "frames": lambda: frames_figure(results, paper, context),
    }
    written = []
    with matplotlib.rc_context(STYLE):
        for name in FIGURE_NAMES:
            written += write_figure(makers[name](), out_dir / name)
    return written
