"""The teacher client against a real HTTP server on 127.0.0.1 that speaks /chat/completions."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
from collections import deque
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from actionmqa.errors import InputError
from actionmqa.teacher import (
    CaptionResponse,
    ChatRequest,
    MQAResponse,
    QAExpansionResponse,
    TeacherClient,
    TeacherConfig,
    TeacherError,
    TeacherHTTPError,
    TeacherReplyError,
)
from actionmqa.teacher.cache import request_key
from actionmqa.teacher.transport import RetryPolicy, parse_retry_after
from loopback_chat import (
    LoopbackChatServer,
    Reply,
    serve,
)

SECRET = "sk-test-0123456789-secret"
KEY_ENV = "ACTIONMQA_TEST_TEACHER_KEY"

# -- the server ------------------------------------------------------------------------------


def _user_text(body: dict[str, Any]) -> str:
    content = body["messages"][1]["content"]
    return content if isinstance(content, str) else content[0]["text"]


def _normal_content(body: dict[str, Any]) -> str:
    """What a well-behaved model says: a reply in the requested schema, echoing the user text."""
    schema = body.get("response_format", {}).get("json_schema", {}).get("name")
    text = _user_text(body)
    if schema == "MultiChoice_Response":
        return json.dumps({"answer": text})
    if schema == "GT_Augmentation_Response":
        return json.dumps({"answer_with_reasoning": f"I {text}.", "disagree_with_human_annotation": False})
    if schema == "ExpandReasonMCResponse":
        names = ["first", "second", "third"]
        return json.dumps({f"{n}_{part}": f"{n} {part}" for n in names for part in ("question", "answer")})
    return f"plain: {text}"


def _decoded_frame_colours(body: dict[str, Any]) -> list[tuple[int, int, int]]:
    """Mean RGB of every image part, decoded server-side with PIL."""
    content = body["messages"][1]["content"]
    colours = []
    for part in content if isinstance(content, list) else []:
        if part["type"] != "image_url":
            continue
        header, data = part["image_url"]["url"].split(",", 1)
        assert header == "data:image/jpeg;base64"
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        assert (image.format, image.mode) == ("JPEG", "RGB")
        mean = np.asarray(image).reshape(-1, 3).mean(axis=0)
        colours.append(tuple(int(round(c)) for c in mean))
    return colours


class ChatServer(LoopbackChatServer):
    """Refuses the user texts in ``refuse``; answers from ``plan`` first (one planned ``Reply`` a
    request), then like a well-behaved model after ``delay_s``; counts the requests in flight and
    decodes the frames it is sent."""

    def __init__(self) -> None:
        super().__init__()
        self.plan: deque[Reply] = deque()
        self.delay_s = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.frame_colours: list[tuple[int, int, int]] = []
        #: User texts the model refuses to answer, whatever the plan.
        self.refuse: set[str] = set()

    @property
    def calls(self) -> int:
        return len(self.bodies)

    def reply(self, body: dict[str, Any]) -> Reply:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.frame_colours.extend(_decoded_frame_colours(body))
            if _user_text(body) in self.refuse:
                return Reply(refusal="I can't help with that.")
            return self.plan.popleft() if self.plan else Reply(delay_s=self.delay_s)

    def done(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def content(self, body: dict[str, Any]) -> str:
        return _normal_content(body)


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with serve(ChatServer()) as chat_server:
        yield chat_server


@pytest.fixture
def sleeps() -> list[float]:
    """The client's sleep: records each wait instead of waiting."""
    return []


def make_client(
    base_url: str, cache_dir: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch, **overrides: Any
) -> TeacherClient:
    monkeypatch.setenv(KEY_ENV, SECRET)
    settings: dict[str, Any] = {
        "base_url": base_url,
        "model": "gpt-4o-2024-08-06",
        "cache_dir": cache_dir,
        "api_key_env": KEY_ENV,
        "max_concurrency": 2,
        "max_retries": 3,
        "timeout_s": 5.0,
        "backoff_base_s": 0.5,
        "backoff_max_s": 8.0,
    }
    settings.update(overrides)
    return TeacherClient(TeacherConfig(**settings), sleep=sleeps.append)


