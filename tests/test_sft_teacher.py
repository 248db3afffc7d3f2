"""The teacher path of the SFT mixture against a real /chat/completions server on 127.0.0.1.

The server plays GPT-4o: it captions what the system prompt names as the ground truth, disagrees
with the annotation "grab knife", and turns each caption into three QA pairs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from actionmqa.cli import main
from actionmqa.errors import InputError
from actionmqa.io import read_jsonl
from actionmqa.sft.build import BuildRequest, build_sft
from actionmqa.sft.manifest import manifest_path
from actionmqa.sft.segments import Segment
from actionmqa.sft.teacher_prompts import caption_system_prompt, qa_expansion_system_prompt
from actionmqa.sft.teacher_run import TeachRequest, teach, teacher_lines
from actionmqa.teacher import TeacherClient, TeacherConfig, TeacherError
from actionmqa.video.synthetic import write_pattern_tree
from loopback_chat import (
    LoopbackChatServer,
    Reply,
    serve,
)
from sft_tiny_world import TRAIN, write_mixture, write_sft_dir

MODEL = "gpt-4o-2024-08-06"
DISAGREED = "grab knife"
_GROUND_TRUTH = re.compile(r"The ground-truth action is (.*)\.\n")


def _content(body: dict[str, Any]) -> str:
    system = body["messages"][0]["content"]
    schema = body["response_format"]["json_schema"]["name"]
    if schema == "GT_Augmentation_Response":
        narration = _GROUND_TRUTH.search(system).group(1)
        return json.dumps(
            {
                "answer_with_reasoning": f"I reach out and {narration}.",
                "disagree_with_human_annotation": narration == DISAGREED,
            }
        )
    caption = system.splitlines()[1]
    return json.dumps(
        {
            "first_question": "What do I do?",
            "first_answer": caption,
            "second_question": "Which hand do I use?",
            "second_answer": "My right hand.",
            "third_question": "Where am I?",
            "third_answer": "In a kitchen.",
        }
    )


class TeacherServer(LoopbackChatServer):
    def content(self, body: dict[str, Any]) -> str:
        return _content(body)

    def requests_for(self, schema: str) -> list[dict[str, Any]]:
        return [b for b in self.bodies if b["response_format"]["json_schema"]["name"] == schema]


@pytest.fixture
def server() -> Iterator[TeacherServer]:
    with serve(TeacherServer()) as teacher_server:
        yield teacher_server


def config(server: TeacherServer, cache_dir: Path) -> TeacherConfig:
    return TeacherConfig(
        base_url=server.base_url, model=MODEL, cache_dir=cache_dir, api_key_env=None, max_concurrency=2
    )


def segments() -> list[Segment]:
    """The five P03_01 train segments, as the build would read them."""
    rows = []
    for row, (narration_id, start, stop, narration, _, verb, _, noun) in enumerate(TRAIN[:5]):
        uid = f"P03-P03_01_{start:.2f}_{stop:.2f}"
        rows.append(
            Segment(
                row,
                uid,
                uid,
                narration_id,
                "P03",
                "P03_01",
                start,
                stop,
                narration,
                f"{verb}:{noun}",
                verb,
                noun,
            )
        )
    return rows


# -- prompts -----------------------------------------------------------------------------------


def test_caption_prompt_golden() -> None:
    assert caption_system_prompt("open fridge", 1.23) == (
        "You are seeing video frames from an egocentric view, and you are the person in them. "
        "Describe the frames in detail and reason about the action you are performing. You are given "
        "the human-annotated ground-truth action, but come to your own conclusion independently.\n"
        'If you disagree with the human annotation, set "disagree_with_human_annotation" to true and give '
        "your reasoning without mentioning the ground-truth action, so that the reasoning stays clean. "
        'If you agree, set "disagree_with_human_annotation" to false and give your reasoning, again '
        "without referring to the ground truth.\n\n"
        "The ground-truth action is open fridge.\n"
        "Support the action with evidence in your reasoning: the duration of the video, the sequence of "
        "actions you perform, the objects you interact with, and the overall context of the video.\n"
        "As a guideline, reason in detail for videos longer than 3 seconds, and more briefly for "
        "shorter ones.\n"
        "The video lasts 1.230 seconds.\n"
        "Reason in the first person.\n"
    )


def test_qa_expansion_prompt_golden() -> None:
    assert qa_expansion_system_prompt("I open the fridge.") == (
        "Create 3 question-answer pairs from the text below, a first-person narrative of video frames "
        "seen from the egocentric view of a person interacting with objects in a kitchen.\n"
        "I open the fridge.\n"
        "Questions could be, for example:\n"
        "What object am I interacting with?\n"
        "What objects are visible in the video?\n"
        "What is the sequence of the atomic actions I am performing?\n\n"
        "Every question must be answerable from the text alone: do not ask about anything that needs "
        "context or information the text does not give.\n"
    )


# -- teacher lines with injected frames --------------------------------------------------------


def red_frames(batch: Sequence[Segment]) -> dict[str, list[np.ndarray]]:
    frame = np.zeros((8, 8, 3), dtype=np.uint8)
    frame[..., 0] = 255
    return {segment.key: [frame] * 4 for segment in batch}


def test_teacher_lines_caption_then_expand_agreed_captions(server: TeacherServer, tmp_path: Path) -> None:
    clips = segments()
    client = TeacherClient(config(server, tmp_path / "cache"))
    lines = list(teacher_lines(clips, client, MODEL, red_frames, batch_size=2))
    assert [line.narration_id for line in lines] == [clip.narration_id for clip in clips]
    assert lines[0].model_dump(mode="json") == {
        "narration_id": "P03_01_0",
        "uid": "P03-P03_01_1.00_2.00",
        "video_id": "P03_01",
        "teacher": MODEL,
        "caption": "I reach out and pick up plate.",
        "disagree_with_human_annotation": False,
        "qa": [
            {"question": "What do I do?", "answer": "I reach out and pick up plate."},
            {"question": "Which hand do I use?", "answer": "My right hand."},
            {"question": "Where am I?", "answer": "In a kitchen."},
        ],
        "failure": None,
    }
    captions = server.requests_for("GT_Augmentation_Response")
    assert len(captions) == 5
    caption_of_first = next(b for b in captions if "pick up plate" in b["messages"][0]["content"])
    assert caption_of_first["messages"][0] == {
        "role": "system",
        "content": caption_system_prompt("pick up plate", 1.0),
    }
    user = caption_of_first["messages"][1]["content"]
    assert user[0] == {"type": "text", "text": ""}  # upstream's empty text part, then the frames
    assert [part["type"] for part in user[1:]] == ["image_url"] * 4
    expansions = server.requests_for("ExpandReasonMCResponse")
    assert len(expansions) == 5
    assert {b["messages"][1]["content"] for b in expansions} == {""}  # text only
    assert expansions[0]["messages"][0]["content"].startswith("Create 3 question-answer pairs")


# -- the verb end to end, then the build from its file ------------------------------------------


@pytest.fixture
def taught(server: TeacherServer, tmp_path: Path) -> dict[str, Path]:
    ann = write_sft_dir(tmp_path / "ann")
    videos = tmp_path / "videos"
    write_pattern_tree(videos, {("P03", "P03_01"): 14 * 30, ("P04", "P04_02"): 7 * 30}, fps=30)
    teacher_config = tmp_path / "teacher.yaml"
    teacher_config.write_text(
        f"base_url: {server.base_url}\nmodel: {MODEL}\ncache_dir: {tmp_path / 'cache'}\napi_key_env: null\n"
    )
    mixture = write_mixture(
        tmp_path / "mixture.yaml",
        "hard_mqa: {fraction: 0.0}\ndirect_narration: {fraction: 0.0}\ntemporal_detection: {fraction: 0.0}\n",
    )
    request = TeachRequest(
        annotations_dir=ann,
        teacher_config=teacher_config,
        video_root=videos,
        out=tmp_path / "teacher.jsonl",
        mixture_file=mixture,
        seed=3,
    )
    assert teach(request)["disagreed"] == 1  # "grab knife": the teacher disagrees
    return {"ann": ann, "mixture": mixture, "teacher_file": request.out, "request_config": teacher_config}


def test_teach_then_build_drops_disagreed_captions(taught: dict[str, Path], server: TeacherServer) -> None:
    lines = read_jsonl(taught["teacher_file"])
    assert len(lines) == 10
    images = [len(b["messages"][1]["content"]) - 1 for b in server.requests_for("GT_Augmentation_Response")]
    assert images == [4] * 10  # decoded from the videos, 4 frames per clip
    out = taught["teacher_file"].parent / "sft.jsonl"
    build_sft(BuildRequest(taught["ann"], taught["mixture"], 3, out, teacher_file=taught["teacher_file"]))
    records = read_jsonl(out)
    manifest = json.loads(manifest_path(out).read_text())
    assert manifest["counts"] == {"caption": 9, "open_qa": 27}
    assert manifest["skipped"] == {
        "caption": {"disagree_with_human_annotation": {"count": 1, "narration_ids": ["P04_02_4"]}},
        "open_qa": {"disagree_with_human_annotation": {"count": 1, "narration_ids": ["P04_02_4"]}},
    }
    assert {record["teacher"] for record in records} == {MODEL}
    caption = next(r for r in records if r["id"] == "P04-P04_02_0.50_2.00:caption")
    assert caption["conversations"][1] == {"from": "gpt", "value": "I reach out and turn tap on."}


def test_teach_again_is_served_from_the_cache(taught: dict[str, Path], server: TeacherServer) -> None:
    calls, before = len(server.bodies), taught["teacher_file"].read_bytes()
    teach(
        TeachRequest(
            annotations_dir=taught["ann"],
            teacher_config=taught["request_config"],
            video_root=taught["teacher_file"].parent / "videos",
            out=taught["teacher_file"],
            mixture_file=taught["mixture"],
            seed=3,
        )
    )
    assert len(server.bodies) == calls
    assert taught["teacher_file"].read_bytes() == before


def test_teacher_file_for_other_clips_is_refused(taught: dict[str, Path]) -> None:
    """Policy: the teacher file covers every clip the mixture selects, so a gap means a stale file."""
    document = read_jsonl(taught["teacher_file"])
    taught["teacher_file"].write_text("".join(json.dumps(line) + "\n" for line in document[1:]))
    out = taught["teacher_file"].parent / "sft.jsonl"
    with pytest.raises(InputError, match=r"teacher\.jsonl, key 'P03_01_0': no caption/QA entry"):
        build_sft(BuildRequest(taught["ann"], taught["mixture"], 3, out, teacher_file=taught["teacher_file"]))


def test_bad_teacher_config_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "teacher.yaml"
    path.write_text("base_url: http://127.0.0.1:1/v1\nmodel: m\ncache_dir: c\nmax_concurency: 3\n")
    with pytest.raises(InputError, match=r"teacher\.yaml, key 'max_concurency'"):
        teach(TeachRequest(tmp_path, path, tmp_path, tmp_path / "out.jsonl"))


# -- a teacher that refuses some clips and garbles others --------------------------------------

REFUSED = "rinse knife"  # P03_01_3: its caption request is refused
GARBLED_CAPTION = "take spoon"  # P03_01_4: its caption is never valid JSON
GARBLED_QA = "wash spoon"  # P04_02_1: its caption is fine, its QA expansion never matches the schema


class FaultyTeacherServer(TeacherServer):
    def reply(self, body: dict[str, Any]) -> Reply:
        system = body["messages"][0]["content"]
        if self._schema(body) == "GT_Augmentation_Response":
            narration = _GROUND_TRUTH.search(system).group(1)
            if narration == REFUSED:
                return Reply(refusal="I'm sorry, I can't describe this video.")
            if narration == GARBLED_CAPTION:
                return Reply(content='{"answer_with_reasoning": "I take the spoon"')
        elif f"and {GARBLED_QA}." in system:
            return Reply(content='{"first_question": "What?"}')
        return Reply()

    @staticmethod
    def _schema(body: dict[str, Any]) -> str:
        return body["response_format"]["json_schema"]["name"]


@pytest.fixture
def faulty_server() -> Iterator[FaultyTeacherServer]:
    with serve(FaultyTeacherServer()) as teacher_server:
        yield teacher_server


def teach_request(tmp_path: Path, server: TeacherServer, max_failure_share: float) -> TeachRequest:
    ann = tmp_path / "ann"
    if not ann.exists():
        write_sft_dir(ann)
        write_pattern_tree(
            tmp_path / "videos", {("P03", "P03_01"): 14 * 30, ("P04", "P04_02"): 7 * 30}, fps=30
        )
    teacher_config = tmp_path / "teacher.yaml"
    teacher_config.write_text(
        f"base_url: {server.base_url}\nmodel: {MODEL}\ncache_dir: {tmp_path / 'cache'}\napi_key_env: null\n"
        f"backoff_base_s: 0.0\nmax_failure_share: {max_failure_share}\n"
    )
    mixture = write_mixture(
        tmp_path / "mixture.yaml",
        "hard_mqa: {fraction: 0.0}\ndirect_narration: {fraction: 0.0}\ntemporal_detection: {fraction: 0.0}\n",
    )
    return TeachRequest(
        annotations_dir=ann,
        teacher_config=teacher_config,
        video_root=tmp_path / "videos",
        out=tmp_path / "sft" / "teacher.jsonl",
        mixture_file=mixture,
        seed=3,
    )


def test_failed_clips_are_recorded_and_the_job_finishes_under_its_share(
    faulty_server: FaultyTeacherServer, tmp_path: Path
) -> None:
    request = teach_request(tmp_path, faulty_server, max_failure_share=0.3)
    manifest = teach(request)
    # 10 captions, the garbled one asked 3 times (invalid_reply_retries=2); 7 agreed captions
    # expanded (not the refused, garbled or disagreed ones), the garbled expansion asked 3 times
    assert len(faulty_server.requests_for("GT_Augmentation_Response")) == 12
    assert len(faulty_server.requests_for("ExpandReasonMCResponse")) == 9
    failures = read_jsonl(tmp_path / "sft" / "teacher.failures.jsonl")
    assert [{k: v for k, v in f.items() if k != "request_sha256"} for f in failures] == [
        {
            "narration_id": "P03_01_3",
            "uid": "P03-P03_01_9.50_11.00",
            "request": "caption",
            "reason": "refusal",
            "excerpt": "I'm sorry, I can't describe this video.",
        },
        {
            "narration_id": "P03_01_4",
            "uid": "P03-P03_01_12.00_13.00",
            "request": "caption",
            "reason": "invalid_reply",
            "excerpt": '{"answer_with_reasoning": "I take the spoon"',
        },
        {
            "narration_id": "P04_02_1",
            "uid": "P04-P04_02_2.50_3.20",
            "request": "qa",
            "reason": "invalid_reply",
            "excerpt": '{"first_question": "What?"}',
        },
    ]
    for failure in failures:  # each recorded in the reply cache under its request's key
        entry = json.loads(
            (
                tmp_path / "cache" / failure["request_sha256"][:2] / f"{failure['request_sha256']}.json"
            ).read_text()
        )
        assert entry["failure"]["reason"] == failure["reason"]
    assert manifest["failed"] == {
        "count": 3,
        "share": 0.3,
        "max_share": 0.3,
        "by_request_and_reason": {"caption:invalid_reply": 1, "caption:refusal": 1, "qa:invalid_reply": 1},
        "file": "teacher.failures.jsonl",
    }
    assert (manifest["clips"], manifest["disagreed"], manifest["with_qa"]) == (10, 1, 6)
    assert json.loads((tmp_path / "sft" / "teacher.manifest.json").read_text()) == manifest
    lines = {line["narration_id"]: line for line in read_jsonl(request.out)}
    assert lines["P03_01_3"]["caption"] is None and lines["P03_01_3"]["qa"] == []
    assert lines["P04_02_1"]["caption"] == "I reach out and wash spoon." and lines["P04_02_1"]["qa"] == []

    # the SFT build leaves the failed clips out of the caption and QA tasks, and says so
    out = tmp_path / "sft" / "sft.jsonl"
    build_sft(BuildRequest(request.annotations_dir, request.mixture_file, 3, out, teacher_file=request.out))
    built = json.loads(manifest_path(out).read_text())
    assert built["counts"] == {"caption": 6, "open_qa": 18}
    for task in ("caption", "open_qa"):
        assert built["skipped"][task] == {
            "disagree_with_human_annotation": {"count": 1, "narration_ids": ["P04_02_4"]},
            "teacher_invalid_reply": {"count": 2, "narration_ids": ["P03_01_4", "P04_02_1"]},
            "teacher_refusal": {"count": 1, "narration_ids": ["P03_01_3"]},
        }


def test_rerun_asks_nothing_for_cached_or_recorded_clips_unless_told_to(
    faulty_server: FaultyTeacherServer, tmp_path: Path
) -> None:
    request = teach_request(tmp_path, faulty_server, max_failure_share=0.3)
    teach(request)
    sent, before = len(faulty_server.bodies), request.out.read_bytes()
    teach(request)
    assert len(faulty_server.bodies) == sent  # not one request
    assert request.out.read_bytes() == before
    # --ask-again: only the three failed clips are asked again (the garbled ones three times each)
    argv = ["sft", "teacher", "--annotations-dir", str(request.annotations_dir), "--mixture"]
    argv += [str(request.mixture_file), "--seed", "3", "--teacher-config", str(request.teacher_config)]
    argv += ["--video-root", str(request.video_root), "--out", str(request.out), "--ask-again"]
    assert main(argv) == 0
    captions = faulty_server.requests_for("GT_Augmentation_Response")[10 + 2 :]
    expansions = faulty_server.requests_for("ExpandReasonMCResponse")[7 + 2 :]
    asked = sorted(_GROUND_TRUTH.search(b["messages"][0]["content"]).group(1) for b in captions)
    assert asked == [REFUSED, GARBLED_CAPTION, GARBLED_CAPTION, GARBLED_CAPTION]
    assert len(expansions) == 3 and all(
        f"and {GARBLED_QA}." in b["messages"][0]["content"] for b in expansions
    )


def test_failures_above_the_share_fail_the_job_listing_them(
    faulty_server: FaultyTeacherServer, tmp_path: Path
) -> None:
    request = teach_request(tmp_path, faulty_server, max_failure_share=0.25)
    with pytest.raises(TeacherError) as error:
        teach(request)
    message = str(error.value)
    assert message.startswith(
        "the teacher failed on 3 of 10 clips (30.00%), more than the teacher config's max_failure_share"
        f" (25.00%, {request.teacher_config}): P03_01_3 (caption refusal: \"I'm sorry, I can't describe this"
        ' video."); P03_01_4 (caption invalid_reply: \'{"answer_with_reasoning": "I take the spoon"\');'
        ' P04_02_1 (qa invalid_reply: \'{"first_question": "What?"}\'). All are listed in'
    )
    assert not request.out.exists()
    assert len(read_jsonl(tmp_path / "sft" / "teacher.failures.jsonl")) == 3


def test_the_cli_states_failures_above_the_share_in_one_line(
    faulty_server: FaultyTeacherServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = teach_request(tmp_path, faulty_server, max_failure_share=0.25)
    argv = ["sft", "teacher", "--annotations-dir", str(request.annotations_dir), "--mixture"]
    argv += [str(request.mixture_file), "--seed", "3", "--teacher-config", str(request.teacher_config)]
    argv += ["--video-root", str(request.video_root), "--out", str(request.out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "actionmqa sft: error: the teacher failed on 3 of 10 clips (30.00%)" in err
    assert "Traceback" not in err


def test_default_failure_share_is_one_percent(tmp_path: Path) -> None:
    assert TeacherConfig(base_url="http://x/v1", model="m", cache_dir=tmp_path).max_failure_share == 0.01
