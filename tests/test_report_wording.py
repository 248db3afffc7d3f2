"""The wording analysis of generated EK100-MQA answers: golden numbers on the tiny annotations,
the CLI's files byte for byte, and every bad input named."""

from __future__ import annotations

from pathlib import Path

import pytest

from actionmqa.cli import main
from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.errors import InputError
from actionmqa.evaluate.mqa import prediction
from actionmqa.io import write_jsonl
from actionmqa.mqa.benchmark import build_benchmark
from actionmqa.mqa.builder import BuildConfig
from actionmqa.mqa.distractors import DistractorKind
from actionmqa.mqa.options import TextMode
from actionmqa.mqa.records import MQARecord, read_benchmark
from actionmqa.prompts import mqa_answer
from actionmqa.report.wording import (
    NarrationIndex,
    WordingInput,
    pair_inputs,
    read_predictions,
    to_markdown,
    wording_row,
    wording_table,
)
from mqa_tiny_world import write_tiny_dir


@pytest.fixture()
def world(tmp_path: Path) -> tuple[Path, Path]:
    """The tiny annotations and a random-distractor benchmark built from them (6 questions)."""
    annotations = write_tiny_dir(tmp_path / "ann")
    benchmark = tmp_path / "mqa" / "validation_random.jsonl"
    benchmark.parent.mkdir()
    build_benchmark(
        annotations, BuildConfig(DistractorKind("random"), TextMode("narration"), 13, "random"), benchmark
    )
    return annotations, benchmark


def wrong_letter(record: MQARecord) -> int:
    return (record.answer_index + 1) % len(record.options)


def answers(records: list[MQARecord]) -> list[str]:
    """One raw output per question, each a case of the table (the tiny world's narrations):

    take plate -> "grab plate": the action in its other train wording;
    put down plate -> "take plate" under the right letter: another action;
    open cupboard -> right letter, right text;
    wash knife -> "rinse knife": the action in its train wording;
    turn on tap -> right text under a wrong letter;
    take chopping board -> no answer at all.
    """
    by_narration = {record.narration: record for record in records}
    outputs = {
        "take plate": mqa_answer(wrong_letter(by_narration["take plate"]), "grab plate"),
        "put down plate": mqa_answer(by_narration["put down plate"].answer_index, "take plate"),
        "open cupboard": mqa_answer(by_narration["open cupboard"].answer_index, "open cupboard"),
        "wash knife": mqa_answer(wrong_letter(by_narration["wash knife"]), "rinse knife"),
        "turn on tap": mqa_answer(wrong_letter(by_narration["turn on tap"]), "turn on tap"),
        "take chopping board": "I am not sure",
    }
    return [outputs[record.narration] for record in records]


