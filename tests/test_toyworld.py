"""The toy world: EK100 formats, determinism, and the properties the demo relies on."""

from __future__ import annotations

import ast
import csv
import json
import re
import shutil
from collections import Counter, defaultdict
from itertools import islice
from pathlib import Path

import av
import numpy as np
import pytest

from actionmqa.cli import main as cli_main
from actionmqa.ek100 import schema
from actionmqa.ek100.timestamps import nominal_frames, parse_timestamp
from actionmqa.errors import InputError
from actionmqa.io import sha256_file
from actionmqa.seeding import rng_for
from actionmqa.toyworld import WorldConfig, generate_world, vocab
from actionmqa.toyworld.colour import i420_to_rgb
from actionmqa.toyworld.motion import draw_segment_params
from actionmqa.toyworld.render import render_action, render_video
from actionmqa.toyworld.scenery import ParticipantLook, background_image
from actionmqa.toyworld.script import WorldPlan, plan_world

SMALL = WorldConfig(seed=3, n_train=40, n_val=10)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate_world(out, SMALL)
    return out


@pytest.fixture(scope="module")
def default_plan() -> WorldPlan:
    """The default-size world's script (no pixels): cheap to make, and what the demo runs on."""
    return plan_world(WorldConfig())


@pytest.fixture(scope="module")
def same_seed_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Regenerated with two worker processes: the output must not depend on them."""
    out = tmp_path_factory.mktemp("again")
    generate_world(out, SMALL, workers=2)
    return out


@pytest.fixture(scope="module")
def other_seed_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Made through the CLI, as the workflow's rule makes it."""
    out = tmp_path_factory.mktemp("other")
    argv = ["toyworld", "generate", "--out", str(out), "--seed", "4", "--n-train", "40", "--n-val", "10"]
    assert cli_main(argv) == 0
    return out


