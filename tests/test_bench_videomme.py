"""Video-MME: parquet rows, prompts with and without subtitles, SRT selection, three parsers."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from actionmqa.bench.base import evaluate
from actionmqa.bench.records import VideoMeta
from actionmqa.bench.videomme import VideoMME, parse_srt, subtitles_for_frames
from actionmqa.errors import InputError

#: (video_id, videoID, duration, domain, sub_category)
VIDEOS = [
    ("001", "fFjv93ACGo8", "short", "Knowledge", "Humanity & History"),
    ("301", "K8QCsA6yJkE", "medium", "Sports Competition", "Football"),
    ("601", "zWxXm1dkTzI", "long", "Life Record", "Daily Life"),
]
TASKS = ["Action Recognition", "Counting Problem", "Temporal Reasoning"]
ANSWERS = ["A", "C", "B"]
FONT = '<font color="white" size=".72c">{}</font>'
SRT = (
    "1\n00:00:00,000 --> 00:00:02,000\n" + FONT.format("hello") + "\n\n"
    "2\n00:00:02,000 --> 00:00:04,500\n" + FONT.format("world") + "\n\n"
    "3\n00:00:05,000 --> 00:00:09,000\nplain text without the font tag\n\n"
    "4\n00:00:09,500 --> 00:00:10,000\n" + FONT.format("the end") + "\n"
)
INSTRUCTION = (
    "Select the best answer to the following multiple-choice question based on the video and the subtitles."
    " Respond with only the letter (A, B, C, or D) of the correct option."
)


def rows() -> list[dict]:
    out = []
    for video_id, youtube_id, duration, domain, sub_category in VIDEOS:
        for k in range(3):
            options = [
                f"A. {video_id} first",
                f"B. {video_id} second",
                f"C. {video_id} third",
                f"D. {video_id} fourth",
            ]
            if video_id == "001" and k == 0:
                options[1] = "B. 001 first"  # duplicate option text, as 119-1 has (A = B)
            out.append(
                {
                    "video_id": video_id,
                    "duration": duration,
                    "domain": domain,
                    "sub_category": sub_category,
                    "url": f"https://www.youtube.com/watch?v={youtube_id}",
                    "videoID": youtube_id,
                    "question_id": f"{video_id}-{k + 1}",
                    "task_type": TASKS[k],
                    "question": f"Question {k + 1} about video {video_id}?",
                    "options": options,
                    "answer": ANSWERS[k],
                }
            )
    return out


def write_root(root: Path, records: list[dict] | None = None) -> Path:
    (root / "videomme").mkdir(parents=True)
    pd.DataFrame(records or rows()).to_parquet(root / "videomme" / "test-00000-of-00001.parquet")
    (root / "subtitle").mkdir()
    for _, youtube_id, duration, _, _ in VIDEOS:
        if duration != "short":  # the short video has no subtitles
            (root / "subtitle" / f"{youtube_id}.srt").write_text(SRT)
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_root(tmp_path / "videomme")


def test_rows_load_with_prefixes_stripped_and_duplicates_kept(root):
    questions = VideoMME().load(root)
    assert len(questions) == 9
    q = questions[0]
    assert (q.id, q.answer, q.options[:2]) == ("001-1", 0, ("001 first", "001 first"))
    assert q.option_labels[1] == "B. 001 first"
    assert q.video == root / "data" / "fFjv93ACGo8.mp4"
    assert q.groups == {
        "duration": "short",
        "domain": "Knowledge",
        "sub_category": "Humanity & History",
        "task_type": "Action Recognition",
    }
    assert q.subtitles is None  # subtitles are read only in the with-subtitles setting


def test_golden_prompt_without_subtitles(root):
    q = VideoMME().load(root)[1]
    body = "Question 2 about video 001?\nA. 001 first\nB. 001 second\nC. 001 third\nD. 001 fourth"
    assert VideoMME().prompt(q).user == (
        f"{INSTRUCTION}\n{body}\n\nAnswer with the option's letter from the given choices directly."
    )
    assert VideoMME().prompt(q, "official").user == (
        "Select the best answer to the following multiple-choice question based on the video."
        " Respond with only the letter (A, B, C, or D) of the correct option.\n"
        f"{body}\nThe best answer is:"
    )


def test_srt_parsing_keeps_raw_block_text(root):
    lines = parse_srt(root / "subtitle" / "K8QCsA6yJkE.srt")
    assert [(line.start, line.end) for line in lines] == [(0.0, 2.0), (2.0, 4.5), (5.0, 9.0), (9.5, 10.0)]
    assert lines[0].text == FONT.format("hello")


def test_a_bad_srt_time_names_its_line(tmp_path):
    path = tmp_path / "bad.srt"
    path.write_text(SRT.replace("00:00:05,000 --> 00:00:09,000", "00:00:05 -> 00:00:09"))
    with pytest.raises(InputError, match="line 10: bad SRT time line") as error:
        parse_srt(path)
    assert path.read_text().splitlines()[error.value.line - 1] == "00:00:05 -> 00:00:09"


def test_subtitle_selection_for_sampled_frames(root):
    lines = parse_srt(root / "subtitle" / "K8QCsA6yJkE.srt")
    video = VideoMeta(fps=10, n_frames=100)
    # frames 0, 33, 66, 99 hit blocks 1, 2, 3 (no font tag: dropped) and 4
    assert subtitles_for_frames(lines, video, 4) == "hello\nworld\nthe end"
    assert subtitles_for_frames(lines, video, 2) == "hello\nthe end"
    assert subtitles_for_frames(lines, VideoMeta(fps=10, n_frames=30), 3) == "hello\nworld"


def test_with_subtitles_prompts(root):
    adapter = VideoMME(subtitles=True, frames=4)
    questions = adapter.load(root)
    medium = questions[3]
    body = "Question 1 about video 301?\nA. 301 first\nB. 301 second\nC. 301 third\nD. 301 fourth"
    video = VideoMeta(fps=10, n_frames=100)
    assert adapter.prompt(medium, video=video).user == (
        "This video's subtitles are listed below: \nhello\nworld\nthe end\n"
        f"{INSTRUCTION}\n{body}\nThe best answer is:"
    )
    assert adapter.prompt(medium, "official", video).user.startswith(
        f"This video's subtitles are listed below:\nhello\nworld\nthe end\n{INSTRUCTION}\n"
    )
    no_srt = adapter.prompt(questions[1]).user
    assert no_srt.startswith("This video's subtitles are listed below: \nNo subtitles available\n")
    with pytest.raises(ValueError, match="fps"):
        adapter.prompt(medium)


@pytest.mark.parametrize(
    ("raw", "official", "lmms_eval"),
    [
        ("Based on the video, the answer is C.", "B", "C"),
        ("After careful viewing: C", "A", "C"),
        ("The answer is D", "D", "D"),
        # The missing comma glues "Best answer:" to "Best option:", so it is never removed and
        # the B of "Best" is read.
        ("Best answer: C", "B", "C"),
        ("this response is long enough to have more than ten words and no letter", None, None),
    ],
)
def test_official_and_lmms_eval_extractors(root, raw, official, lmms_eval):
    q = VideoMME().load(root)[0]
    assert VideoMME().parse(raw, q, "official").letter == official
    assert VideoMME().parse(raw, q, "lmms_eval").letter == lmms_eval


def test_strict_mode_and_duplicate_options(root):
    q = VideoMME().load(root)[0]
    assert VideoMME().parse("C", q, "strict").letter == "C"
    assert VideoMME().parse("001 third", q, "strict").letter == "C"
    assert VideoMME().parse("001 first", q, "strict").letter is None  # A and B share it
    assert VideoMME().parse("A. 001 first", q, "strict").letter == "A"


OUTPUTS = {
    "001-1": "A",
    "001-2": "Based on the video, the answer is C.",
    "001-3": "B",
    "301-1": "A",
    "301-2": "no letter here but many many words to exceed the ten word limit",
    "301-3": "D",
    "601-1": "After careful viewing: C",
    "601-2": "",
    "601-3": "(B)",
}


def test_official_scoring_drops_unparsed_from_the_denominator(root):
    summary, results = evaluate(VideoMME(), VideoMME().load(root), OUTPUTS, "official")
    # parsed: A, B(wrong), B, A, -, D(wrong), A(wrong), -, B -> 5 correct of 7 answered
    assert (summary.n, summary.denominator, summary.excluded, summary.correct) == (9, 7, 2, 5)
    assert summary.accuracy == pytest.approx(500 / 7)
    assert summary.empty_outputs == ["601-2"]
    by_duration = {k: (v.correct, v.denominator) for k, v in summary.groups["duration"].items()}
    assert by_duration == {"long": (2, 2), "medium": (1, 2), "short": (2, 3)}
    assert [r.correct for r in results if r.id.startswith("301")] == [True, None, False]


def test_lmms_eval_scoring_counts_unparsed_as_wrong(root):
    summary, _ = evaluate(VideoMME(), VideoMME().load(root), OUTPUTS, "lmms_eval")
    # parsed: A, C(correct), B, A, -, D, C(wrong), -, B -> 5 correct of 9
    assert (summary.denominator, summary.correct, summary.unparsed) == (9, 5, 2)
    assert {k: v.accuracy for k, v in summary.groups["duration"].items()} == pytest.approx(
        {"long": 100 / 3, "medium": 100 / 3, "short": 100.0}
    )
    assert summary.groups["task_type"]["Counting Problem"].correct == 1


def test_bad_records(tmp_path):
    records = rows()
    records[4]["answer"] = "E"
    with pytest.raises(InputError, match=r"row 4, key 'answer': answer 'E' is not one of A, B, C, D"):
        VideoMME().load(write_root(tmp_path / "a", records))
    records = rows()
    records[2]["options"] = records[2]["options"][:3]
    with pytest.raises(InputError, match=r"row 2, key 'options': expected 4 entries, got 3"):
        VideoMME().load(write_root(tmp_path / "b", records))


def test_missing_video_names_the_record_and_extension_fallbacks_apply(root, tmp_path):
    videos = tmp_path / "data"
    videos.mkdir()
    (videos / "fFjv93ACGo8.mp4").touch()
    (videos / "K8QCsA6yJkE.mkv").touch()
    with pytest.raises(InputError, match=r"row 6: video not found: .*zWxXm1dkTzI.mp4 \(also tried"):
        VideoMME().load(root, videos)
    (videos / "zWxXm1dkTzI.MP4").touch()
    assert [q.video.suffix for q in VideoMME().load(root, videos)[::3]] == [".mp4", ".mkv", ".MP4"]


def write_mp4(path: Path, fps: int, n_frames: int) -> None:
    """A tiny real MP4 (MPEG-4 part 2, built into every FFmpeg) for the metadata probe."""
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for _ in range(n_frames):
            frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def test_cli_prompts_with_subtitles_probe_or_take_video_metadata(root, tmp_path):
    from actionmqa.bench.cli import run
    from actionmqa.io import read_jsonl

    write_mp4(root / "data" / "K8QCsA6yJkE.mp4", fps=2, n_frames=20)  # 10 s: 4 frames at 0, 3, 6, 9 s
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"zWxXm1dkTzI.mp4": {"fps": 10, "n_frames": 30}}))
    out = tmp_path / "prompts.jsonl"
    run(
        [
            "prompts",
            "--benchmark",
            "videomme",
            "--data",
            root,
            "--subtitles",
            "--frames",
            4,
            "--video-meta",
            meta,
            "--out",
            out,
        ]
    )
    prompts = {p["id"]: p["prompt"] for p in read_jsonl(out)}
    assert prompts["001-1"].split("\n")[1] == "No subtitles available"
    # probed: frames 0, 6, 12, 19 of 20 at 2 fps -> 0 s, 3 s, 6 s, 9.5 s
    assert prompts["301-1"].startswith(
        "This video's subtitles are listed below: \nhello\nworld\nthe end\nSelect"
    )
    # given: 30 frames at 10 fps -> frames 0, 9, 19, 29 -> 0 s, 0.9 s, 1.9 s, 2.9 s
    assert prompts["601-1"].startswith("This video's subtitles are listed below: \nhello\nworld\nSelect")


def test_cli_score_official(root, tmp_path):
    from actionmqa.bench.cli import run

    outputs = tmp_path / "outputs.jsonl"
    outputs.write_text("".join(json.dumps({"id": k, "output": v}) + "\n" for k, v in OUTPUTS.items()))
    run(
        [
            "score",
            "--benchmark",
            "videomme",
            "--data",
            root,
            "--outputs",
            outputs,
            "--mode",
            "official",
            "--out",
            tmp_path / "s.json",
        ]
    )
    summary = json.loads((tmp_path / "s.json").read_text())
    assert (summary["accuracy"], summary["denominator"], summary["excluded"]) == (
        pytest.approx(500 / 7),
        7,
        2,
    )
    assert summary["groups"]["duration"]["short"]["accuracy"] == pytest.approx(200 / 3)
    assert summary["settings"] == {"subtitles": False, "frames": 32}


def test_cli_prompts_name_a_video_it_cannot_probe(root, tmp_path):
    from actionmqa.bench.cli import run

    with pytest.raises(InputError, match=r"K8QCsA6yJkE.mp4: cannot read video metadata .*pass --video-meta"):
        run(
            [
                "prompts",
                "--benchmark",
                "videomme",
                "--data",
                root,
                "--subtitles",
                "--out",
                tmp_path / "p.jsonl",
            ]
        )
    assert not (tmp_path / "p.jsonl").exists()  # nothing half-written
