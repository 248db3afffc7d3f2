"""The paper's tables and figures from the workflow's evaluation summaries.

``paper`` reads the paper's numbers (config/paper_results.yaml), ``collect`` reads the summaries
into tidy DataFrames, ``tables`` writes CSV, Markdown and LaTeX with the paper's value beside
ours, ``figures`` writes byte-reproducible PNG and SVG, ``cli`` is the ``actionmqa report`` stage.
"""

#: The tables (spec/llavaction.md §7.1-§7.5) and their formats: results/<dataset>/tables/<name>.<format>
TABLES = {
    "distractors": "§7.1 EK100-MQA by distractor difficulty",
    "mqa_frames": "§7.2 EK100-MQA by model and frames",
    "ablation": "§7.3 component ablation",
    "recognition": "§7.4 action recognition",
    "benchmarks": "§7.5 other video benchmarks",
}
TABLE_FORMATS = ("csv", "md", "tex")
#: The figures and their formats: results/<dataset>/figures/<name>.<format>
FIGURES = {
    "distractors": "accuracy by distractor difficulty (Figure 1, right)",
    "benchmarks": "accuracy per benchmark",
    "loss": "training loss curves",
    "frames": "accuracy against frames",
}
FIGURE_FORMATS = ("png", "svg")
