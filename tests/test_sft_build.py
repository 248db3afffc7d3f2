"""SFT mixture build on a tiny hand-written annotation dir: golden records, determinism, manifest, errors."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from actionmqa.ek100.schema import SPLIT_FILES
from actionmqa.errors import InputError
from actionmqa.io import read_jsonl, sha256_file
from actionmqa.sft.build import BuildRequest, build_sft
from actionmqa.sft.manifest import manifest_path
from actionmqa.sft.mixture import keeps
from actionmqa.sft.records import SFTRecord
from mqa_tiny_world import write_segments
from sft_tiny_world import TRAIN, write_mixture, write_scenes, write_sft_dir, write_train_predictions

SEED = 7
#: Every task; the prior-actions variant on every eligible MQA sample, so its golden is certain.
FULL_MIXTURE = "random_mqa: {fraction: 1.0}\nprior_actions: {fraction: 1.0}\nopen_qa: {pairs_per_clip: 2}\n"

PREFIX = (
    "You are seeing this video from egocentric view and you are the person. "
    "Your hands are sometimes interacting with objects. What action are you doing? "
)
MQA_HEAD = f"<video>\n{PREFIX}Given multiple choices, format your answer briefly such as 'A. move knife'. \n"
OPTIONS_HEADER = "Here are the options of actions you are selecting:\n"
P03_01_0 = {
    "uid": "P03-P03_01_1.00_2.00",
    "narration_id": "P03_01_0",
    "video": "P03-P03_01",
    "participant_id": "P03",
    "video_id": "P03_01",
    "split": "train",
    "dataset_name": "EK100",
    "start_timestamp": 1.0,
    "end_timestamp": 2.0,
    "verb_id": 0,
    "noun_id": 2,
    "action_id": 2,  # "0:2" among the string-sorted actions 0:1, 0:18, 0:2, ...
}


def conversation(human: str, gpt: str) -> list[dict[str, str]]:
    return [{"from": "human", "value": human}, {"from": "gpt", "value": gpt}]


@pytest.fixture()
def world(tmp_path: Path) -> dict[str, Path]:
    ann = write_sft_dir(tmp_path / "ann")
    return {
        "ann": ann,
        "avion": write_train_predictions(ann),
        "scenes": write_scenes(tmp_path / "scenes.jsonl"),
        "mixture": write_mixture(tmp_path / "mixture.yaml", FULL_MIXTURE),
    }


def build(world: dict[str, Path], out: Path, **overrides: Any) -> list[dict[str, Any]]:
    settings: dict[str, Any] = {
        "annotations_dir": world["ann"],
        "mixture_file": world["mixture"],
        "seed": SEED,
        "out": out,
        "predictions": {"avion": world["avion"]},
        "scenes": world["scenes"],
    }
    settings.update(overrides)
    build_sft(BuildRequest(**settings))
    return read_jsonl(out)


def by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {record["id"]: record for record in records}


def test_golden_record_of_each_task(world: dict[str, Path], tmp_path: Path) -> None:
    records = by_id(build(world, tmp_path / "sft.jsonl"))
    # specialist top 10 without the GT (0:2): 0:1 1:2 2:1 2:4 3:3 6:0 0:4 1:1 3:1 -> 4 of them
    assert records["P03-P03_01_1.00_2.00:hard_mqa_avion"] == {
        **P03_01_0,
        "id": "P03-P03_01_1.00_2.00:hard_mqa_avion",
        "task": "hard_mqa_avion",
        "question_type": "mc_GT_random_narration",
        "teacher": None,
        "conversations": conversation(
            f"{MQA_HEAD}{OPTIONS_HEADER}"
            "A. turn tap on, B. open cupboard, C. grab knife, D. pick up plate, E. put plate down",
            "D. pick up plate",
        ),
    }
    assert records["P03-P03_01_1.00_2.00:random_mqa"]["conversations"] == conversation(
        f"{MQA_HEAD}{OPTIONS_HEADER}"
        "A. rinse knife, B. pick up plate, C. open cupboard door, D. grab knife, E. take spoon",
        "B. pick up plate",
    )
    assert records["P03-P03_01_1.00_2.00:direct_narration"] == {
        **P03_01_0,
        "id": "P03-P03_01_1.00_2.00:direct_narration",
        "task": "direct_narration",
        "question_type": "direct_narration",
        "teacher": None,
        "conversations": conversation(
            f"<video>\n{PREFIX} What action are you performing? Give a short sentence such as 'move knife'.",
            "pick up plate",
        ),
    }
    assert records["P03-P03_01_1.00_2.00:caption"] == {
        **P03_01_0,
        "id": "P03-P03_01_1.00_2.00:caption",
        "task": "caption",
        "question_type": "gpt-gt-reason",
        "teacher": "toyworld-scenes",
        "conversations": conversation(
            f"<video>\n{PREFIX} Describe in details what you see from the video frames. "
            "You must talk in the first person perspective. Try to focus on what you are doing. ",
            "I pick up plate with my right hand.",
        ),
    }
    # two of the four scene QA pairs, drawn per clip, each its own record numbered by its position
    assert records["P03-P03_01_1.00_2.00:open_qa:1"] == {
        **P03_01_0,
        "id": "P03-P03_01_1.00_2.00:open_qa:1",
        "task": "open_qa",
        "question_type": "gpt-gt-instruct-reason",
        "teacher": "toyworld-scenes",
        "conversations": conversation("<video>\nWhich hand do I use?", "My right hand."),
    }
    # segment 0.5-2.0 s padded by 3 s in all: the start is clipped at 0, the answer is relative to it
    assert records["P04-P04_02_0.50_2.00:temporal_detection"] == {
        "id": "P04-P04_02_0.50_2.00:temporal_detection",
        "uid": "P04-P04_02_0.50_2.00",
        "narration_id": "P04_02_0",
        "task": "temporal_detection",
        "video": "P04-P04_02",
        "participant_id": "P04",
        "video_id": "P04_02",
        "split": "train",
        "question_type": "temporal_detection",
        "dataset_name": "EK100",
        "start_timestamp": 0.0,
        "end_timestamp": 4.3,
        "verb_id": 6,
        "noun_id": 0,
        "action_id": 8,
        "teacher": None,
        "conversations": conversation(
            "<video>\nThe provided video contains an action 'turn tap on' that lasts 1.5 seconds. "
            "What is the relative start and end time of the action in seconds? "
            "Format it as 'start_timestamp: end_timestamp' and round to 2 decimal places.",
            "0.5: 2.0",
        ),
    }


def test_golden_prior_actions_variant(world: dict[str, Path], tmp_path: Path) -> None:
    """P03_01_4 follows 'open cupboard' (9.0 s, 4 s after its predecessor) and 'rinse knife' (overlap)."""
    records = by_id(build(world, tmp_path / "sft.jsonl"))
    assert records["P03-P03_01_12.00_13.00:hard_mqa_avion"]["conversations"] == conversation(
        f"<video>\n{PREFIX}\n3.0 seconds ago, you started an action open cupboard. "
        "2.5 seconds ago, you started an action rinse knife. What action are you currently performing? "
        "Here are the options of actions you can select:\n"
        "A. turn tap on, B. take spoon, C. grab knife, D. rinse knife, E. pick up plate",
        "B. take spoon",
    )
    prior = {r["narration_id"] for r in records.values() if "seconds ago, you started" in _human(r)}
    assert prior == {"P03_01_4", "P04_02_2", "P04_02_3", "P04_02_4"}
    assert {r["task"] for r in records.values() if "seconds ago" in _human(r)} == {
        "hard_mqa_avion",
        "random_mqa",
    }


def _human(record: dict[str, Any]) -> str:
    return record["conversations"][0]["value"]


def test_every_mqa_answer_is_the_clip_narration_among_distinct_options(
    world: dict[str, Path], tmp_path: Path
) -> None:
    narrations = {segment[0]: segment[3] for segment in TRAIN}
    records = build(world, tmp_path / "sft.jsonl")
    mqa = [r for r in records if r["question_type"] == "mc_GT_random_narration"]
    assert len(mqa) == 20
    for record in mqa:
        options = _human(record).rsplit(":\n", 1)[1].split(", ")
        texts = [option[3:] for option in options]
        assert [option[:3] for option in options] == ["A. ", "B. ", "C. ", "D. ", "E. "]
        assert len(set(texts)) == 5
        assert texts.count(narrations[record["narration_id"]]) == 1
        letter = "ABCDE"[texts.index(narrations[record["narration_id"]])]
        assert record["conversations"][1]["value"] == f"{letter}. {narrations[record['narration_id']]}"
        SFTRecord.model_validate(record)  # the file reads back as records


def test_ids_are_unique_and_shared_timestamps_stay_apart(world: dict[str, Path], tmp_path: Path) -> None:
    records = build(world, tmp_path / "sft.jsonl")
    ids = [record["id"] for record in records]
    assert len(ids) == len(set(ids)) == 70
    shared = sorted({r["id"].split(":")[0] for r in records if r["uid"] == "P04-P04_02_5.00_6.00"})
    assert shared == ["P04-P04_02_5.00_6.00#P04_02_3", "P04-P04_02_5.00_6.00#P04_02_4"]


def test_records_come_in_canonical_order(world: dict[str, Path], tmp_path: Path) -> None:
    records = build(world, tmp_path / "sft.jsonl")
    keys = [(r["video_id"], int(r["narration_id"].rsplit("_", 1)[1]), r["task"]) for r in records]
    assert keys == sorted(keys)
    assert [r["task"] for r in records[:7]] == [
        "caption",
        "direct_narration",
        "hard_mqa_avion",
        "open_qa",
        "open_qa",
        "random_mqa",
        "temporal_detection",
    ]


def test_manifest(world: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "sft.jsonl"
    build(world, out)
    manifest = json.loads(manifest_path(out).read_text())
    assert manifest["output"] == {"file": "sft.jsonl", "sha256": sha256_file(out)}
    assert (manifest["split"], manifest["seed"], manifest["records"]) == ("train", SEED, 70)
    assert manifest["counts"] == {
        "caption": 10,
        "direct_narration": 10,
        "hard_mqa_avion": 10,
        "open_qa": 20,
        "random_mqa": 10,
        "temporal_detection": 10,
    }
    assert manifest["tags"]["hard_mqa_avion"] == {
        "gt_outside_top_2k": 1,  # P04_02_1 ranks its ground truth 12th
        "label_text_no_narration": 8,  # 1:1 "put spoon", 3:1 "open spoon" have no train narration
        "prior_actions": 4,
    }
    assert manifest["tags"]["temporal_detection"] == {"start_clipped_at_0": 1}
    assert manifest["mixture"]["temporal_detection"] == {"fraction": 1.0, "delta_sec": 3.0}
    assert manifest["mixture"]["open_qa"]["pairs_per_clip"] == 2
    assert manifest["time_instruction"] is None
    assert manifest["skipped"] == {}
    assert sorted(manifest["inputs"]) == [
        "mixture",
        "noun_classes",
        "predictions:avion",
        "scenes",
        "train",
        "validation",
        "verb_classes",
    ]
    assert manifest["inputs"]["predictions:avion"] == {
        "file": "avion_pred_ids_train.json",
        "sha256": sha256_file(world["avion"]),
    }
    assert str(tmp_path) not in manifest_path(out).read_text()


def test_rebuild_is_byte_identical_and_independent_of_row_order(
    world: dict[str, Path], tmp_path: Path
) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    build(world, first)
    build(world, second)
    assert first.read_bytes() == second.read_bytes()
    assert manifest_path(first).read_text().replace("a.jsonl", "b.jsonl") == manifest_path(second).read_text()

    shuffled = list(TRAIN)
    random.Random(3).shuffle(shuffled)
    assert shuffled != list(TRAIN)
    write_segments(world["ann"] / SPLIT_FILES["train"], shuffled)
    world["avion"] = write_train_predictions(world["ann"])  # same rankings, new row keys
    third = tmp_path / "c.jsonl"
    build(world, third)
    assert third.read_bytes() == first.read_bytes()


def test_a_second_prediction_source_is_its_own_task(world: dict[str, Path], tmp_path: Path) -> None:
    tim = write_train_predictions(world["ann"], "tim", {nid: 0 for nid in (s[0] for s in TRAIN)})
    records = build(world, tmp_path / "sft.jsonl", predictions={"avion": world["avion"], "tim": tim})
    tasks = [r["task"] for r in records if r["narration_id"] == "P03_01_0"]
    assert tasks.count("hard_mqa_avion") == tasks.count("hard_mqa_tim") == 1
    alone = by_id(build(world, tmp_path / "avion.jsonl"))
    both = by_id(records)
    assert all(both[i] == record for i, record in alone.items())  # adding a source changes nothing else


def test_fractions_select_clips_independently_per_task(world: dict[str, Path], tmp_path: Path) -> None:
    write_mixture(
        world["mixture"],
        "direct_narration: {fraction: 0.5}\ntemporal_detection: {fraction: 0.0}\n"
        "caption: {fraction: 0.0}\nopen_qa: {fraction: 0.0}\n",
    )
    records = build(world, tmp_path / "sft.jsonl")
    direct = [r["narration_id"] for r in records if r["task"] == "direct_narration"]
    expected = [s[0] for s in TRAIN if keeps(0.5, SEED, _key(s[0], s[1], s[2]), "direct_narration")]
    assert direct == expected and 0 < len(direct) < 10
    assert {r["task"] for r in records} == {"hard_mqa_avion", "direct_narration"}
    manifest = json.loads(manifest_path(tmp_path / "sft.jsonl").read_text())
    assert manifest["selected_clips"] == {"direct_narration": len(direct), "hard_mqa_avion": 10}


def _key(narration_id: str, start: float, stop: float) -> str:
    video = narration_id.rsplit("_", 1)[0]
    uid = f"{video.split('_')[0]}-{video}_{start:.2f}_{stop:.2f}"
    return f"{uid}#{narration_id}" if uid == "P04-P04_02_5.00_6.00" else uid


def test_time_instruction_uses_each_records_own_span(world: dict[str, Path], tmp_path: Path) -> None:
    records = by_id(build(world, tmp_path / "sft.jsonl", frames=8))
    assert _human(records["P03-P03_01_1.00_2.00:direct_narration"]).startswith(
        "<video>\nThe provided video lasts for 1.000 seconds, and 8 frames are uniformly sampled from it."
        f"{PREFIX} What action"
    )
    assert _human(records["P04-P04_02_0.50_2.00:temporal_detection"]).startswith(
        "<video>\nThe provided video lasts for 4.300 seconds, and 8 frames are uniformly sampled from it."
        "The provided video contains an action 'turn tap on'"
    )
    manifest = json.loads(manifest_path(tmp_path / "sft.jsonl").read_text())
    assert manifest["time_instruction"] == {"frames": 8}


def test_replay_records_pass_through_at_the_end(world: dict[str, Path], tmp_path: Path) -> None:
    replay = tmp_path / "0_30_s_academic_oe_v0_1_qa_processed.json"
    originals = [
        {
            "id": "v_abc",
            "conversations": conversation("<image>\nWhat is the man holding?", "A red umbrella."),
            "data_source": "0_30_s_academic_v0_1",
            "video": "academic_source/activitynet/v_abc.mp4",
        },
        {
            "id": "v_def",
            "conversations": conversation("<image>\nDescribe the video.", "A dog runs on a beach."),
            "data_source": "0_30_s_academic_v0_1",
            "video": "academic_source/activitynet/v_def.mp4",
        },
    ]
    replay.write_text(json.dumps(originals))
    write_mixture(world["mixture"], f"replay: {{files: [{replay}]}}\n")
    records = build(world, tmp_path / "sft.jsonl")
    no_action = {"verb_id": -1, "noun_id": -1, "action_id": -1}
    assert records[-2:] == [
        {**original, "id": f"replay:{original['id']}", "task": "replay", **no_action}
        for original in originals
    ]
    manifest = json.loads(manifest_path(tmp_path / "sft.jsonl").read_text())
    assert manifest["counts"]["replay"] == 2
    assert manifest["inputs"][f"replay:{replay.as_posix()}"]["sha256"] == sha256_file(replay)


def test_a_base_mixture_replays_into_the_fine_tune_mixture_as_sft_records(
    world: dict[str, Path], tmp_path: Path
) -> None:
    """The toy's replay: the base model's own instruction data (an SFT JSONL), beside captions of
    the same clips, trainable as it is (the training reader validates every record)."""
    write_mixture(world["mixture"], "hard_mqa: {fraction: 0.0}\ndirect_narration: {fraction: 0.0}\n")
    base = build(world, tmp_path / "base.jsonl")
    write_mixture(world["mixture"], f"replay: {{files: ['{tmp_path / 'base.jsonl'}']}}\n")
    records = build(world, tmp_path / "train.jsonl")
    replayed = [record for record in records if record["task"] == "replay"]
    assert replayed == [
        {
            **record,
            "id": f"replay:{record['id']}",
            "task": "replay",
            "verb_id": -1,
            "noun_id": -1,
            "action_id": -1,
        }
        for record in base
    ]
    assert "replay:P03-P03_01_1.00_2.00:caption" in by_id(records)
    assert "P03-P03_01_1.00_2.00:caption" in by_id(records)
    assert [SFTRecord.model_validate(record).id for record in replayed] == [r["id"] for r in replayed]


def test_a_replay_jsonl_line_that_is_not_json_is_refused(world: dict[str, Path], tmp_path: Path) -> None:
    replay = tmp_path / "base.jsonl"
    replay.write_text('{"id": "x", "video": "P01-P01_01", "conversations": []}\n{"id": \n')
    write_mixture(world["mixture"], f"replay: {{files: ['{replay}']}}\n")
    with pytest.raises(InputError, match=r"base\.jsonl, line 2: not valid JSON"):
        build(world, tmp_path / "sft.jsonl")


def test_a_replay_record_without_video_is_refused(world: dict[str, Path], tmp_path: Path) -> None:
    replay = tmp_path / "bad.json"
    replay.write_text(json.dumps([{"id": "x", "conversations": conversation("q", "a")}]))
    write_mixture(world["mixture"], f"replay: {{files: ['{replay}']}}\n")
    with pytest.raises(InputError, match=r"bad\.json.*key 'video': record 0 has no 'video' path"):
        build(world, tmp_path / "sft.jsonl")


def test_predictions_missing_a_row_are_refused(world: dict[str, Path], tmp_path: Path) -> None:
    document = json.loads(world["avion"].read_text())
    del document["3"]
    world["avion"].write_text(json.dumps(document))
    with pytest.raises(InputError, match=r"avion_pred_ids_train\.json: 1 of 10 rows missing \(first: '3'\)"):
        build(world, tmp_path / "sft.jsonl")


def test_predictions_shorter_than_2k_are_refused(world: dict[str, Path], tmp_path: Path) -> None:
    document = json.loads(world["avion"].read_text())
    document["0"]["predictions"] = document["0"]["predictions"][:9]
    world["avion"].write_text(json.dumps(document))
    with pytest.raises(InputError, match=r"key '0': 9 predictions, at least 10 needed"):
        build(world, tmp_path / "sft.jsonl")


def test_scenes_missing_a_selected_clip_is_an_error(world: dict[str, Path], tmp_path: Path) -> None:
    """Policy: a scenes/teacher file covers every clip it was made for, so a gap is a stale file."""
    write_scenes(world["scenes"], skip=["P04_02_1"])
    with pytest.raises(InputError, match=r"scenes\.jsonl, key 'P04_02_1': no caption/QA entry"):
        build(world, tmp_path / "sft.jsonl")
    write_mixture(world["mixture"], "caption: {fraction: 0.0}\nopen_qa: {fraction: 0.0}\n")
    assert len(build(world, tmp_path / "sft.jsonl")) == 30  # without those tasks it is not needed


def test_missing_task_inputs_name_the_mixture_key(world: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"mixture\.yaml, key 'hard_mqa\.fraction': hard MQA needs"):
        build(world, tmp_path / "sft.jsonl", predictions={})
    with pytest.raises(InputError, match=r"key 'caption\.fraction': caption/open_qa need --scenes"):
        build(world, tmp_path / "sft.jsonl", scenes=None)


def test_unknown_mixture_key_is_named(world: dict[str, Path], tmp_path: Path) -> None:
    write_mixture(world["mixture"], "open_qa: {pair_per_clip: 1}\n")
    with pytest.raises(InputError, match=r"mixture\.yaml, key 'open_qa\.pair_per_clip': unknown key"):
        build(world, tmp_path / "sft.jsonl")