@pytest.fixture
def client(
    server: ChatServer, tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> TeacherClient:
    return make_client(server.base_url, tmp_path / "cache", sleeps, monkeypatch)


# -- requests and structured replies ---------------------------------------------------------

MQA_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "MultiChoice_Response",
        "schema": {
            "additionalProperties": False,
            "description": "The GT was known. The response is to add more information to the GT",
            "properties": {"answer": {"title": "Answer", "type": "string"}},
            "required": ["answer"],
            "title": "MultiChoice_Response",
            "type": "object",
        },
        "strict": True,
    },
}


def test_structured_reply_and_request_shape(client: TeacherClient, server: ChatServer) -> None:
    result = client.chat("You answer MQA.", None, "C. open fridge", MQAResponse)
    assert result == MQAResponse(answer="C. open fridge")
    assert server.bodies == [
        {
            "model": "gpt-4o-2024-08-06",
            "messages": [
                {"role": "system", "content": "You answer MQA."},
                {"role": "user", "content": "C. open fridge"},
            ],
            "temperature": 0.0,
            "response_format": MQA_FORMAT,
        }
    ]


def test_caption_and_qa_expansion_schemas(client: TeacherClient) -> None:
    caption = client.chat("Describe.", None, "open the fridge", CaptionResponse)
    assert caption == CaptionResponse(
        answer_with_reasoning="I open the fridge.", disagree_with_human_annotation=False
    )
    qa = client.chat("Expand.", None, "caption text", QAExpansionResponse)
    assert isinstance(qa, QAExpansionResponse)
    assert qa.pairs() == [
        ("first question", "first answer"),
        ("second question", "second answer"),
        ("third question", "third answer"),
    ]


def test_caption_schema_is_upstreams_strict_schema() -> None:
    assert CaptionResponse.model_json_schema() == {
        "additionalProperties": False,
        "description": "The GT was known. The response is to add more information to the GT",
        "properties": {
            "answer_with_reasoning": {"title": "Answer With Reasoning", "type": "string"},
            "disagree_with_human_annotation": {"title": "Disagree With Human Annotation", "type": "boolean"},
        },
        "required": ["answer_with_reasoning", "disagree_with_human_annotation"],
        "title": "GT_Augmentation_Response",
        "type": "object",
    }


def test_without_response_model_returns_text(client: TeacherClient, server: ChatServer) -> None:
    assert client.chat("sys", None, "hello", None) == "plain: hello"
    assert "response_format" not in server.bodies[0]


def test_malformed_reply_is_asked_again_and_only_the_good_one_cached(
    client: TeacherClient, server: ChatServer
) -> None:
    server.plan.append(Reply(content='{"answer": 42'))
    key = request_key(client.request_body("sys", None, "q", MQAResponse))
    assert client.chat("sys", None, "q", MQAResponse) == MQAResponse(answer="q")
    assert server.calls == 2 and client.counts == {"requests": 2}
    assert json.loads(client.cache.path_for(key).read_text())["content"] == '{"answer": "q"}'


def test_reply_invalid_every_time_is_recorded_and_not_asked_again(
    client: TeacherClient, server: ChatServer, tmp_path: Path, sleeps: list[float], monkeypatch
) -> None:
    server.plan.extend([Reply(content='{"answer": 42'), Reply(content="Sure!"), Reply(content='{"a": 1}')])
    key = request_key(client.request_body("sys", None, "q", MQAResponse))
    with pytest.raises(TeacherReplyError, match=key) as caught:
        client.chat("sys", None, "q", MQAResponse)
    assert server.calls == 3  # invalid_reply_retries=2: asked three times in all
    error = caught.value
    assert (error.reason, error.excerpt, error.recorded) == ("invalid_reply", '{"a": 1}', False)
    assert "does not match MQAResponse" in str(error)
    # a new client (a rerun) answers from the record, without a request
    rerun = make_client(server.base_url, tmp_path / "cache", sleeps, monkeypatch)
    with pytest.raises(TeacherReplyError, match=r"\(recorded by an earlier run\): content does not match"):
        rerun.chat("sys", None, "q", MQAResponse)
    assert server.calls == 3 and rerun.counts == {"recorded": 1}
    # told to ask again, it does; the good reply replaces the record
    again = TeacherClient(rerun.config, sleep=sleeps.append, ask_again=True)
    assert again.chat("sys", None, "q", MQAResponse) == MQAResponse(answer="q")
    assert server.calls == 4 and rerun.chat("sys", None, "q", MQAResponse) == MQAResponse(answer="q")


