"""Upstream's structured-output schemas, as GPT-4o received them (spec/llavaction.md §2.3).

``openai``'s ``beta.chat.completions.parse`` sent each pydantic class as a strict JSON schema
named after the class, with the class docstring as its description. Titles and descriptions
here are pinned to upstream's (``GT_Augmentation_Response``, ``MultiChoice_Response``,
``ExpandReasonMCResponse``; the first two share a copy-pasted docstring), so the teacher sees
the same schema text, and editing these docstrings cannot invalidate the request cache.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

_GT_KNOWN = "The GT was known. The response is to add more information to the GT"


def _upstream_schema(title: str, description: str) -> ConfigDict:
    """Strict (``additionalProperties: false``) with upstream's title and description."""
    return ConfigDict(extra="forbid", title=title, json_schema_extra={"description": description})


class CaptionResponse(BaseModel):
    """Caption with reasoning (``gpt-gt-reason``); disagreeing samples are dropped upstream."""

    model_config = _upstream_schema("GT_Augmentation_Response", _GT_KNOWN)

    answer_with_reasoning: str
    disagree_with_human_annotation: bool


class MQAResponse(BaseModel):
    """The GPT baseline's answer to one EK100-MQA question."""

    model_config = _upstream_schema("MultiChoice_Response", _GT_KNOWN)

    answer: str


class QAExpansionResponse(BaseModel):
    """Three open QA pairs written from one caption (``gpt-gt-instruct-reason``)."""

    model_config = _upstream_schema("ExpandReasonMCResponse", "The response for the ExpandReasonMCPrompt")

    first_question: str
    first_answer: str
    second_question: str
    second_answer: str
    third_question: str
    third_answer: str

    def pairs(self) -> list[tuple[str, str]]:
        """The three (question, answer) pairs in order."""
        return [
            (self.first_question, self.first_answer),
            (self.second_question, self.second_answer),
            (self.third_question, self.third_answer),
        ]


def response_format(model: type[BaseModel]) -> dict[str, Any]:
    """The ``response_format`` body field asking for ``model`` as strict structured output."""
    schema = model.model_json_schema()
    return {
        "type": "json_schema",
        "json_schema": {"name": schema["title"], "schema": schema, "strict": True},
    }