def write_predictions(records: list[MQARecord], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_jsonl(path, [prediction(r, raw, None) for r, raw in zip(records, answers(records), strict=True)])
    return path


def test_narration_index_knows_every_wording_and_the_commonest_train_one(world):
    index = NarrationIndex.from_annotations(load_annotation_dir(world[0]))
    assert index.names("grab plate", "0:2") and index.names("take plate", "0:2")
    assert not index.names("take plate", "1:2")
    assert index.names("turn on tap", "6:0") and index.names("turn tap on", "6:0")
    assert not index.names("no such narration", "0:2")
    # one train narration each for take plate: the tie goes to the first in string order
    assert index.plain["0:2"] == "grab plate"
    assert index.plain["3:3"] == "open cupboard"
    assert "0:18" not in index.plain  # no train narration of the chopping board


def test_row_splits_the_score_into_action_and_wording(world, tmp_path):
    annotations, benchmark = world
    records = read_benchmark(benchmark)
    path = write_predictions(records, tmp_path / "eval" / "m" / "ek100_mqa_random_8f.predictions.jsonl")
    index = NarrationIndex.from_annotations(load_annotation_dir(annotations))
    row = wording_row(records, read_predictions(path), index, path)
    assert row == {
        "n": 6,
        "accuracy": pytest.approx(2 / 6),  # open cupboard, turn on tap
        "names_action": pytest.approx(4 / 6),  # and grab plate, rinse knife
        "wording": pytest.approx(2 / 4),
        "letter": pytest.approx(2 / 6),  # open cupboard, and put down plate's "take plate"
        "letter_text_agree": pytest.approx(1 / 6),
        "plain_wording": pytest.approx(1 / 6),  # only "open cupboard" is its class's commonest
    }


def test_row_counts_only_the_questions_answered(world, tmp_path):
    annotations, benchmark = world
    records = read_benchmark(benchmark)
    path = write_predictions(records, tmp_path / "p.jsonl")
    rows = [row for row in read_predictions(path) if row.parsed_answer == "open cupboard"]
    row = wording_row(records, rows, NarrationIndex.from_annotations(load_annotation_dir(annotations)), path)
    assert (row["n"], row["accuracy"], row["wording"], row["plain_wording"]) == (1, 1.0, 1.0, 1.0)


def test_wording_is_empty_when_no_answer_names_the_action(world, tmp_path):
    annotations, benchmark = world
    records = read_benchmark(benchmark)
    path = tmp_path / "eval" / "base" / "ek100_mqa_random_8f.predictions.jsonl"
    path.parent.mkdir(parents=True)
    write_jsonl(path, [prediction(record, "A", None) for record in records])
    index = NarrationIndex.from_annotations(load_annotation_dir(annotations))
    table = wording_table(pair_inputs([path], [benchmark]), index)
    assert table.loc[0, "names_action"] == 0 and table.loc[0, "wording"] is None
    assert (
        "| base    | random        |        8 |   6 |      0.000 |          0.000 | –         |    0.167 |"
        in to_markdown(table)
    )


def test_pairs_each_prediction_file_with_its_distractor_set(tmp_path):
    benchmarks = [tmp_path / "validation_hard.jsonl", tmp_path / "validation_random.jsonl"]
    predictions = [
        tmp_path / "eval" / "llavaction" / "ek100_mqa_random_16f.predictions.jsonl",
        tmp_path / "eval" / "base" / "ek100_mqa_hard_8f.predictions.jsonl",
    ]
    assert pair_inputs(predictions, benchmarks) == [
        WordingInput("llavaction", "random", 16, predictions[0], benchmarks[1]),
        WordingInput("base", "hard", 8, predictions[1], benchmarks[0]),
    ]


@pytest.mark.parametrize(
    ("predictions", "benchmarks", "message"),
    [
        (["m/ek100_mqa_hard_8f.json"], ["v_hard.jsonl"], "not an EK100-MQA predictions name"),
        (["m/ek100_mqa_hard_8f.predictions.jsonl"], ["v_random.jsonl"], "no benchmark given for hard"),
        (["m/ek100_mqa_hard_8f.predictions.jsonl"], ["hard.jsonl"], "not an EK100-MQA benchmark name"),
        ([], ["validation_hard.jsonl", "test_hard.jsonl"], "a second benchmark for hard distractors"),
    ],
)
def test_pairing_names_the_file_it_cannot_place(tmp_path, predictions, benchmarks, message):
    with pytest.raises(InputError, match=message) as error:
        pair_inputs([tmp_path / p for p in predictions], [tmp_path / b for b in benchmarks])
    assert error.value.path.startswith(str(tmp_path))


def test_a_prediction_for_another_benchmark_is_named(world, tmp_path):
    annotations, benchmark = world
    records = read_benchmark(benchmark)
    path = tmp_path / "p.jsonl"
    write_jsonl(path, [prediction(records[0].model_copy(update={"uid": "P09-elsewhere"}), "A", None)])
    index = NarrationIndex.from_annotations(load_annotation_dir(annotations))
    with pytest.raises(InputError, match="the benchmark has no question with this uid") as error:
        wording_row(records, read_predictions(path), index, path)
    assert (error.value.path, error.value.key) == (str(path), "P09-elsewhere")


def test_bad_prediction_files_are_named_with_their_line(world, tmp_path):
    records = read_benchmark(world[1])
    rows = [prediction(record, "A", None) for record in records[:2]]
    repeated = tmp_path / "repeated.jsonl"
    write_jsonl(repeated, [rows[0], rows[1], rows[0]])
    with pytest.raises(InputError, match="already answered") as error:
        read_predictions(repeated)
    assert (error.value.line, error.value.key) == (3, records[0].uid)

    incomplete = tmp_path / "incomplete.jsonl"
    write_jsonl(incomplete, [rows[0], {k: v for k, v in rows[1].items() if k != "parsed_answer"}])
    with pytest.raises(InputError, match="not a valid EK100-MQA prediction") as error:
        read_predictions(incomplete)
    assert error.value.line == 2

    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(InputError, match="no predictions to analyse"):
        read_predictions(empty)


def _cli(annotations: Path, benchmark: Path, predictions: list[Path], out_dir: Path) -> int:
    return main(
        [
            "report",
            "wording",
            "--predictions",
            *map(str, predictions),
            "--benchmarks",
            str(benchmark),
            "--annotations",
            str(annotations),
            "--out-dir",
            str(out_dir),
        ]
    )


def test_cli_writes_the_table_byte_identically(world, tmp_path):
    annotations, benchmark = world
    records = read_benchmark(benchmark)
    path = write_predictions(
        records, tmp_path / "eval" / "llavaction" / "ek100_mqa_random_8f.predictions.jsonl"
    )
    for out in ("a", "b"):
        assert _cli(annotations, benchmark, [path], tmp_path / out) == 0
    written = {p.name: p.read_bytes() for p in sorted((tmp_path / "a").iterdir())}
    assert written == {p.name: p.read_bytes() for p in sorted((tmp_path / "b").iterdir())}
    assert written["answer_wording.csv"].decode() == (
        "model,distractors,frames,n,accuracy,names_action,wording,letter,letter_text_agree,plain_wording\n"
        "llavaction,random,8,6,0.3333,0.6667,0.5000,0.3333,0.1667,0.1667\n"
    )
    markdown = written["answer_wording.md"].decode()
    assert markdown.startswith("### Generated EK100-MQA answers: the action and its wording\n\n| model ")
    assert "- plain_wording: the score of a model that names every action right" in markdown


def test_cli_names_a_missing_train_split_and_exits_2(world, tmp_path, capsys):
    annotations, benchmark = world
    path = write_predictions(
        read_benchmark(benchmark), tmp_path / "m" / "ek100_mqa_random_8f.predictions.jsonl"
    )
    (annotations / "EPIC_100_train.csv").unlink()
    assert _cli(annotations, benchmark, [path], tmp_path / "out") == 2
    message = capsys.readouterr().err
    assert message.startswith("actionmqa report: error: ") and "EPIC_100_train.csv" in message
    assert not (tmp_path / "out").exists()
