"""Run the task generators over a split's segments, in memory (spec/llavaction.md §2.2).

Which segment gets which task is decided by per-(segment, task) seeded draws, and records are
sorted by (video, numeric narration index, task, part), so the result does not depend on the
CSV's row order or on the order generators run in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tqdm import tqdm

from actionmqa.ek100.labels import LabelMap
from actionmqa.mqa.options import OptionTexter, TextMode
from actionmqa.sft.clip_texts import ClipTexts
from actionmqa.sft.mixture import MixtureConfig, keeps
from actionmqa.sft.prior import prior_actions_lookup
from actionmqa.sft.records import RecordMaker, SFTRecord
from actionmqa.sft.segments import Segment
from actionmqa.sft.tasks.base import Skip, TaskGenerator
from actionmqa.sft.tasks.caption import Caption
from actionmqa.sft.tasks.direct_narration import DirectNarration
from actionmqa.sft.tasks.generic_mc import GenericMC, answer_pools
from actionmqa.sft.tasks.hard_mqa import HardMQA
from actionmqa.sft.tasks.mqa import MQAAsker
from actionmqa.sft.tasks.open_qa import OpenQA
from actionmqa.sft.tasks.random_mqa import RandomMQA
from actionmqa.sft.tasks.temporal_detection import TemporalDetection
from actionmqa.sft.tasks.video_mc import VideoMC
from actionmqa.toybench.world import World


@dataclass(frozen=True)
class TaskInputs:
    """What the generators read besides the segments.

    ``pools`` are the TRAIN narration pools (vn -> narrations, repeats kept), never validation
    text (spec §8.3); ``predictions`` maps a source name to its CSV-row -> ranked classes.
    """

    labels: LabelMap
    pools: Mapping[str, tuple[str, ...]]
    predictions: Mapping[str, Mapping[int, Sequence[str]]] = field(default_factory=dict)
    clip_texts: ClipTexts | None = None
    world: World | None = None


@dataclass
class Assembly:
    """The records plus what the manifest reports: per task, clips selected, tags and skips."""

    records: list[SFTRecord]
    selected: Counter[str] = field(default_factory=Counter)
    tags: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    skipped: dict[str, dict[str, list[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )

    @property
    def counts(self) -> Counter[str]:
        return Counter(record.task for record in self.records)


def make_generators(
    segments: Sequence[Segment], mixture: MixtureConfig, inputs: TaskInputs, seed: int
) -> list[TaskGenerator]:
    """One generator per task in the mixture with a fraction above 0 (hard MQA: one per source)."""
    k = mixture.options
    texter = OptionTexter(TextMode.NARRATION, inputs.labels, inputs.pools, seed)
    prior = prior_actions_lookup(segments, mixture.prior_actions.max_gap_sec)
    asker = MQAAsker(texter, prior, mixture.prior_actions.fraction, seed)
    generators: list[TaskGenerator] = [
        HardMQA(source, inputs.predictions[source], asker, k, mixture.hard_mqa.fraction, seed)
        for source in sorted(inputs.predictions)
    ]
    generators.append(RandomMQA(inputs.labels.actions, asker, k, mixture.random_mqa.fraction, seed))
    generators.append(DirectNarration(mixture.direct_narration.fraction))
    temporal = mixture.temporal_detection
    generators.append(TemporalDetection(temporal.delta_sec, temporal.fraction, seed))
    if inputs.clip_texts is not None:
        generators.append(Caption(inputs.clip_texts, mixture.caption.fraction, mixture.caption.prompt))
        generators.append(
            OpenQA(inputs.clip_texts, mixture.open_qa.pairs_per_clip, mixture.open_qa.fraction, seed)
        )
        answers = answer_pools(inputs.clip_texts, segments)
        generic = mixture.generic_mc
        generators.append(
            GenericMC(inputs.clip_texts, answers, k, generic.fraction, seed, generic.inline_fraction)
        )
    if inputs.world is not None:
        video = mixture.video_mc
        generators.append(
            VideoMC.of(inputs.world, video.fraction, seed, video.inline_fraction, video.questions)
        )
    return [generator for generator in generators if generator.fraction > 0]


def assemble(
    segments: Sequence[Segment],
    generators: Sequence[TaskGenerator],
    maker: RecordMaker,
    seed: int,
    *,
    progress: bool = False,
) -> Assembly:
    """Every kept (segment, task) pair's records, in canonical order (``segments`` must be canonical)."""
    keyed: list[tuple[tuple[int, str, int], SFTRecord]] = []
    assembly = Assembly(records=[])
    clips = tqdm(segments, desc="sft clips", unit="clip", disable=not progress)
    for position, segment in enumerate(clips):
        for generator in generators:
            if not keeps(generator.fraction, seed, segment.key, generator.name):
                continue
            assembly.selected[generator.name] += 1
            outcome = generator.samples(segment)
            if isinstance(outcome, Skip):
                assembly.skipped[generator.name][outcome.reason].append(segment.narration_id)
                continue
            for sample in outcome:
                assembly.tags[sample.task].update(sample.tags)
                order = (position, sample.task, -1 if sample.part is None else sample.part)
                keyed.append((order, maker.record(segment, sample)))
    keyed.sort(key=lambda item: item[0])
    assembly.records = [record for _, record in keyed]
    return assembly


def selected_segments(
    segments: Sequence[Segment], tasks: Sequence[tuple[str, float]], seed: int
) -> list[Segment]:
    """The segments at least one of ``tasks`` (name, fraction) selects: what the teacher must cover."""
    return [
        segment
        for segment in segments
        if any(keeps(fraction, seed, segment.key, name) for name, fraction in tasks)
    ]