def test_refusal_is_recorded_at_once(client: TeacherClient, server: ChatServer) -> None:
    server.plan.append(Reply(refusal="I'm sorry, I can't help with that."))
    with pytest.raises(TeacherReplyError, match=r"no text content \(refusal: \"I'm sorry") as caught:
        client.chat("sys", None, "q", MQAResponse)
    assert (caught.value.reason, caught.value.excerpt) == ("refusal", "I'm sorry, I can't help with that.")
    assert server.calls == 1
    key = request_key(client.request_body("sys", None, "q", MQAResponse))
    entry = json.loads(client.cache.path_for(key).read_text())
    assert entry == {
        "request_sha256": key,
        "model": "gpt-4o-2024-08-06",
        "failure": {
            "reason": "refusal",
            "problem": "no text content (refusal: \"I'm sorry, I can't help with that.\")",
            "excerpt": "I'm sorry, I can't help with that.",
        },
    }


def test_map_outcomes_puts_failures_in_place(client: TeacherClient, server: ChatServer) -> None:
    server.refuse = {"q1"}
    requests = [ChatRequest("sys", q, None, MQAResponse) for q in ("q0", "q1", "q2")]
    outcomes = client.map_outcomes(requests)
    assert outcomes[0] == MQAResponse(answer="q0") and outcomes[2] == MQAResponse(answer="q2")
    assert isinstance(outcomes[1], TeacherReplyError) and outcomes[1].reason == "refusal"
    with pytest.raises(TeacherReplyError, match="recorded by an earlier run"):
        client.map(requests)  # every other request answered from the cache, then the failure raised
    assert server.calls == 3


# -- frames ----------------------------------------------------------------------------------


def test_frames_arrive_as_rgb_jpeg_data_urls(client: TeacherClient, server: ChatServer) -> None:
    red = np.zeros((16, 24, 3), dtype=np.uint8)
    red[..., 0] = 255
    blue = np.zeros((16, 24, 3), dtype=np.uint8)
    blue[..., 2] = 255
    client.chat("sys", [red, blue], "", MQAResponse)
    (user,) = [m for m in server.bodies[0]["messages"] if m["role"] == "user"]
    assert [part["type"] for part in user["content"]] == ["text", "image_url", "image_url"]
    assert user["content"][0] == {"type": "text", "text": ""}
    (r1, g1, b1), (r2, g2, b2) = server.frame_colours
    assert r1 > 245 and g1 < 10 and b1 < 10  # red stays red: no BGR swap
    assert r2 < 10 and g2 < 10 and b2 > 245


def test_a_frame_that_is_not_rgb_uint8_is_refused(client: TeacherClient) -> None:
    with pytest.raises(ValueError, match="HxWx3 uint8 RGB"):
        client.chat("sys", [np.zeros((4, 4), dtype=np.uint8)], "", MQAResponse)


# -- retries ---------------------------------------------------------------------------------


def test_two_500s_then_success(client: TeacherClient, server: ChatServer, sleeps: list[float]) -> None:
    server.plan.extend([Reply(status=500, error_body="oops"), Reply(status=500)])
    assert client.chat("sys", None, "take cup", MQAResponse) == MQAResponse(answer="take cup")
    assert server.calls == 3
    key = request_key(client.request_body("sys", None, "take cup", MQAResponse))
    policy = RetryPolicy(max_retries=3, base_s=0.5, max_s=8.0)
    assert sleeps == [policy.delay(0, key), policy.delay(1, key)]
    assert 0.5 <= sleeps[0] <= 0.625 and 1.0 <= sleeps[1] <= 1.25


