"""``eval api``: the GPT-4o baseline's request (frames, schema, temperature 0) against a loopback
OpenAI-compatible server, upstream scoring, and replies served from the cache on a rerun."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from actionmqa.cli import main
from actionmqa.evaluate.api import run_api
from actionmqa.evaluate.jobs import APIJob, ClipSource
from actionmqa.io import read_jsonl
from actionmqa.prompts import mqa_prompt
from actionmqa.video.synthetic import write_pattern_tree
from loopback_chat import (
    LoopbackChatServer,
    serve,
)
from tiny_llava_world import VIDEOS, mqa_records, write_benchmark

FRAMES = 4
RECORDS = mqa_records(4)  # answers at A, C, E, B
#: What the server's model answers, by question.
REPLIES = {
    RECORDS[0].uid: f"A. {RECORDS[0].answer}",  # right
    RECORDS[1].uid: "C",  # the right letter alone: upstream's text match misses it, strict does not
    RECORDS[2].uid: f"E. {RECORDS[2].answer}. Because the cup is lifted.",  # right, cut at the period
    RECORDS[3].uid: "None. of these",  # upstream's "None" rule: wrong
}
MQA_SCHEMA_NAME = "MultiChoice_Response"


class ChatServer(LoopbackChatServer):
    """Answers each question from ``REPLIES``."""

    def content(self, body: dict[str, Any]) -> str:
        system = body["messages"][0]["content"]
        record = next(r for r in RECORDS if system.endswith(mqa_prompt(r.options)))
        return json.dumps({"answer": REPLIES[record.uid]})


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with serve(ChatServer()) as chat_server:
        yield chat_server


@pytest.fixture
def world(tmp_path: Path, server: ChatServer) -> dict[str, Path]:
    config = tmp_path / "teacher.yaml"
    config.write_text(
        f"base_url: {server.base_url}\nmodel: gpt-4o-mini-2024-07-18\ncache_dir: {tmp_path / 'cache'}\n"
        "api_key_env: null\nmax_concurrency: 2\nmax_retries: 0\n"
    )
    return {
        "config": config,
        "benchmark": write_benchmark(tmp_path / "benchmark.jsonl", RECORDS),
        "videos": write_pattern_tree(tmp_path / "videos", VIDEOS, width=32, height=32).root,
        "out": tmp_path / "out",
    }


def decoded_size(part: dict[str, Any]) -> tuple[str, tuple[int, int]]:
    header, data = part["image_url"]["url"].split(",", 1)
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    return header, image.size


def test_requests_carry_frames_and_schema_and_answers_are_scored_upstream(world, server):
    job = APIJob(
        benchmark=world["benchmark"],
        teacher_config=world["config"],
        clips=ClipSource(world["videos"], "whole", FRAMES),
        summary=world["out"] / "api.json",
        predictions=world["out"] / "api.jsonl",
        batch_size=3,
    )
    summary = run_api(job)
    assert len(server.bodies) == 4
    body = next(
        b for b in server.bodies if b["messages"][0]["content"].endswith(mqa_prompt(RECORDS[0].options))
    )
    system, user = body["messages"]
    assert system == {
        "role": "system",
        "content": "The provided video lasts for 1.000 seconds, and 4 frames are uniformly sampled from it. "
        + mqa_prompt(RECORDS[0].options),
    }
    assert user["role"] == "user" and user["content"][0] == {"type": "text", "text": ""}
    images = user["content"][1:]
    assert [decoded_size(part) for part in images] == [("data:image/jpeg;base64", (32, 32))] * FRAMES
    assert body["temperature"] == 0.0 and body["model"] == "gpt-4o-mini-2024-07-18"
    assert body["response_format"]["json_schema"]["name"] == MQA_SCHEMA_NAME
    assert body["response_format"]["json_schema"]["strict"] is True

    assert summary["n"] == 4
    assert (summary["accuracy"], summary["unit"]) == (50.0, "percent")
    assert summary["accuracy_strict"] == 75.0
    assert (summary["accuracy_likelihood"], summary["unparsed"]) == (None, 2)
    assert (summary["api_model"], summary["temperature"], summary["frames"]) == (
        "gpt-4o-mini-2024-07-18",
        0.0,
        FRAMES,
    )
    rows = read_jsonl(job.predictions)
    assert [row["uid"] for row in rows] == [r.uid for r in RECORDS]
    assert [row["raw_output"] for row in rows] == [REPLIES[r.uid] for r in RECORDS]
    assert rows[2]["parsed_answer"] == RECORDS[2].answer
    assert rows[3]["parsed_answer"] == "of these"


class CommaServer(ChatServer):
    """The right option's text with a trailing comma, for every question."""

    def content(self, body: dict[str, Any]) -> str:
        system = body["messages"][0]["content"]
        record = next(r for r in RECORDS if system.endswith(mqa_prompt(r.options)))
        return json.dumps({"answer": f"{'ABCDE'[record.answer_index]}. {record.answer},"})


