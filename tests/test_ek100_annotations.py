"""EK100 annotation loaders: the real validation split, and one malformed file per failure mode.

Each malformed case writes a tiny CSV built from real-format rows and checks that the error
names the file, the 0-based data row and the column, as users need to fix the file by hand.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pandas as pd
import pytest

from actionmqa.ek100.annotations import (
    load_annotation_dir,
    load_class_table,
    load_participant_list,
    load_segments,
    load_tail_classes,
    load_test_timestamps,
    load_video_info,
)
from actionmqa.ek100.schema import (
    CLASS_COLUMNS,
    NOUN_CLASSES_FILE,
    SEGMENT_COLUMNS,
    TAIL_NOUNS_FILE,
    UNSEEN_VAL_FILE,
    VERB_CLASSES_FILE,
    VIDEO_INFO_COLUMNS,
    VIDEO_INFO_FILE,
)
from actionmqa.errors import InputError

# Real-format rows (as in EPIC_100_validation.csv): an empty narration_timestamp, a start at 0.00 s
# (start_frame 1), a multi-noun row, a row of the unseen participant P18.
ROWS = [
    "P01_11_0,P01,P01_11,00:00:00.560,00:00:00.00,00:00:01.89,1,113,take plate,take,0,plate,2,['plate'],[2]",
    "P01_11_1,P01,P01_11,,00:00:01.56,00:00:02.45,93,147,put down plate,put-down,1,plate,2,['plate'],[2]",
    "P01_11_12,P01,P01_11,00:00:52.620,00:00:51.98,00:00:53.03,3118,3181,throw paper into bin,throw-into,"
    "13,paper,49,\"['paper', 'bin']\",\"[49, 36]\"",
    "P18_01_1,P18,P18_01,00:00:06.460,00:00:05.31,00:00:06.78,318,406,open cupboard,open,3,cupboard,3,"
    "['cupboard'],[3]",
]
VERBS = [("0", "take"), ("1", "put"), ("3", "open"), ("13", "throw")]
NOUNS = [("2", "plate"), ("3", "cupboard"), ("36", "bin"), ("49", "paper"), ("78", "board:chopping")]


def parse_rows() -> list[list[str]]:
    return list(csv.reader(ROWS))


def write_csv(path: Path, header: list[str] | tuple[str, ...], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_segments(tmp_path: Path, rows: list[list[str]], header=SEGMENT_COLUMNS) -> Path:
    return write_csv(tmp_path / "EPIC_100_validation.csv", header, rows)


def class_rows(classes: list[tuple[str, str]]) -> list[list[str]]:
    return [[cid, key, str([key, f"{key}:other"]), "category"] for cid, key in classes]


def with_cell(row_index: int, column: str, value: str) -> list[list[str]]:
    rows = parse_rows()
    rows[row_index][SEGMENT_COLUMNS.index(column)] = value
    return rows


@pytest.fixture
def mini_dir(tmp_path: Path) -> Path:
    """An annotations directory with subset class files, video info, unseen and tail lists."""
    write_segments(tmp_path, parse_rows())
    write_csv(tmp_path / VERB_CLASSES_FILE, CLASS_COLUMNS, class_rows(VERBS))
    write_csv(tmp_path / NOUN_CLASSES_FILE, CLASS_COLUMNS, class_rows(NOUNS))
    videos = [["P01_11", "315.1", "59.9400599400599", "1920x1080"], ["P18_01", "166.4", "59.94", "1920x1080"]]
    write_csv(tmp_path / VIDEO_INFO_FILE, VIDEO_INFO_COLUMNS, videos)
    write_csv(tmp_path / UNSEEN_VAL_FILE, ["participant_id"], [["P18"], ["P32"]])
    write_csv(tmp_path / TAIL_NOUNS_FILE, ["noun"], [["36"], ["78"]])
    return tmp_path


def assert_names(error: pytest.ExceptionInfo[InputError], path: Path, line: int | None, key: str) -> str:
    """The message names the file, the line an editor shows (header = line 1) and the column."""
    message = str(error.value)
    assert str(path) in message
    assert f"key '{key}'" in message
    assert (error.value.line, error.value.key) == (line, key)
    if line is not None:
        assert f"line {line}," in message
    return message


# --- the real validation split -------------------------------------------------------------------


@pytest.mark.realdata
def test_real_validation_split_matches_published_counts(real_ek100_dir: Path) -> None:
    started = time.perf_counter()
    ann = load_annotation_dir(real_ek100_dir)
    seconds = time.perf_counter() - started
    val = ann.split("validation")
    assert seconds < 5, f"loading the real annotations took {seconds:.2f} s"
    assert len(val) == 9668
    assert list(val.index) == list(range(9668))
    assert val["video_id"].nunique() == 138
    assert val["participant_id"].nunique() == 32
    assert (val["narration_timestamp"] == "").sum() == 70
    assert ann.unseen_participants == ["P18", "P32"]
    assert val["participant_id"].isin(ann.unseen_participants).sum() == 1065
    assert (val["verb_class"].nunique(), val["noun_class"].nunique(), val["vn"].nunique()) == (78, 211, 1352)
    assert (len(ann.verbs), len(ann.nouns), len(ann.video_info)) == (97, 300, 700)
    assert (len(ann.tail_verbs), len(ann.tail_nouns)) == (86, 228)
    assert ann.splits.keys() == {"validation"}


@pytest.mark.realdata
def test_real_rows_are_typed_and_keep_csv_order(real_ek100_dir: Path) -> None:
    val = load_segments(real_ek100_dir / "EPIC_100_validation.csv")
    # String-sorted narration ids: _0, _1, _10, _100, ... must stay in file order.
    assert val["narration_id"].head(4).tolist() == ["P01_11_0", "P01_11_1", "P01_11_10", "P01_11_100"]
    first = val.iloc[0]
    timing = first[["start_sec", "stop_sec", "start_frame", "stop_frame"]].tolist()
    assert timing == [0.0, 1.89, 1, 113]
    assert (first["vn"], first["uid"]) == ("0:2", "P01-P01_11_0.00_1.89")
    multi = val[val["narration_id"] == "P01_11_12"].iloc[0]
    assert (multi["all_nouns"], multi["all_noun_classes"]) == (["paper", "bin"], [49, 36])
    assert val["verb_class"].dtype == "int64" and val["start_sec"].dtype == "float64"
    duration = val["stop_sec"] - val["start_sec"]
    assert duration.min() == pytest.approx(0.5) and duration.median() == pytest.approx(1.96, abs=0.01)
    assert 146 < duration.max() < 148


@pytest.mark.realdata
def test_real_test_timestamps_load(real_ek100_dir: Path) -> None:
    test = load_test_timestamps(real_ek100_dir / "EPIC_100_test_timestamps.csv")
    assert len(test) == 13092 and test["video_id"].nunique() == 67
    assert test.loc[0, "uid"] == "P01-P01_101_2.86_3.87"


@pytest.mark.realdata
def test_noun_classes_v2_is_rejected_as_300_way_table(real_ek100_dir: Path) -> None:
    path = real_ek100_dir / "EPIC_100_noun_classes_v2.csv"
    with pytest.raises(InputError) as error:
        load_class_table(path, "noun")
    assert "300 is outside [0, 300)" in assert_names(error, path, 302, "id")


# --- a well-formed mini directory ------------------------------------------------------------------


def test_mini_dir_loads_with_optional_files(mini_dir: Path) -> None:
    ann = load_annotation_dir(mini_dir)
    val = ann.split("validation")
    assert val["narration_timestamp"].tolist()[:2] == ["00:00:00.560", ""]
    assert val["vn"].tolist() == ["0:2", "1:2", "13:49", "3:3"]
    assert ann.tail_nouns == [36, 78] and ann.tail_verbs == []
    assert ann.unseen_participants == ["P18", "P32"]
    assert ann.video_info["fps"].tolist() == [59.9400599400599, 59.94]
    assert ann.nouns["instances"].iloc[0] == ["plate", "plate:other"]


def test_absent_split_names_the_file_it_needs(mini_dir: Path) -> None:
    ann = load_annotation_dir(mini_dir)
    with pytest.raises(InputError, match="EPIC_100_train.csv: split 'train' is needed"):
        ann.split("train")


def test_header_only_split_names_the_file_and_the_split(mini_dir: Path) -> None:
    write_segments(mini_dir, [])
    ann = load_annotation_dir(mini_dir)
    assert ann.splits["validation"].empty  # loaded (the tables report counts it)...
    with pytest.raises(InputError) as error:
        ann.split("validation")  # ...but no stage gets an empty split to work on
    assert str(error.value).startswith(f"{mini_dir / 'EPIC_100_validation.csv'}: split 'validation' has no")


def test_missing_class_file_is_an_error(mini_dir: Path) -> None:
    (mini_dir / VERB_CLASSES_FILE).unlink()
    with pytest.raises(InputError, match=f"{VERB_CLASSES_FILE}: class file is required"):
        load_annotation_dir(mini_dir)


def test_segment_of_unknown_video_is_an_error(mini_dir: Path) -> None:
    write_csv(mini_dir / VIDEO_INFO_FILE, VIDEO_INFO_COLUMNS, [["P01_11", "315.1", "59.94", "1920x1080"]])
    with pytest.raises(InputError) as error:
        load_annotation_dir(mini_dir)
    assert "'P18_01' is not in EPIC_100_video_info.csv" in assert_names(
        error, mini_dir / "EPIC_100_validation.csv", 5, "video_id"
    )


# --- malformed segment files -----------------------------------------------------------------------


def test_missing_column(tmp_path: Path) -> None:
    header = [c for c in SEGMENT_COLUMNS if c != "verb"]
    rows = [[cell for i, cell in enumerate(row) if SEGMENT_COLUMNS[i] != "verb"] for row in parse_rows()]
    path = write_segments(tmp_path, rows, header)
    with pytest.raises(InputError) as error:
        load_segments(path)
    assert "header line: missing column(s) ['verb']" in assert_names(error, path, None, "verb")


def test_extra_column(tmp_path: Path) -> None:
    path = write_segments(tmp_path, [row + ["x"] for row in parse_rows()], [*SEGMENT_COLUMNS, "comment"])
    with pytest.raises(InputError) as error:
        load_segments(path)
    assert "unexpected or repeated column(s) ['comment']" in assert_names(error, path, None, "comment")


def test_misordered_columns(tmp_path: Path) -> None:
    header = list(SEGMENT_COLUMNS)
    header[9], header[10] = header[10], header[9]
    path = write_segments(tmp_path, parse_rows(), header)
    with pytest.raises(InputError) as error:
        load_segments(path)
    assert "column 10 is 'verb_class' where 'verb' belongs" in assert_names(error, path, None, "verb_class")


def test_row_with_extra_field(tmp_path: Path) -> None:
    rows = parse_rows()
    rows[2].append("stray")
    path = write_segments(tmp_path, rows)
    with pytest.raises(InputError) as error:
        load_segments(path)
    assert "has 16 fields, expected 15" in str(error.value)
    assert error.value.line == 4 and str(path) in str(error.value)


def test_bad_timestamp(tmp_path: Path) -> None:
    path = write_segments(tmp_path, with_cell(1, "start_timestamp", "00:00:1.56"))
    with pytest.raises(InputError) as error:
        load_segments(path)
    message = assert_names(error, path, 3, "start_timestamp")
    assert "expected a timestamp HH:MM:SS.ff, got '00:00:1.56'" in message


def test_the_named_line_is_the_one_an_editor_shows(tmp_path: Path) -> None:
    """Header = line 1, so the fourth data row is line 5: the line that holds the bad cell."""
    path = write_segments(tmp_path, with_cell(3, "start_timestamp", "00:00:1.56"))
    with pytest.raises(InputError) as error:
        load_segments(path)
    assert error.value.line == 5
    assert "00:00:1.56" in path.read_text().splitlines()[error.value.line - 1]


def test_a_line_break_inside_a_field_is_an_error(tmp_path: Path) -> None:
    """One record per line keeps every line number true; a quoted line break would shift them."""
    path = write_segments(tmp_path, with_cell(1, "narration", "take\nplate"))
    with pytest.raises(InputError, match="line 3: a quoted field holds a line break") as error:
        load_segments(path)
    assert str(path) in str(error.value)


def test_stop_before_start(tmp_path: Path) -> None:
    path = write_segments(tmp_path, with_cell(2, "stop_timestamp", "00:00:51.00"))
    with pytest.raises(InputError) as error:
        load_segments(path)
    assert "stop 00:00:51.00 is not after start 00:00:51.98" in assert_names(error, path, 4, "stop_timestamp")


def test_verb_class_out_of_range(tmp_path: Path) -> None:
    path = write_segments(tmp_path, with_cell(3, "verb_class", "97"))
    with pytest.raises(InputError) as error:
        load_segments(path)
    assert "97 is outside [0, 97)" in assert_names(error, path, 5, "verb_class")


def test_noun_class_not_in_class_table(mini_dir: Path) -> None:
    rows = with_cell(1, "noun_class", "5")
    rows[1][SEGMENT_COLUMNS.index("all_noun_classes")] = "[5]"
    path = write_segments(mini_dir, rows)
    with pytest.raises(InputError) as error:
        load_annotation_dir(mini_dir)
    assert f"5 is not in the class table {NOUN_CLASSES_FILE}" in assert_names(error, path, 3, "noun_class")


def test_secondary_noun_not_in_class_table(mini_dir: Path) -> None:
    path = write_segments(mini_dir, with_cell(2, "all_noun_classes", "[49, 37]"))
    with pytest.raises(InputError) as error:
        load_annotation_dir(mini_dir)
    assert "37 is not in the class table" in assert_names(error, path, 4, "all_noun_classes")


@pytest.mark.parametrize(
    ("column", "text", "expected"),
    [
        ("all_nouns", "['paper', 'bin'", "a list literal of strings"),
        ("all_nouns", "['paper', 3]", "a list literal of strings"),
        ("all_noun_classes", "(49, 36)", "a list literal of integers"),
        ("all_noun_classes", "[49, True]", "a list literal of integers"),
    ],
)
def test_bad_list_literal(tmp_path: Path, column: str, text: str, expected: str) -> None:
    path = write_segments(tmp_path, with_cell(2, column, text))
    with pytest.raises(InputError) as error:
        load_segments(path)
    assert f"expected {expected}" in assert_names(error, path, 4, column)


def test_mismatched_list_lengths(tmp_path: Path) -> None:
    path = write_segments(tmp_path, with_cell(2, "all_noun_classes", "[49]"))
    with pytest.raises(InputError) as error:
        load_segments(path)
    assert "1 classes for 2 nouns ['paper', 'bin']" in assert_names(error, path, 4, "all_noun_classes")


def test_noun_class_not_first_of_all_noun_classes(tmp_path: Path) -> None:
    path = write_segments(tmp_path, with_cell(2, "all_noun_classes", "[36, 49]"))
    with pytest.raises(InputError) as error:
        load_segments(path)
    assert "noun_class 49 is not the first item" in assert_names(error, path, 4, "noun_class")


def test_duplicate_narration_id(tmp_path: Path) -> None:
    path = write_segments(tmp_path, with_cell(2, "narration_id", "P01_11_0"))
    with pytest.raises(InputError) as error:
        load_segments(path)
    assert "'P01_11_0' repeats line 2" in assert_names(error, path, 4, "narration_id")


def test_repeated_uid_is_allowed_when_narration_ids_differ(tmp_path: Path) -> None:
    """Two narrations of one segment share its timestamps, hence its uid; both rows are kept."""
    rows = parse_rows()
    rows.append(rows[0][:])
    rows[-1][0] = "P01_11_99"
    frame = load_segments(write_segments(tmp_path, rows))
    assert list(frame["uid"]).count("P01-P01_11_0.00_1.89") == 2
    assert frame.index.tolist() == list(range(len(rows)))


def test_empty_narration(tmp_path: Path) -> None:
    path = write_segments(tmp_path, with_cell(3, "narration", " "))
    with pytest.raises(InputError) as error:
        load_segments(path)
    assert "empty value" in assert_names(error, path, 5, "narration")


@pytest.mark.parametrize("text", ["113.0", "-1", "1_13", " 113"])
def test_non_integer_or_negative_frame(tmp_path: Path, text: str) -> None:
    path = write_segments(tmp_path, with_cell(0, "stop_frame", text))
    with pytest.raises(InputError) as error:
        load_segments(path)
    assert f"expected a non-negative integer, got {text!r}" in assert_names(error, path, 2, "stop_frame")


def test_video_of_another_participant(tmp_path: Path) -> None:
    path = write_segments(tmp_path, with_cell(3, "participant_id", "P01"))
    with pytest.raises(InputError) as error:
        load_segments(path)
    assert "'P18_01' does not start with its participant_id 'P01'" in assert_names(error, path, 5, "video_id")


# --- malformed side files --------------------------------------------------------------------------


def test_class_file_with_duplicate_ids(tmp_path: Path) -> None:
    path = write_csv(tmp_path / VERB_CLASSES_FILE, CLASS_COLUMNS, class_rows([*VERBS, ("1", "put-again")]))
    with pytest.raises(InputError) as error:
        load_class_table(path, "verb")
    assert "1 repeats line 3" in assert_names(error, path, 6, "id")


def test_class_file_with_bad_instances(tmp_path: Path) -> None:
    rows = class_rows(NOUNS)
    rows[2][2] = "bin, bin:rubbish"
    path = write_csv(tmp_path / NOUN_CLASSES_FILE, CLASS_COLUMNS, rows)
    with pytest.raises(InputError) as error:
        load_class_table(path, "noun")
    assert "expected a list literal of strings" in assert_names(error, path, 4, "instances")


def test_subset_class_file_keeps_real_ids(tmp_path: Path) -> None:
    path = write_csv(tmp_path / NOUN_CLASSES_FILE, CLASS_COLUMNS, class_rows(NOUNS))
    table = load_class_table(path, "noun")
    assert table["id"].tolist() == [2, 3, 36, 49, 78] and table["key"].iloc[-1] == "board:chopping"


def test_video_info_bad_fps(tmp_path: Path) -> None:
    row = ["P01_11", "315.1", "nan", "1920x1080"]
    path = write_csv(tmp_path / VIDEO_INFO_FILE, VIDEO_INFO_COLUMNS, [row])
    with pytest.raises(InputError) as error:
        load_video_info(path)
    assert "expected a positive number" in assert_names(error, path, 2, "fps")


def test_tail_file_with_unknown_header(tmp_path: Path) -> None:
    path = write_csv(tmp_path / TAIL_NOUNS_FILE, ["class"], [["36"]])
    with pytest.raises(InputError) as error:
        load_tail_classes(path)
    assert "single column 'verb' or 'noun'" in assert_names(error, path, None, "class")


def test_tail_noun_out_of_range(tmp_path: Path) -> None:
    path = write_csv(tmp_path / TAIL_NOUNS_FILE, ["noun"], [["36"], ["300"]])
    with pytest.raises(InputError) as error:
        load_tail_classes(path)
    assert "300 is outside [0, 300)" in assert_names(error, path, 3, "noun")


def test_participant_list_with_blank(tmp_path: Path) -> None:
    path = write_csv(tmp_path / UNSEEN_VAL_FILE, ["participant_id"], [["P18"], [""]])
    with pytest.raises(InputError) as error:
        load_participant_list(path)
    assert_names(error, path, 3, "participant_id")


def test_byte_order_mark_is_not_part_of_the_header(tmp_path: Path) -> None:
    path = tmp_path / UNSEEN_VAL_FILE
    path.write_bytes(b"\xef\xbb\xbfparticipant_id\nP18\n")
    assert load_participant_list(path) == ["P18"]


def test_empty_split_loads_as_empty_typed_frame(tmp_path: Path) -> None:
    frame = load_segments(write_segments(tmp_path, []))
    assert len(frame) == 0 and isinstance(frame.index, pd.RangeIndex)


def test_bad_narration_timestamp(tmp_path: Path) -> None:
    path = write_segments(tmp_path, with_cell(0, "narration_timestamp", "0:00:00.560"))
    with pytest.raises(InputError) as error:
        load_segments(path)
    message = assert_names(error, path, 2, "narration_timestamp")
    assert "expected a timestamp HH:MM:SS.fff or nothing, got '0:00:00.560'" in message