def test_429_honours_retry_after(client: TeacherClient, server: ChatServer, sleeps: list[float]) -> None:
    server.plan.append(Reply(status=429, error_body="slow down", headers={"Retry-After": "7"}))
    assert client.chat("sys", None, "q", MQAResponse) == MQAResponse(answer="q")
    assert server.calls == 2
    assert sleeps == [7.0]


def test_400_is_not_retried(client: TeacherClient, server: ChatServer, sleeps: list[float]) -> None:
    body = json.dumps({"error": {"message": "Invalid schema for response_format 'X'", "type": "invalid"}})
    server.plan.append(Reply(status=400, error_body=body))
    with pytest.raises(TeacherHTTPError, match="HTTP 400") as caught:
        client.chat("sys", None, "q", MQAResponse)
    assert caught.value.status == 400
    assert "Invalid schema for response_format" in str(caught.value)
    assert server.calls == 1 and sleeps == []


AZURE_FILTERED = {  # Azure OpenAI's reply to a prompt its content filter blocks (abridged)
    "error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's content"
        " management policy.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {"code": "ResponsibleAIPolicyViolation"},
    }
}


def test_a_content_filters_400_is_that_requests_refusal_recorded_at_once(
    client: TeacherClient, server: ChatServer, sleeps: list[float]
) -> None:
    server.plan.append(Reply(status=400, error_body=json.dumps(AZURE_FILTERED)))
    with pytest.raises(TeacherReplyError, match="HTTP 400 content_filter: ") as caught:
        client.chat("sys", None, "q", MQAResponse)
    assert caught.value.reason == "refusal"
    assert "content management policy" in caught.value.excerpt
    assert server.calls == 1 and sleeps == []  # neither retried nor asked again
    with pytest.raises(TeacherReplyError, match="recorded by an earlier run"):
        client.chat("sys", None, "q", MQAResponse)
    assert server.calls == 1


