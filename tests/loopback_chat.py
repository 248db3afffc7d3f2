"""A loopback OpenAI-compatible ``/v1/chat/completions`` server for the teacher and API tests.

``LoopbackChatServer`` (``actionmqa.rehearsal.server.LoopbackServer``, which the rehearsal's
teacher runs on too) records every request (JSON body and ``Authorization`` header) and answers
each with ``reply(body)``; a test's subclass says what its model replies by overriding ``content``
(the assistant message of a 200) and, for errors, delays and scripts, ``reply`` and ``done``.
``serve`` runs one for a test (conftest's autouse ``no_proxy`` keeps any proxy out of the way).
"""

from __future__ import annotations

from actionmqa.rehearsal.server import CHAT_PATH as PATH
from actionmqa.rehearsal.server import LoopbackServer as LoopbackChatServer
from actionmqa.rehearsal.server import Reply, serve

__all__ = ["PATH", "LoopbackChatServer", "Reply", "serve"]
