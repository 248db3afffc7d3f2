"""``eval gather``: one evaluation's shard parts -> its predictions JSONL and summary JSON.

The parts must be every shard of one evaluation: the same task and settings, each shard once,
their questions those the task asks today (a question file rebuilt since a shard ran is caught
here) and their model the same. The task is rebuilt from the settings the parts carry, without
the model, and finishes exactly as an unsharded run does, so the outputs are the same bytes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from actionmqa.errors import InputError
from actionmqa.evaluate.api import APITask
from actionmqa.evaluate.bench import BenchTask
from actionmqa.evaluate.recognition import RecognitionTask
from actionmqa.evaluate.run import MQATask
from actionmqa.evaluate.runner import EvalTask, Whole, fingerprint, plan
from actionmqa.evaluate.sap_run import SAPTask
from actionmqa.evaluate.shards import PartFile, describe_difference, read_part

#: kind -> task class, for every task a part can belong to
TASKS: dict[str, type[EvalTask[Any]]] = {
    cls.kind: cls for cls in (MQATask, SAPTask, RecognitionTask, BenchTask, APITask)
}


def gather(parts: Sequence[Path], summary: Path, predictions: Path) -> dict[str, Any]:
    """Merge the parts of one evaluation; write both outputs atomically; return the summary."""
    if not parts:
        raise InputError(None, "no part files to gather")
    read = [read_part(path) for path in parts]
    check_one_evaluation(read)
    task = rebuild(read[0])
    check_fingerprints(task, read)
    answers = [answer for part in read for answer in part.answers]
    check_answers_cover(task, answers, read)
    return Whole(Path(summary), Path(predictions)).write(task, answers, read[0].fingerprint)


def check_one_evaluation(parts: Sequence[PartFile]) -> None:
    """Same task, settings and shard count, and each shard exactly once."""
    first = parts[0]
    for part in parts[1:]:
        if part.kind != first.kind:
            raise InputError(part.path, f"is a '{part.kind}' part, {first.path} a '{first.kind}' part")
        if part.settings != first.settings:
            differences = describe_difference(part.settings, first.settings)
            raise InputError(part.path, f"belongs to another evaluation than {first.path} ({differences})")
        if part.shard.count != first.shard.count:
            raise InputError(
                part.path, f"is one of {part.shard.count} shards, {first.path} of {first.shard.count}"
            )
    seen = Counter(part.shard.index for part in parts)
    repeated = sorted(index for index, count in seen.items() if count > 1)
    missing = sorted(set(range(first.shard.count)) - set(seen))
    if repeated or missing:
        raise InputError(
            None,
            f"the parts of {first.shard.count} shards must hold each shard once: "
            f"missing shards {missing}, repeated shards {repeated}",
        )


def rebuild(part: PartFile) -> EvalTask[Any]:
    """The part's task from its settings (its inputs read again, the model not loaded)."""
    if part.kind not in TASKS:
        raise InputError(part.path, f"unknown task '{part.kind}'; expected one of {sorted(TASKS)}", line=1)
    cls = TASKS[part.kind]
    try:
        job = TypeAdapter(cls.job_type).validate_python(part.settings)
    except ValidationError as exc:
        raise InputError(
            part.path, f"the header's settings are no {cls.job_type.__name__}: {exc}", line=1
        ) from exc
    return cls(job)


def check_fingerprints(task: EvalTask[Any], parts: Sequence[PartFile]) -> None:
    """Each part's questions and settings as the task asks them now; one model for all parts."""
    for part in parts:
        now = fingerprint(task, plan(task, part.shard))
        changed = [name for name in part.fingerprint.changed(now) if name != "model"]
        if changed:
            raise InputError(
                part.path,
                f"its {' and '.join(changed)} differ from what the evaluation asks now: run its shard again",
            )
        if part.fingerprint.model != parts[0].fingerprint.model:
            raise InputError(part.path, f"was answered by another model than {parts[0].path}")


def check_answers_cover(task: EvalTask[Any], answers: Sequence[Any], parts: Sequence[PartFile]) -> None:
    """One answer per question of the task, nothing else."""
    counts = Counter(answer.key for answer in answers)
    keys = [task.key(item) for item in task.items()]
    repeated = sorted(key for key, count in counts.items() if count > 1)
    missing = [key for key in keys if key not in counts]
    unknown = sorted(set(counts) - set(keys))
    if repeated or missing or unknown:
        raise InputError(
            None,
            f"the parts ({', '.join(str(part.path) for part in parts)}) do not answer each question once:"
            f" missing {missing[:5]}, repeated {repeated[:5]}, not questions {unknown[:5]}",
        )
