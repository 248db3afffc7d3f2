"""``actionmqa toybench generate`` on a small toy world: every benchmark loads through its adapter,
prompts and scores, and every answer agrees with the world's annotation CSV."""

from __future__ import annotations

import argparse
import json
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from actionmqa.bench import make_adapter
from actionmqa.bench.cli import probe_video
from actionmqa.bench.cli import run as bench_run
from actionmqa.bench.longvideobench import QUESTION_CATEGORIES
from actionmqa.ek100.annotations import load_class_table, load_segments
from actionmqa.io import read_jsonl
from actionmqa.toybench import cli as toybench_cli
from actionmqa.toybench.generate import generate_benchmarks
from actionmqa.toybench.longvideobench import GROUPS
from actionmqa.toybench.videomme import DURATIONS
from actionmqa.toybench.wording import VERBS, action_phrase, noun_name
from actionmqa.toyworld import WorldConfig, generate_world

SEED = 11
EXPECTED = {"egoschema": 150, "perceptiontest": 150, "longvideobench": 156, "videomme": 153, "mvbench": 154}
#: Where each adapter looks for videos when given a video root (its default folder under the root).
VIDEO_DIRS = {
    "egoschema": "videos",
    "perceptiontest": "videos",
    "longvideobench": "videos",
    "videomme": "data",
}
SUBTITLED = {"longvideobench", "videomme"}
VIDEOMME_TASK_TYPES = {
    "Temporal Perception",
    "Spatial Perception",
    "Attribute Perception",
    "Action Recognition",
    "Object Recognition",
    "OCR Problems",
    "Counting Problem",
    "Temporal Reasoning",
    "Spatial Reasoning",
    "Action Reasoning",
    "Object Reasoning",
    "Information Synopsis",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("toybench") / "world"
    generate_world(root, WorldConfig(seed=5, n_train=20, n_val=150, n_participants=4, n_unseen=1))
    return root


@pytest.fixture(scope="module")
def generated(world) -> tuple[Path, dict]:
    out = world.parent / "bench"
    return out, generate_benchmarks(world, out, SEED)


@pytest.fixture(scope="module")
def out(generated) -> Path:
    return generated[0]


def provenance(out: Path, name: str) -> list[dict]:
    return read_jsonl(out / name / "provenance.jsonl")


def load(out: Path, name: str, **settings):
    root = out / name
    return make_adapter(name, **settings).load(root, root / VIDEO_DIRS.get(name, ""))


# -- loading and group fields ---------------------------------------------------------------


@pytest.mark.parametrize("name", EXPECTED)
def test_every_benchmark_loads_through_its_adapter_with_its_videos(out, name):
    questions = load(out, name)
    assert len(questions) == EXPECTED[name]
    assert all(q.answer is not None and q.video.is_file() for q in questions)
    assert [q.id for q in questions] == [p["id"] for p in provenance(out, name)]
    assert len({q.question for q in questions}) > len(questions) / 3
    assert "toy version" in (out / name / "README.md").read_text()


def test_egoschema_has_five_prefixed_options_and_an_unlabelled_full_set(out):
    questions = load(out, "egoschema")
    assert all(len(q.options) == 5 and q.option_labels[4].startswith("E. ") for q in questions)
    # EgoSchema calls the camera wearer "c"; only "Where did the X go?" names no one
    assert all(" c " in q.question or q.question.startswith("Where did the ") for q in questions)
    full = make_adapter("egoschema", full_set=True).load(out / "egoschema")
    assert [q.id for q in full] == [q.id for q in questions] and all(q.answer is None for q in full)


def test_perceptiontest_groups(out):
    questions = load(out, "perceptiontest")
    areas = Counter(q.groups["area"] for q in questions)
    assert set(areas) <= {"Memory", "Abstraction", "Physics", "Semantics"} and len(areas) >= 3
    assert set(q.groups["reasoning"] for q in questions) <= {
        "Descriptive",
        "Explanatory",
        "Predictive",
        "Counterfactual",
    }
    assert all(len(q.options) == 3 for q in questions)
    assert Counter(q.extra["video_id"] for q in questions).most_common(1)[0][1] == 3


def test_longvideobench_groups_and_padding(out):
    questions = load(out, "longvideobench")
    assert Counter(q.groups["duration_group"] for q in questions) == {
        "15": 39,
        "60": 39,
        "600": 39,
        "3600": 39,
    }
    assert {q.groups["question_category"] for q in questions} <= QUESTION_CATEGORIES
    assert {len(q.options) for q in questions} == {4, 5}
    rows = pq.read_table(out / "longvideobench" / "validation-00000-of-00001.parquet").to_pylist()
    four_way = [row for row in rows if row["option4"] == "N/A"]
    assert four_way and all(row["option3"] != "N/A" for row in four_way)


def test_videomme_groups(out):
    questions = load(out, "videomme")
    assert Counter(q.groups["duration"] for q in questions) == {"short": 51, "medium": 51, "long": 51}
    assert {q.groups["task_type"] for q in questions} <= VIDEOMME_TASK_TYPES
    assert {q.groups["domain"] for q in questions} == {"Life Record"}
    assert set(Counter(q.extra["video_id"] for q in questions).values()) == {3}
    assert all(len(q.extra["videoID"]) == 11 for q in questions)


def test_mvbench_tasks_candidates_and_bounds(out):
    questions = load(out, "mvbench")
    tasks = Counter(q.groups["task"] for q in questions)
    assert len(tasks) == 7 and set(tasks.values()) == {22}
    assert {len(q.options) for q in questions} == {2, 3, 4, 5}
    bounded = {q.groups["task"] for q in questions if q.start is not None}
    assert bounded == {"action_sequence", "action_prediction", "object_interaction"}
    for q, p in zip(questions, provenance(out, "mvbench"), strict=True):
        if q.start is not None:
            assert 0 <= q.start < q.end <= p["duration"]


def test_parquet_columns_have_the_hf_dtypes(out):
    def schema(relative: str) -> dict[str, str]:
        return {f.name: str(f.type) for f in pq.read_schema(out / relative)}

    pt = schema("perceptiontest/mc_question_val/validation-00000-of-00001.parquet")
    assert pt["answer_id"] == pt["question_id"] == "string" and pt["options"].startswith("list<")
    lvb = schema("longvideobench/validation-00000-of-00001.parquet")
    assert (lvb["correct_choice"], lvb["duration_group"], lvb["duration"]) == ("int64", "int64", "double")
    vmme = schema("videomme/videomme/test-00000-of-00001.parquet")
    assert len(vmme) == 11 and {t for k, t in vmme.items() if k != "options"} == {"string"}
    mc = pq.read_table(out / "egoschema/MC/test-00000-of-00001.parquet").to_pylist()
    assert {row["answer"] for row in mc} == {None}
    meta = json.loads(
        pq.read_schema(out / "egoschema/Subset/test-00000-of-00001.parquet").metadata[b"huggingface"]
    )
    assert meta["info"]["features"]["option"]["_type"] == "Sequence"


def test_longvideobench_json_twin_loads_the_same_questions(out, tmp_path):
    shutil.copy(out / "longvideobench" / "lvb_val.json", tmp_path / "lvb_val.json")
    from_json = make_adapter("longvideobench").load(tmp_path)
    from_parquet = load(out, "longvideobench")
    assert [(q.id, q.options, q.answer) for q in from_json] == [
        (q.id, q.options, q.answer) for q in from_parquet
    ]


def test_videos_last_as_long_as_their_duration_bucket(out):
    buckets = {**{str(k): v[0] for k, v in GROUPS.items()}, **{k: v[0] for k, v in DURATIONS.items()}}
    for name in ("longvideobench", "videomme"):
        for p in provenance(out, name)[::3]:
            low, high = buckets[p["group"]]
            assert low <= p["duration"] <= high
            meta = probe_video(out / name / p["video"])
            assert (meta.fps, meta.n_frames) == (30.0, round(p["duration"] * 30))


# -- subtitles ---------------------------------------------------------------------------------


def test_videomme_srt_for_some_videos_and_all_long_ones(out):
    questions = load(out, "videomme", subtitles=True)
    with_srt = {q.extra["videoID"]: q.subtitles is not None for q in questions}
    assert 0 < sum(with_srt.values()) < len(with_srt)
    assert all(q.subtitles is not None for q in questions if q.groups["duration"] == "long")
    srt = next((out / "videomme" / "subtitle").glob("*.srt")).read_text()
    assert '<font color="white" size=".72c">' in srt
    adapter = make_adapter("videomme", subtitles=True)
    bare = next(q for q in questions if q.subtitles is None)
    assert "No subtitles available" in adapter.prompt(bare).user


def test_longvideobench_subtitles_use_both_forms_and_an_offset(out):
    forms = set()
    for path in (out / "longvideobench" / "subtitles").glob("*_en.json"):
        forms |= {"timestamp" if "timestamp" in entry else "clock" for entry in json.loads(path.read_text())}
    assert forms == {"timestamp", "clock"}
    questions = load(out, "longvideobench", subtitles=True)
    assert any(q.extra["starting_timestamp_for_subtitles"] > 0 for q in questions)
    for q in questions:
        assert q.subtitles and all(
            -0.01 <= line.start < line.end <= q.duration + 0.01 for line in q.subtitles
        )


# -- the bench CLI: prompts and scores -------------------------------------------------------


@pytest.mark.parametrize("name", EXPECTED)
def test_bench_prompts_writes_one_prompt_per_question(out, tmp_path, name):
    target = tmp_path / "prompts.jsonl"
    flags = ["--subtitles"] if name in SUBTITLED else []
    bench_run(["prompts", "--benchmark", name, "--data", out / name, *flags, "--out", target])
    prompts = read_jsonl(target)
    assert len(prompts) == EXPECTED[name]
    assert all(Path(p["video"]).is_file() for p in prompts)


def score(out: Path, tmp_path: Path, name: str, answers: dict[str, str]) -> dict:
    outputs, summary = tmp_path / f"{name}.jsonl", tmp_path / f"{name}.json"
    outputs.write_text("".join(json.dumps({"id": k, "output": v}) + "\n" for k, v in answers.items()))
    bench_run(
        [
            "score",
            "--benchmark",
            name,
            "--data",
            out / name,
            "--outputs",
            outputs,
            "--mode",
            "strict",
            "--out",
            summary,
        ]
    )
    return json.loads(summary.read_text())


@pytest.mark.parametrize("name", EXPECTED)
def test_oracle_scores_100_and_always_a_scores_near_chance(out, tmp_path, name):
    records = provenance(out, name)
    assert score(out, tmp_path, name, {p["id"]: p["answer"] for p in records})["accuracy"] == 100.0
    constant = score(out, tmp_path, name, {p["id"]: "A" for p in records})["accuracy"]
    questions = load(out, name)
    chance = 100 * sum(1 / len(q.options) for q in questions) / len(questions)
    assert abs(constant - chance) < 20


# -- answers against the world's annotations ---------------------------------------------------


@pytest.fixture(scope="module")
def truth(world) -> dict:
    """The validation CSV and scene colours, read without toybench."""
    annotations = world / "annotations"
    verbs = load_class_table(annotations / "EPIC_100_verb_classes.csv", "verb")
    nouns = load_class_table(annotations / "EPIC_100_noun_classes.csv", "noun")
    rows = load_segments(annotations / "EPIC_100_validation.csv")
    verb_key = dict(zip(verbs["id"], verbs["key"], strict=True))
    noun_key = dict(zip(nouns["id"], nouns["key"], strict=True))
    segments = {
        r.narration_id: (r.video_id, r.start_sec, r.stop_sec, verb_key[r.verb_class], noun_key[r.noun_class])
        for r in rows.itertuples()
    }
    colours = {}
    for record in read_jsonl(world / "scenes.jsonl"):
        if record["split"] == "validation":
            colours[record["narration_id"]] = record["qa"][1]["answer"].removeprefix("It is ").rstrip(".")
    train = set(load_segments(annotations / "EPIC_100_train.csv")["narration_id"])
    return {"segments": segments, "colours": colours, "train": train}


def visible(p: dict, segments: dict) -> list[str]:
    """Narration ids the clip shows (inside its bound), in clip order, from the CSV times alone."""
    shown, offset = [], 0.0
    for piece in p["pieces"]:
        inside = [
            (offset + start - piece["start_sec"], offset + stop - piece["start_sec"], nid)
            for nid, (video, start, stop, _, _) in segments.items()
            if video == piece["video_id"] and piece["start_sec"] <= start and stop <= piece["stop_sec"]
        ]
        shown += sorted(inside)
        offset += piece["stop_sec"] - piece["start_sec"]
    low, high = p["bound"] or (0.0, offset)
    return [nid for start, stop, nid in shown if low <= start and stop <= high]


def check(p: dict, segments: dict, colours: dict) -> None:
    ids = visible(p, segments)
    action = {nid: segments[nid][3:] for nid in ids}
    evidence, answer = p["evidence"], p["answer_text"]
    kind = p["kind"]
    if kind == "first":
        assert evidence == ids[:1] and answer == action_phrase(*action[ids[0]])
    elif kind == "after":
        anchor, following = evidence
        assert ids[ids.index(anchor) + 1] == following
        assert list(action.values()).count(action[anchor]) == 1 and answer == action_phrase(
            *action[following]
        )
    elif kind == "next":
        last, following = evidence
        video, start = segments[last][0], segments[last][1]
        later = sorted((s[1], nid) for nid, s in segments.items() if s[0] == video and s[1] > start)
        assert last == ids[-1] and later[0][1] == following
        assert answer == action_phrase(*segments[following][3:], "base")
    elif kind == "count":
        verb = next(v for v, words in VERBS.items() if p["question"].endswith(f" {words.something}?"))
        assert sorted(evidence) == sorted(nid for nid in ids if action[nid][0] == verb)
        assert int(answer) == len(evidence)
    elif kind == "touched":
        verb = action[evidence[0]][0]
        assert {action[nid][1] for nid in ids if action[nid][0] == verb} == {action[evidence[0]][1]}
        assert answer == f"the {noun_name(action[evidence[0]][1])}"
    elif kind == "exists":
        assert (answer == "yes") == bool(evidence)
    elif kind == "colour":
        assert answer == colours[evidence[0]]
    elif kind in ("direction", "antonym"):
        (nid,) = evidence
        verb, noun = action[nid]
        assert [a[1] for a in action.values()].count(noun) == 1
        if kind == "antonym":
            assert answer == action_phrase(verb, noun)
        else:
            assert answer.endswith("hand") if verb == "take" else answer == "onto the counter"
    else:
        raise AssertionError(f"unchecked kind {kind}")


@pytest.mark.parametrize("name", EXPECTED)
def test_answers_agree_with_the_validation_csv(out, truth, name):
    records = provenance(out, name)
    for p in records:
        check(p, truth["segments"], truth["colours"])
        assert not set(p["evidence"]) & truth["train"]
    assert len({p["kind"] for p in records}) >= (1 if name == "mvbench" else 4)


def test_kinds_cover_order_counting_existence_direction_and_what_next(generated):
    kinds = Counter()
    for written in generated[1].values():
        kinds.update(written.kinds)
    assert set(kinds) == {
        "first",
        "after",
        "next",
        "count",
        "touched",
        "exists",
        "colour",
        "direction",
        "antonym",
    }


# -- determinism -------------------------------------------------------------------------------


def test_rerun_writes_byte_identical_question_files(world, generated, tmp_path):
    parser = argparse.ArgumentParser()
    toybench_cli.register(parser.add_subparsers(dest="stage", required=True))
    args = parser.parse_args(
        [
            "toybench",
            "generate",
            "--world",
            str(world),
            "--seed",
            str(SEED),
            "--out",
            str(tmp_path),
            "--no-videos",
        ]
    )
    args.func(args)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    for name, written in generated[1].items():
        assert manifest["benchmarks"][name]["sha256"] == written.sha256
        assert not list((tmp_path / name).rglob("*.mp4"))