def test_a_filtered_request_takes_its_place_among_map_outcomes(
    server: ChatServer, tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(server.base_url, tmp_path, sleeps, monkeypatch, max_concurrency=1)  # in order
    flagged = {
        "error": {
            "message": "Your input image may contain content that is not allowed by our safety system.",
            "type": "invalid_request_error",
            "param": None,
            "code": "content_policy_violation",
        }
    }
    server.plan.extend([Reply(), Reply(status=400, error_body=json.dumps(flagged))])
    outcomes = client.map_outcomes([ChatRequest("sys", q, None, MQAResponse) for q in ("q0", "q1", "q2")])
    assert outcomes[0] == MQAResponse(answer="q0") and outcomes[2] == MQAResponse(answer="q2")
    assert isinstance(outcomes[1], TeacherReplyError) and outcomes[1].reason == "refusal"
    assert "safety system" in outcomes[1].excerpt


def test_a_4xx_with_another_error_code_still_ends_the_job(client: TeacherClient, server: ChatServer) -> None:
    """A bad key, model or schema fails every request alike: not one clip's refusal."""
    body = {
        "error": {
            "message": "The model `gpt-5o` does not exist",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
    }
    server.plan.append(Reply(status=404, error_body=json.dumps(body)))
    with pytest.raises(TeacherHTTPError, match="HTTP 404") as caught:
        client.chat("sys", None, "q", MQAResponse)
    assert caught.value.error_code == "model_not_found"
    server.plan.append(Reply())
    assert client.chat("sys", None, "q", MQAResponse) == MQAResponse(answer="q")  # nothing was recorded


def test_retries_run_out_on_persistent_503(
    server: ChatServer, tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(server.base_url, tmp_path, sleeps, monkeypatch, max_retries=2)
    server.plan.extend(Reply(status=503, error_body="overloaded") for _ in range(3))
    with pytest.raises(TeacherHTTPError, match="HTTP 503.*overloaded"):
        client.chat("sys", None, "q", MQAResponse)
    assert server.calls == 3 and len(sleeps) == 2


def test_timeout_is_retried(
    server: ChatServer, tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(server.base_url, tmp_path, sleeps, monkeypatch, timeout_s=0.3)
    server.plan.append(Reply(delay_s=1.0))
    assert client.chat("sys", None, "q", MQAResponse) == MQAResponse(answer="q")
    assert server.calls == 2 and len(sleeps) == 1


def test_connection_refused_is_retried_then_reported(
    tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(f"http://127.0.0.1:{port}/v1", tmp_path, sleeps, monkeypatch, max_retries=2)
    with pytest.raises(TeacherError, match="failed after 3 attempts"):
        client.chat("sys", None, "q", MQAResponse)
    assert len(sleeps) == 2


def test_retry_after_as_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:09 GMT", now) == 9.0
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# -- cache -----------------------------------------------------------------------------------


def test_second_identical_call_is_served_from_cache(client: TeacherClient, server: ChatServer) -> None:
    red = np.full((8, 8, 3), (255, 0, 0), dtype=np.uint8)
    first = client.chat("sys", [red], "q", MQAResponse)
    second = client.chat("sys", [red.copy()], "q", MQAResponse)
    assert first == second == MQAResponse(answer="q")
    assert server.calls == 1
    key = request_key(client.request_body("sys", [red], "q", MQAResponse))
    entry = json.loads(client.cache.path_for(key).read_text())
    assert entry == {"content": '{"answer": "q"}', "model": "gpt-4o-2024-08-06", "request_sha256": key}
    client.chat("sys", [red], "another question", MQAResponse)
    assert server.calls == 2


def test_cache_survives_a_new_client(
    server: ChatServer, tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_client(server.base_url, tmp_path, sleeps, monkeypatch).chat("sys", None, "q", None)
    again = make_client(server.base_url, tmp_path, sleeps, monkeypatch).chat("sys", None, "q", None)
    assert again == "plain: q" and server.calls == 1


def test_a_damaged_cache_entry_names_its_file(client: TeacherClient) -> None:
    key = request_key(client.request_body("sys", None, "q", None))
    path = client.cache.path_for(key)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(InputError, match=key):
        client.chat("sys", None, "q", None)


# -- the key ---------------------------------------------------------------------------------


def test_key_is_sent_as_bearer_and_written_nowhere(
    client: TeacherClient, server: ChatServer, tmp_path: Path
) -> None:
    red = np.full((8, 8, 3), (255, 0, 0), dtype=np.uint8)
    client.chat("sys", [red], "q", MQAResponse)
    client.chat("sys", None, "plain", None)
    assert server.authorizations == [f"Bearer {SECRET}", f"Bearer {SECRET}"]
    files = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert len(files) == 2
    for path in files:
        assert SECRET not in path.name and SECRET.encode() not in path.read_bytes()
    assert SECRET not in repr(client.config) and SECRET not in client.config.model_dump_json()
    assert SECRET not in repr(vars(client))


def test_missing_key_variable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACTIONMQA_NO_SUCH_KEY", raising=False)
    config = TeacherConfig(
        base_url="http://127.0.0.1:1/v1", model="m", cache_dir=tmp_path, api_key_env="ACTIONMQA_NO_SUCH_KEY"
    )
    with pytest.raises(TeacherError, match="ACTIONMQA_NO_SUCH_KEY is not set"):
        TeacherClient(config)


def test_no_key_variable_sends_no_authorization(
    server: ChatServer, tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_client(server.base_url, tmp_path, sleeps, monkeypatch, api_key_env=None).chat("s", None, "q", None)
    assert server.authorizations == [None]


# -- concurrency -----------------------------------------------------------------------------


def test_map_bounds_concurrency_and_keeps_input_order(
    server: ChatServer, tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(server.base_url, tmp_path, sleeps, monkeypatch, max_concurrency=3)
    server.delay_s = 0.15
    requests = [ChatRequest("sys", f"q{i}", response_model=MQAResponse) for i in range(9)]
    results = client.map(requests)
    assert [r.answer for r in results] == [f"q{i}" for i in range(9)]
    assert server.calls == 9
    assert server.max_in_flight == 3


def test_concurrent_chat_callers_share_the_bound(
    server: ChatServer, tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(server.base_url, tmp_path, sleeps, monkeypatch, max_concurrency=2)
    server.delay_s = 0.15
    callers = [threading.Thread(target=client.chat, args=("s", None, f"q{i}", None)) for i in range(6)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert server.calls == 6
    assert server.max_in_flight == 2
