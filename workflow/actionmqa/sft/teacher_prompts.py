"""The teacher's system prompts for captions and QA pairs (spec/llavaction.md §2.3).

Written after upstream's ``GPTReasoningWithGTPrompt`` (``gpt-gt-reason``) and
``ExpandReasonMCPrompt`` (``gpt-gt-instruct-reason``) in ``llavaction/action/chatgpt_utils.py``
(release v0.0.1), keeping every instruction they give; the spec does not quote them. Upstream
sent them as the system message with an empty user text (plus 4 frames for captions), at
temperature 0, with the ``GT_Augmentation_Response`` / ``ExpandReasonMCResponse`` schemas.

One change: upstream filled the caption prompt's ground truth with the AVION-MQA answer
(``"C. open fridge"``), whose letter points at options the teacher never sees; here it is the
narration itself.
"""

from __future__ import annotations


def caption_system_prompt(narration: str, duration: float) -> str:
    """Ask for a first-person description and reasoning, and whether the teacher disagrees with the label."""
    return (
        "You are seeing video frames from an egocentric view, and you are the person in them. "
        "Describe the frames in detail and reason about the action you are performing. You are given "
        "the human-annotated ground-truth action, but come to your own conclusion independently.\n"
        'If you disagree with the human annotation, set "disagree_with_human_annotation" to true and give '
        "your reasoning without mentioning the ground-truth action, so that the reasoning stays clean. "
        'If you agree, set "disagree_with_human_annotation" to false and give your reasoning, again '
        "without referring to the ground truth.\n\n"
        f"The ground-truth action is {narration}.\n"
        "Support the action with evidence in your reasoning: the duration of the video, the sequence of "
        "actions you perform, the objects you interact with, and the overall context of the video.\n"
        "As a guideline, reason in detail for videos longer than 3 seconds, and more briefly for "
        "shorter ones.\n"
        f"The video lasts {duration:.3f} seconds.\n"
        "Reason in the first person.\n"
    )


def qa_expansion_system_prompt(caption: str) -> str:
    """Ask for three QA pairs answerable from the caption alone (text only, no frames)."""
    return (
        "Create 3 question-answer pairs from the text below, a first-person narrative of video frames "
        "seen from the egocentric view of a person interacting with objects in a kitchen.\n"
        f"{caption}\n"
        "Questions could be, for example:\n"
        "What object am I interacting with?\n"
        "What objects are visible in the video?\n"
        "What is the sequence of the atomic actions I am performing?\n\n"
        "Every question must be answerable from the text alone: do not ask about anything that needs "
        "context or information the text does not give.\n"
    )