def test_gpt_answers_are_read_without_stripping_trailing_commas(world, tmp_path):
    """Upstream's GPT path (GPTInferenceAnnotator.run) calls process_raw_pred alone, unlike its LLaVA path."""
    with serve(CommaServer()) as comma_server:
        config = tmp_path / "comma.yaml"
        config.write_text(
            f"base_url: {comma_server.base_url}\nmodel: gpt-4o-mini-2024-07-18\n"
            f"cache_dir: {tmp_path / 'comma-cache'}\napi_key_env: null\nmax_retries: 0\n"
        )
        job = APIJob(
            benchmark=world["benchmark"],
            teacher_config=config,
            clips=ClipSource(world["videos"], "whole", FRAMES),
            summary=tmp_path / "comma.json",
            predictions=tmp_path / "comma.jsonl",
            batch_size=4,
        )
        run_api(job)
    rows = read_jsonl(job.predictions)
    assert [row["parsed_answer"] for row in rows] == [f"{r.answer}," for r in RECORDS]
    assert not any(row["correct"] for row in rows) and all(row["correct_strict"] for row in rows)


def test_a_rerun_is_answered_from_the_cache(world, server):
    argv = [
        *("eval", "api", "--benchmark", str(world["benchmark"]), "--teacher-config", str(world["config"])),
        *("--video-root", str(world["videos"]), "--layout", "whole", "--frames", str(FRAMES)),
        *("--summary", str(world["out"] / "1.json"), "--predictions", str(world["out"] / "1.jsonl")),
    ]
    assert main(argv) == 0
    assert len(server.bodies) == 4
    again = [
        *argv[:-4],
        "--summary",
        str(world["out"] / "2.json"),
        "--predictions",
        str(world["out"] / "2.jsonl"),
    ]
    assert main(again) == 0
    assert len(server.bodies) == 4  # nothing new was asked
    assert (world["out"] / "1.jsonl").read_text() == (world["out"] / "2.jsonl").read_text()
    assert json.loads((world["out"] / "2.json").read_text())["accuracy"] == 50.0
    cached = list((world["out"].parent / "cache").rglob("*.json"))
    assert len(cached) == 4


def api_args(world: dict[str, Path], config: Path) -> list[str]:
    return [
        *("eval", "api", "--benchmark", str(world["benchmark"]), "--teacher-config", str(config)),
        *("--video-root", str(world["videos"]), "--layout", "whole", "--frames", str(FRAMES)),
        *("--batch-size", "1"),
    ]


def shard_parts(args: list[str], out: Path, shards: int) -> list[Path]:
    parts = [out / f"part.{shard}-of-{shards}.jsonl" for shard in range(shards)]
    for shard, part in enumerate(parts):
        assert main([*args, "--shard", str(shard), "--shards", str(shards), "--part", str(part)]) == 0
    return parts


def test_shards_of_an_api_evaluation_gather_into_the_whole_run_byte_for_byte(world, server):
    """The shared runner's sharding: each shard asks only its questions; gathered = one job."""
    args, out = api_args(world, world["config"]), world["out"]
    assert main([*args, "--summary", str(out / "whole.json"), "--predictions", str(out / "whole.jsonl")]) == 0
    asked_whole = len(server.bodies)
    parts = shard_parts(args, out / "shards", 3)
    assert len(server.bodies) == asked_whole  # every shard's replies came from the cache
    gathered = ["--summary", str(out / "gathered.json"), "--predictions", str(out / "gathered.jsonl")]
    assert main(["eval", "gather", "--parts", *map(str, parts), *gathered]) == 0
    for suffix in ("json", "jsonl"):
        assert (out / f"gathered.{suffix}").read_bytes() == (out / f"whole.{suffix}").read_bytes()
    assert json.loads((out / "gathered.json").read_text())["accuracy"] == 50.0
    assert not list(out.rglob("*.progress.jsonl"))


def test_gather_refuses_shards_answered_by_another_api_model(world, server, capsys):
    """The endpoint's model is the fingerprint's model part, as a model folder's stamp is: a
    config edited between two shards (same path, same settings) cannot be gathered."""
    config, out = world["config"], world["out"]
    args = api_args(world, config)
    first = out / "part.0-of-2.jsonl"
    assert main([*args, "--shard", "0", "--shards", "2", "--part", str(first)]) == 0
    config.write_text(config.read_text().replace("gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06"))
    second = out / "part.1-of-2.jsonl"
    assert main([*args, "--shard", "1", "--shards", "2", "--part", str(second)]) == 0
    assert [body["model"] for body in server.bodies] == ["gpt-4o-mini-2024-07-18"] * 2 + [
        "gpt-4o-2024-08-06"
    ] * 2
    gathered = ["--summary", str(out / "s.json"), "--predictions", str(out / "p.jsonl")]
    assert main(["eval", "gather", "--parts", str(first), str(second), *gathered]) == 2
    assert f"{second}: was answered by another model than {first}" in capsys.readouterr().err
