"""The letter analysis of benchmark answers: hand-counted shares on a small EgoSchema, the CLI's
files byte for byte, and every bad input named."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from actionmqa.bench import make_adapter
from actionmqa.bench.records import ParseMode, Question
from actionmqa.cli import main
from actionmqa.errors import InputError
from actionmqa.evaluate.bench import score_modes
from actionmqa.io import write_jsonl
from actionmqa.report.letters import (
    LettersInput,
    ReadAnswer,
    letters_row,
    letters_table,
    read_predictions,
    to_markdown,
)

COLOURS = ["A. brown", "B. green", "C. chrome", "D. amber", "E. white"]
COUNTS = ["A. 0", "B. 1", "C. 2", "D. 3", "E. 4"]
#: (options, answer index, raw output): each a case of the table.
CASES = [
    (COLOURS, 0, "A. brown"),  # names the right option under its letter
    (COLOURS, 0, "C. brown"),  # names the right option under another's letter
    (COUNTS, 1, "B. 3"),  # names a wrong option under the right letter
    (COUNTS, 2, "D. 3"),  # names a wrong option under its own letter
    (COLOURS, 4, "B. silver"),  # names no option
    (COUNTS, 3, "D"),  # a letter alone names no option
]


def write_egoschema(root: Path) -> Path:
    """EgoSchema's hub layout (``Subset``) with the cases' questions; question i has uid ``q<i>``."""
    rows = [
        {
            "question_idx": f"{i:05d}",
            "question": "What colour was it?" if options is COLOURS else "How many times?",
            "video_idx": f"q{i}",
            "option": options,
            "answer": str(answer),
        }
        for i, (options, answer, _) in enumerate(CASES)
    ]
    (root / "Subset").mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(root / "Subset" / "test-00000-of-00001.parquet")
    return root


@pytest.fixture()
def benchmark(tmp_path: Path) -> tuple[Path, list[Question]]:
    root = write_egoschema(tmp_path / "benchmarks" / "egoschema")
    return root.parent, make_adapter("egoschema").load(root)


def write_predictions(questions: list[Question], outputs: list[str], path: Path) -> Path:
    """The rows ``eval bench`` writes, from its own scoring."""
    adapter = make_adapter("egoschema")
    by_id = dict(zip((q.id for q in questions), outputs, strict=True))
    _, rows = score_modes(adapter, questions, by_id, list(ParseMode), seed=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(path, rows)
    return path


@pytest.mark.parametrize(
    ("raw", "letter", "text"),
    [
        ("B. green", "B", "green"),
        (" C.  into c's hand \n", "C", "into c's hand"),
        ("D", None, "D"),
        ("the cupboard", None, "the cupboard"),
        ("B.green", None, "B.green"),
    ],
)
def test_an_answer_is_split_into_its_leading_letter_and_its_text(raw, letter, text):
    assert ReadAnswer.of(raw) == ReadAnswer(letter, text)


def test_two_equal_options_are_not_named():
    question = Question("q", Path("v.mp4"), "?", ("yes", "no", "yes"), 0, "test")
    assert ReadAnswer.of("A. yes").named_option(question) is None
    assert ReadAnswer.of("B. no").named_option(question) == 1


def test_row_reads_text_and_letter_apart(benchmark, tmp_path):
    _, questions = benchmark
    path = write_predictions(questions, [raw for *_, raw in CASES], tmp_path / "p.jsonl")
    row = letters_row(questions, read_predictions(path), path)
    assert row == {
        "n": 6,
        "excluded": 0,
        "accuracy": pytest.approx(3 / 6),  # the letters of "A. brown", "B. 3" and "D"
        "chance": pytest.approx(0.2),
        "names_option": pytest.approx(4 / 6),  # brown, brown, 3, 3
        "text_accuracy": pytest.approx(2 / 6),  # the two browns
        "right_when_named": pytest.approx(2 / 4),
        "letter_when_named": pytest.approx(2 / 4),  # "A. brown" and "D. 3"
    }


def test_letters_alone_leave_the_text_shares_empty(benchmark, tmp_path):
    _, questions = benchmark
    path = write_predictions(questions, ["A"] * 6, tmp_path / "eval" / "base" / "egoschema.predictions.jsonl")
    table = letters_table([LettersInput.of(path)], {"egoschema": questions})
    assert table.loc[0, "names_option"] == 0 and table.loc[0, "right_when_named"] is None
    assert (
        "| base    | egoschema   |   6 |          0 |      0.333 |    0.200 |          0.000 |"
        "           0.000 | –" in to_markdown(table)
    )


def test_answers_the_score_leaves_out_are_counted_apart(benchmark, tmp_path):
    """As lmms-eval's MVBench drops empty answers: ``correct`` is None, and the shares skip them."""
    _, questions = benchmark
    path = write_predictions(questions, [raw for *_, raw in CASES], tmp_path / "p.jsonl")
    rows = read_predictions(path)
    rows[0] = rows[0].model_copy(update={"output": "", "correct": {"lmms_eval": None}})
    row = letters_row(questions, rows, path)
    assert (row["n"], row["excluded"]) == (5, 1)
    assert row["accuracy"] == pytest.approx(2 / 5)  # "B. 3" and "D"
    assert row["names_option"] == pytest.approx(3 / 5)  # brown, 3, 3
    assert row["right_when_named"] == pytest.approx(1 / 3)
    none = [r.model_copy(update={"correct": {"lmms_eval": None}}) for r in rows]
    assert letters_row(questions, none, path) == {
        "n": 0,
        "excluded": 6,
        **dict.fromkeys(
            ("accuracy", "chance", "names_option", "text_accuracy", "right_when_named", "letter_when_named")
        ),
    }


