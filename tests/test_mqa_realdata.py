"""EK100-MQA with random distractors on the real validation CSV (skipped without ../shared)."""

from __future__ import annotations

from pathlib import Path

import pytest

from actionmqa.io import read_jsonl
from actionmqa.mqa.benchmark import build_benchmark
from actionmqa.mqa.builder import BuildConfig
from actionmqa.mqa.distractors import DistractorKind
from actionmqa.mqa.manifest import manifest_path
from actionmqa.mqa.options import TextMode
from actionmqa.mqa.records import read_benchmark

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

CONFIG = BuildConfig(DistractorKind.RANDOM, TextMode.NARRATION, seed=0, distractor_source="random")


@pytest.fixture(scope="module")
def built(real_ek100_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("mqa_real") / "random.jsonl"
    return out, build_benchmark(real_ek100_dir, CONFIG, out)


def test_one_valid_question_per_validation_segment(built: tuple[Path, dict]) -> None:
    out, manifest = built
    records = read_benchmark(out)  # validates: answer is the GT class, texts and classes distinct
    assert len(records) == manifest["records"] == 9668
    assert len({record.uid for record in records}) == 9668
    assert all(len(record.options) == 5 and record.answer == record.narration for record in records)
    assert manifest["label_space_actions"] == 1352  # val-only label space (spec/benchmarks.md §3.2)
    assert manifest["narration_pool"] == {"split": "validation", "disjoint_from_benchmark": False}
    assert [r["narration_id"] for r in read_jsonl(out)[:3]] == ["P01_11_0", "P01_11_1", "P01_11_2"]


def test_answer_positions_are_near_uniform(built: tuple[Path, dict]) -> None:
    _, manifest = built
    counts = manifest["answer_position_counts"]
    assert sum(counts) == 9668
    assert all(0.18 < count / 9668 < 0.22 for count in counts), counts


def test_rebuild_is_byte_identical(built: tuple[Path, dict], real_ek100_dir: Path, tmp_path: Path) -> None:
    out, _ = built
    again = tmp_path / "random.jsonl"
    build_benchmark(real_ek100_dir, CONFIG, again)
    assert again.read_bytes() == out.read_bytes()
    assert manifest_path(again).read_bytes() == manifest_path(out).read_bytes()
