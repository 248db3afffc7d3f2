"""The teacher: any OpenAI-compatible chat endpoint that writes captions and QA for SFT data.

Upstream (``llavaction/action/chatgpt_utils.py``) called ``openai`` from a process pool with no
retry and no cache, and encoded RGB frames with ``cv2.imencode`` (which assumes BGR), so GPT-4o
saw red and blue swapped. Here every request is cached on disk by its content hash, failures are
retried with backoff, and frames reach the endpoint in their true colours.
"""

from actionmqa.teacher.client import ChatRequest, TeacherClient
from actionmqa.teacher.config import TeacherConfig
from actionmqa.teacher.errors import TeacherError, TeacherHTTPError, TeacherReplyError
from actionmqa.teacher.schemas import CaptionResponse, MQAResponse, QAExpansionResponse

__all__ = [
    "CaptionResponse",
    "ChatRequest",
    "MQAResponse",
    "QAExpansionResponse",
    "TeacherClient",
    "TeacherConfig",
    "TeacherError",
    "TeacherHTTPError",
    "TeacherReplyError",
]