def test_cli_writes_the_table_in_the_order_given(benchmark, tmp_path):
    data, questions = benchmark
    eval_dir = tmp_path / "eval"
    first = write_predictions(
        questions, [raw for *_, raw in CASES], eval_dir / "llavaction" / "egoschema.predictions.jsonl"
    )
    second = write_predictions(questions, ["A. brown"] * 6, eval_dir / "base" / "egoschema.predictions.jsonl")
    out = tmp_path / "tables"
    args = ["report", "letters", "--predictions", str(first), str(second), "--data", str(data)]
    assert main([*args, "--out-dir", str(out)]) == 0
    # "A. brown" everywhere: right on the two browns (letter and text); names an option wherever
    # the options are colours (three questions), always under brown's letter
    assert (out / "benchmark_letters.csv").read_text() == (
        "model,benchmark,n,excluded,accuracy,chance,names_option,text_accuracy,right_when_named,"
        "letter_when_named\n"
        "llavaction,egoschema,6,0,0.5000,0.2000,0.6667,0.3333,0.5000,0.5000\n"
        "base,egoschema,6,0,0.3333,0.2000,0.5000,0.3333,0.6667,1.0000\n"
    )
    markdown = (out / "benchmark_letters.md").read_text()
    assert markdown.startswith("### Benchmark answers: the option named and the letter given\n")
    assert "- letter_when_named: of the answers that name an option" in markdown


def test_bad_inputs_are_named(benchmark, tmp_path):
    _, questions = benchmark
    path = write_predictions(questions, [raw for *_, raw in CASES], tmp_path / "p.jsonl")
    rows = path.read_text().splitlines()

    with pytest.raises(InputError, match="not a benchmark predictions name") as error:
        LettersInput.of(tmp_path / "egoschema.json")
    assert error.value.path == str(tmp_path / "egoschema.json")

    with pytest.raises(InputError, match="the benchmark has no question with this id") as error:
        letters_row(questions[1:], read_predictions(path), path)
    assert (error.value.path, error.value.key) == (str(path), "q0")

    with pytest.raises(InputError, match="no questions given for the benchmark 'mvbench'"):
        letters_table(
            [LettersInput.of(tmp_path / "m" / "mvbench.predictions.jsonl")], {"egoschema": questions}
        )

    repeated = tmp_path / "repeated.jsonl"
    repeated.write_text("\n".join([rows[0], rows[1], rows[0]]) + "\n")
    with pytest.raises(InputError, match="already answered") as error:
        read_predictions(repeated)
    assert (error.value.line, error.value.key) == (3, "q0")

    broken = tmp_path / "broken.jsonl"
    broken.write_text(rows[0] + '\n{"id": "q1"}\n')
    with pytest.raises(InputError, match="not a valid benchmark prediction") as error:
        read_predictions(broken)
    assert error.value.line == 2

    unscored = tmp_path / "unscored.jsonl"
    write_jsonl(unscored, [{"id": "q0", "output": "A", "correct": {"official": True}}])
    with pytest.raises(InputError, match="no 'lmms_eval' entry under 'correct'") as error:
        letters_row(questions, read_predictions(unscored), unscored)
    assert error.value.key == "q0"

    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(InputError, match="no predictions to analyse"):
        read_predictions(empty)
