"""A loopback OpenAI-compatible ``/v1/chat/completions`` server for the teacher and API tests.

``LoopbackChatServer`` (``actionmqa.rehearsal.server.LoopbackServer``, which the rehearsal's
teacher runs on too) records every request (JSON body and ``Authorization`` header) and answers
each with ``reply(body)``; a test's subclass says what its model replies by overriding ``content``
(the assistant message of a 200) and, for errors, delays and scripts, ``reply`` and ``done``.
``serve`` runs one for a test; import ``no_proxy`` into a test module so that requests to
127.0.0.1 bypass any proxy set in the environment.
"""

from __future__ import annotations

import pytest

from actionmqa.rehearsal.server import CHAT_PATH as PATH
from actionmqa.rehearsal.server import LoopbackServer as LoopbackChatServer
from actionmqa.rehearsal.server import Reply, serve

__all__ = ["PATH", "LoopbackChatServer", "Reply", "no_proxy", "serve"]


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Autouse in every module that imports it: no proxy between the client and 127.0.0.1."""
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