def read_rows(world: Path, split: str) -> list[dict[str, str]]:
    with open(world / "annotations" / schema.SPLIT_FILES[split], newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def all_rows(world: Path) -> list[dict[str, str]]:
    return read_rows(world, "train") + read_rows(world, "validation")


def decode(path: Path, pixel_format: str = "rgb24", limit: int | None = None) -> np.ndarray:
    with av.open(str(path)) as container:
        frames = islice(container.decode(video=0), limit)
        return np.stack([frame.to_ndarray(format=pixel_format) for frame in frames])


def video_file(world: Path, video_id: str) -> Path:
    return world / "videos" / video_id.split("_")[0] / "videos" / f"{video_id}.MP4"


# -- annotation formats ------------------------------------------------------------------------


@pytest.mark.parametrize("split", ["train", "validation"])
def test_split_files_have_the_exact_15_column_header(world: Path, split: str) -> None:
    first_line = (world / "annotations" / schema.SPLIT_FILES[split]).read_text().splitlines()[0]
    assert first_line == ",".join(schema.SEGMENT_COLUMNS)
    assert len(first_line.split(",")) == 15


def test_timestamps_parse_and_stop_follows_start(world: Path) -> None:
    for row in all_rows(world):
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d\d", row["start_timestamp"])
        assert parse_timestamp(row["stop_timestamp"]) > parse_timestamp(row["start_timestamp"])
        if row["narration_timestamp"]:
            assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d\d\d", row["narration_timestamp"])
            parse_timestamp(row["narration_timestamp"])


def test_frame_numbers_follow_the_nominal_60_fps_rule(world: Path) -> None:
    for row in all_rows(world):
        assert re.fullmatch(r"P\d\d_\d\d", row["video_id"])  # EK-55 style: nominal 60 fps
        expected = nominal_frames(
            row["video_id"], parse_timestamp(row["start_timestamp"]), parse_timestamp(row["stop_timestamp"])
        )
        assert (int(row["start_frame"]), int(row["stop_frame"])) == expected


@pytest.mark.parametrize("split", ["train", "validation"])
def test_rows_are_sorted_by_narration_id_as_strings(world: Path, split: str) -> None:
    ids = [row["narration_id"] for row in read_rows(world, split)]
    assert ids == sorted(ids)
    for row in read_rows(world, split):
        assert row["narration_id"].startswith(row["video_id"] + "_")
        assert row["video_id"].startswith(row["participant_id"] + "_")


def test_label_columns_use_list_literals_and_hyphenated_verbs(world: Path) -> None:
    rows = all_rows(world)
    for row in rows:
        nouns, classes = ast.literal_eval(row["all_nouns"]), ast.literal_eval(row["all_noun_classes"])
        assert nouns[0] == row["noun"] and classes[0] == int(row["noun_class"])
        assert len(nouns) == len(classes)
        assert " " not in row["verb"]
    assert any(row["verb"] in ("put-down", "turn-on", "turn-off", "pick-up") for row in rows)


def test_class_files_list_the_used_classes_with_crlf_like_ek100(world: Path) -> None:
    for name, used, table in (
        (schema.VERB_CLASSES_FILE, vocab.used_verb_ids(), vocab.VERBS),
        (schema.NOUN_CLASSES_FILE, vocab.used_noun_ids(), vocab.NOUNS),
    ):
        raw = (world / "annotations" / name).read_bytes()
        assert raw.startswith(b"id,key,instances,category\r\n") and not raw.endswith(b"\n")
        rows = list(csv.DictReader(raw.decode().splitlines()))
        assert [int(r["id"]) for r in rows] == used
        assert all(r["key"] == table[int(r["id"])].key for r in rows)
        assert all(isinstance(ast.literal_eval(r["instances"]), list) for r in rows)


def test_class_ids_keys_and_forms_are_the_real_ek100_ones(world: Path, real_ek100_dir: Path) -> None:
    for name in (schema.VERB_CLASSES_FILE, schema.NOUN_CLASSES_FILE):
        with open(real_ek100_dir / name, newline="", encoding="utf-8") as handle:
            real = {int(r["id"]): r for r in csv.DictReader(handle)}
        with open(world / "annotations" / name, newline="", encoding="utf-8") as handle:
            ours = list(csv.DictReader(handle))
        for row in ours:
            truth = real[int(row["id"])]
            assert (row["key"], row["category"]) == (truth["key"], truth["category"])
            assert set(ast.literal_eval(row["instances"])) <= set(ast.literal_eval(truth["instances"]))


def test_video_info_and_unseen_files(world: Path) -> None:
    with open(world / "annotations" / schema.VIDEO_INFO_FILE, newline="") as handle:
        info = {r["video_id"]: r for r in csv.DictReader(handle)}
    assert set(info) == {row["video_id"] for row in all_rows(world)}
    first = sorted(info)[0]
    n_frames = len(decode(video_file(world, first)))
    assert float(info[first]["duration"]) == pytest.approx(n_frames / 30)
    assert info[first]["fps"] == "30.0" and info[first]["resolution"] == "64x64"
    unseen = (world / "annotations" / schema.UNSEEN_VAL_FILE).read_text().split()
    assert unseen[0] == "participant_id" and len(unseen) == 1 + SMALL.n_unseen


def test_unseen_participants_appear_only_in_validation(world: Path) -> None:
    unseen = set((world / "annotations" / schema.UNSEEN_VAL_FILE).read_text().split()[1:])
    train = {row["participant_id"] for row in read_rows(world, "train")}
    validation = {row["participant_id"] for row in read_rows(world, "validation")}
    assert unseen and unseen <= validation and not unseen & train
    assert validation - unseen, "validation also holds seen participants"


def test_csvs_load_through_the_ek100_loaders(world: Path) -> None:
    from actionmqa.ek100.annotations import load_annotation_dir

    loaded = load_annotation_dir(world / "annotations")
    assert len(loaded.split("train")) == SMALL.n_train and len(loaded.split("validation")) == SMALL.n_val
    assert loaded.unseen_participants and loaded.tail_verbs and loaded.tail_nouns
    assert loaded.split("train")["vn"].str.fullmatch(r"\d+:\d+").all()


# -- the world's structure -----------------------------------------------------------------------


def test_consecutive_segments_with_short_gaps_exist(world: Path) -> None:
    """The prior-actions task needs triples whose two gaps are each at most 3 s."""
    by_video = defaultdict(list)
    for row in all_rows(world):
        by_video[row["video_id"]].append(
            (parse_timestamp(row["start_timestamp"]), parse_timestamp(row["stop_timestamp"]))
        )
    triples, long_gaps = 0, 0
    for spans in by_video.values():
        spans.sort(key=lambda span: span[1])
        gaps = [b[0] - a[1] for a, b in zip(spans, spans[1:], strict=False)]
        triples += sum(g1 <= 3 and g2 <= 3 for g1, g2 in zip(gaps, gaps[1:], strict=False))
        long_gaps += sum(g > 3 for g in gaps)
        assert all(g > 0 for g in gaps), "segments never overlap"
    assert triples >= 10 and long_gaps >= 1


def test_default_world_has_a_long_tail_and_confusable_classes(default_plan: WorldPlan) -> None:
    plan = default_plan
    train = Counter(s.action.vn for s in plan.segments("train"))
    counts = sorted(train[a.vn] for a in vocab.ACTIONS)
    assert 25 <= len(vocab.ACTIONS) <= 40
    assert counts[-1] >= 10 * counts[0] and counts[0] >= 3
    assert sum(counts[: len(counts) // 2]) < 0.25 * sum(counts)
    multi_noun = sum(len(s.all_noun_classes) > 1 for s in plan.segments())
    assert 0 < multi_noun < 0.3 * (WorldConfig().n_train + WorldConfig().n_val)
    mirrored = [a for a in vocab.ACTIONS if vocab.mirror_partner(a) is not None]
    assert len(mirrored) >= 20


def test_default_world_narrations_vary_around_the_class(default_plan: WorldPlan) -> None:
    take_cup = {
        s.wording.narration for s in default_plan.segments() if s.action.vn == f"{vocab.TAKE}:{vocab.CUP}"
    }
    assert len(take_cup) >= 4
    assert {"take mug", "pick up mug"} & take_cup


def test_vocabulary_is_consistent() -> None:
    for action in vocab.ACTIONS:
        has_slot = any("{other}" in form.words for form in vocab.VERBS[action.verb].forms)
        assert has_slot == (action.other is not None), action
        assert action.noun in vocab.NOUNS and action.verb in vocab.VERBS
        if action.verb in vocab.MIRROR_OF or action.verb in vocab.MIRROR_OF.values():
            assert vocab.mirror_partner(action) is not None, action
    assert len({a.vn for a in vocab.ACTIONS}) == len(vocab.ACTIONS)


@pytest.mark.parametrize(
    ("forward", "mirrored", "noun"),
    [
        (vocab.TAKE, vocab.PUT, vocab.CUP),
        (vocab.OPEN, vocab.CLOSE, vocab.FRIDGE),
        (vocab.OPEN, vocab.CLOSE, vocab.JAR),
        (vocab.TURN_ON, vocab.TURN_OFF, vocab.TAP),
    ],
)
def test_mirror_verbs_render_as_exact_time_reverses(forward: int, mirrored: int, noun: int) -> None:
    look = ParticipantLook((170.0, 160.0, 150.0), 0.2, 6.0, 0.5, (0.0, 0.0, 0.0))
    background = background_image(look, (), 64)
    params = draw_segment_params(rng_for(0, "mirror-test", noun))
    frames_forward = render_action(vocab.Action(forward, noun, 1), params, 45, 30, background, look)
    frames_mirrored = render_action(vocab.Action(mirrored, noun, 1), params, 45, 30, background, look)
    np.testing.assert_array_equal(frames_mirrored, frames_forward[::-1])
    assert not np.array_equal(frames_forward, frames_forward[::-1]), "the clip itself is not a palindrome"
    assert np.abs(frames_forward[0].astype(int) - frames_forward[-1]).max() > 50, "the state visibly changes"


def test_look_alike_nouns_render_differently_in_the_same_scene() -> None:
    look = ParticipantLook((170.0, 160.0, 150.0), 0.2, 6.0, 0.5, (0.0, 0.0, 0.0))
    background = background_image(look, (), 64)
    params = draw_segment_params(rng_for(0, "look-alike-test"))
    for a, b in ((vocab.CUP, vocab.GLASS), (vocab.KNIFE, vocab.SPOON), (vocab.SPOON, vocab.FORK)):
        first = i420_to_rgb(render_action(vocab.Action(vocab.TAKE, a, 1), params, 30, 30, background, look))
        second = i420_to_rgb(render_action(vocab.Action(vocab.TAKE, b, 1), params, 30, 30, background, look))
        differing = np.abs(first.astype(int) - second).max(axis=-1) > 20
        assert 0 < differing.mean() < 0.05, "a small but visible cue"


# -- determinism and outputs -----------------------------------------------------------------------


def test_same_seed_gives_byte_identical_tables_and_identical_frames(
    world: Path, same_seed_world: Path
) -> None:
    for name in [
        *schema.SPLIT_FILES.values(),
        schema.VERB_CLASSES_FILE,
        schema.NOUN_CLASSES_FILE,
        schema.VIDEO_INFO_FILE,
        schema.TAIL_VERBS_FILE,
        schema.TAIL_NOUNS_FILE,
    ]:
        assert (world / "annotations" / name).read_bytes() == (
            same_seed_world / "annotations" / name
        ).read_bytes()
    assert (world / "scenes.jsonl").read_bytes() == (same_seed_world / "scenes.jsonl").read_bytes()
    assert (world / "manifest.json").read_bytes() == (same_seed_world / "manifest.json").read_bytes()
    for path in sorted((world / "videos").rglob("*.MP4")):
        twin = same_seed_world / path.relative_to(world)
        # The decoder's own planes: no colour conversion between the file and the comparison.
        np.testing.assert_array_equal(decode(path, "yuv420p"), decode(twin, "yuv420p"))


def test_another_seed_gives_another_world(world: Path, other_seed_world: Path) -> None:
    train = schema.SPLIT_FILES["train"]
    assert (world / "annotations" / train).read_bytes() != (
        other_seed_world / "annotations" / train
    ).read_bytes()
    ours, theirs = (
        sorted((world / "videos").rglob("*.MP4")),
        sorted((other_seed_world / "videos").rglob("*.MP4")),
    )
    first, second = decode(ours[0]), decode(theirs[0])
    assert first.shape != second.shape or not np.array_equal(first, second)


def test_videos_are_h264_in_the_official_layout(world: Path) -> None:
    for video_id in {row["video_id"] for row in all_rows(world)}:
        path = video_file(world, video_id)
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            assert stream.codec_context.pix_fmt == "yuv420p"
            assert (stream.width, stream.height) == (64, 64) and stream.average_rate == 30


def test_regenerating_replaces_the_previous_worlds_videos(world: Path, tmp_path: Path) -> None:
    """A world written over another keeps none of the other's videos (P99 stands for one it lacks)."""
    out = tmp_path / "world"
    shutil.copytree(world, out)
    stale = out / "videos" / "P99" / "videos" / "P99_01.MP4"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left by an earlier world")
    generate_world(out, WorldConfig(seed=3, n_train=20, n_val=5))
    videos = sorted(p.relative_to(out / "videos") for p in (out / "videos").rglob("*.MP4"))
    expected = sorted(
        video_file(out, v).relative_to(out / "videos") for v in {r["video_id"] for r in all_rows(out)}
    )
    assert videos == expected
    assert not stale.exists()


def test_decoded_frames_match_the_rendered_colours(world: Path) -> None:
    """Decoders read the files as BT.601 limited range, the colour space the renderer paints in."""
    plan = plan_world(SMALL)
    video = plan.videos[0]
    blocks = islice(render_video(video, plan.participant(video.participant_id).look, 64, 30, SMALL.seed), 8)
    rendered = i420_to_rgb(np.concatenate(list(blocks)))
    decoded = decode(video_file(world, video.video_id), limit=len(rendered))
    error = np.abs(decoded.astype(int) - rendered)
    assert error.mean() < 2.5 and np.percentile(error, 99) < 12


def test_scene_records_describe_each_segment(world: Path) -> None:
    lines = (world / "scenes.jsonl").read_text().splitlines()
    records = {r["narration_id"]: r for r in map(json.loads, lines)}
    rows = {row["narration_id"]: row for row in all_rows(world)}
    assert set(records) == set(rows)
    for narration_id, record in records.items():
        row = rows[narration_id]
        assert record["start_sec"] == pytest.approx(parse_timestamp(row["start_timestamp"]))
        assert record["verb_class"] == int(row["verb_class"]) and record["noun_class"] == int(
            row["noun_class"]
        )
        assert record["description"].startswith("I ") and len(record["qa"]) >= 3
        assert "GPT-4o" in record["source"]
    hands = Counter(r["qa"][2]["answer"] for r in records.values())
    assert set(hands) == {"My right hand.", "My left hand."}


def test_manifest_records_config_counts_and_table_hashes(world: Path) -> None:
    manifest = json.loads((world / "manifest.json").read_text())
    assert manifest["seed"] == SMALL.seed and manifest["config"]["n_train"] == SMALL.n_train
    assert manifest["counts"]["train_segments"] == 40 and manifest["counts"]["validation_segments"] == 10
    assert len(manifest["sha256"]) == 9
    for relative, digest in manifest["sha256"].items():
        assert sha256_file(world / relative) == digest


@pytest.mark.parametrize("bad", [{"size": 63}, {"n_val": 1}, {"n_unseen": 12}, {"fps": 0}])
def test_config_rejects_impossible_worlds(bad: dict[str, int]) -> None:
    with pytest.raises(InputError, match="invalid toy world config"):
        WorldConfig(**bad)
