"""EK100 videos in the official layout: the check of a user's root, and the downloader against a
loopback HTTP server laid out as data.bris.ac.uk and the download scripts' tables."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from actionmqa.cli import main
from actionmqa.ek100.videos import check_videos, download_videos, remote_path, video_path
from actionmqa.errors import InputError
from loopback_files import serve_files

VIDEOS = {
    # EPIC-55 video in its train folder, EPIC-55 video in its test folder, extension video
    ("P01", "P01_01"): ("ds55/videos/train/P01/P01_01.MP4", b"video P01_01"),
    ("P01", "P01_11"): ("ds55/videos/test/P01/P01_11.MP4", b"video P01_11 (validation)"),
    ("P02", "P02_101"): ("ds100/P02/videos/P02_101.MP4", b"video P02_101"),
}
SPLITS = "participant_id,video_id,split\nP01,P01_01,train\nP01,P01_11,test\n"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """(served folder, base URL): ds55/ and ds100/ as the two data.bris datasets, tables/ as the
    download scripts' data/ with the split table and md5s of the served bytes."""
    served = tmp_path / "served"
    md5_lines = ["md5,file_remote_path,version"]
    for relative, data in VIDEOS.values():
        (served / relative).parent.mkdir(parents=True, exist_ok=True)
        (served / relative).write_bytes(data)
        version, remote = relative.split("/", 1)
        md5_lines.append(f"{md5(data)},{remote},{version[2:]}")
    (served / "tables").mkdir()
    (served / "tables" / "epic_55_splits.csv").write_text(SPLITS)
    (served / "tables" / "md5.csv").write_text("\n".join(md5_lines) + "\n")
    with serve_files(served) as base_url:
        yield served, base_url


def urls(base: str) -> dict[str, str]:
    return {"epic_55_url": f"{base}/ds55", "epic_100_url": f"{base}/ds100", "tables_url": f"{base}/tables"}


def test_remote_paths_follow_the_download_scripts():
    splits = {"P01_01": "train", "P01_11": "test"}
    assert remote_path("P01", "P01_11", splits) == "videos/test/P01/P01_11.MP4"
    assert remote_path("P02", "P02_101", splits) == "P02/videos/P02_101.MP4"
    with pytest.raises(InputError, match="epic_55_splits.csv, key 'P03_04': an EPIC-55 video"):
        remote_path("P03", "P03_04", splits)


def test_check_lists_the_missing_videos_and_names_the_root(tmp_path):
    root = tmp_path / "EPIC-KITCHENS"
    needed = [("P01", f"P01_{i:02d}") for i in range(1, 26)]
    for participant, video in needed[:2]:
        video_path(root, participant, video).parent.mkdir(parents=True, exist_ok=True)
        video_path(root, participant, video).write_bytes(b"x")
    video_path(root, "P01", "P01_03").write_bytes(b"")  # empty: as good as missing
    video_path(root, "P01", "P01_04").with_suffix(".mp4").write_bytes(b"x")  # wrong case
    with pytest.raises(InputError) as error:
        check_videos(root, needed)
    message = str(error.value)
    assert message.startswith(f"{root}, key 'videos.root': 23 of 25 videos the annotations need are missing")
    assert "<root>/<Pxx>/videos/<video_id>.MP4: P01/videos/P01_03.MP4, P01/videos/P01_04.MP4" in message
    assert "P01/videos/P01_22.MP4 and 3 more" in message and "P01_23" not in message.split("; ")[0]
    assert "1 exist as .mp4 (lower case)" in message
    assert "--specific-videos P01_03,P01_04," in message and "videos.download.enabled: true" in message
    report = check_videos(root, needed[:2])
    assert report == {
        "videos": 2,
        "bytes": 2,
        "by_video": {
            "P01_01": {"participant_id": "P01", "bytes": 1},
            "P01_02": {"participant_id": "P01", "bytes": 1},
        },
    }


def test_download_fills_the_official_layout_and_checks_md5(server, tmp_path):
    served, base = server
    root = tmp_path / "EPIC-KITCHENS"
    video_path(root, "P01", "P01_01").parent.mkdir(parents=True)
    video_path(root, "P01", "P01_01").write_bytes(b"already here")  # kept, not fetched again
    report = download_videos(root, list(VIDEOS), **urls(base))
    assert report["downloaded"] == ["P01_11", "P02_101"] and report["unverified"] == []
    assert set(report["tables_sha256"]) == {"epic_55_splits.csv", "md5.csv"}
    for (participant, video), (_, data) in VIDEOS.items():
        if video != "P01_01":
            assert video_path(root, participant, video).read_bytes() == data
    assert check_videos(root, list(VIDEOS))["videos"] == 3
    # everything present: no request at all (the server's files could be gone)
    (served / "tables" / "md5.csv").unlink()
    assert download_videos(root, list(VIDEOS), **urls(base))["downloaded"] == []


def test_md5_mismatch_keeps_nothing(server, tmp_path):
    served, base = server
    (served / "ds100/P02/videos/P02_101.MP4").write_bytes(b"corrupted on the server")
    root = tmp_path / "EPIC-KITCHENS"
    expected, got = md5(b"video P02_101"), md5(b"corrupted on the server")
    with pytest.raises(
        InputError,
        match=rf"^{base}/ds100/P02/videos/P02_101.MP4: md5 mismatch: expected {expected}, got {got}",
    ):
        download_videos(root, [("P02", "P02_101")], **urls(base))
    assert list((root / "P02" / "videos").iterdir()) == []  # neither the video nor a partial


def test_http_errors_name_the_url(server, tmp_path):
    served, base = server
    (served / "ds55/videos/test/P01/P01_11.MP4").unlink()
    with pytest.raises(
        InputError, match=rf"^{base}/ds55/videos/test/P01/P01_11.MP4: download failed: HTTP 404"
    ):
        download_videos(tmp_path / "root", [("P01", "P01_11")], **urls(base))
    with pytest.raises(InputError, match=rf"^{base}/nowhere/epic_55_splits.csv: download failed: HTTP 404"):
        download_videos(
            tmp_path / "root", [("P01", "P01_11")], **{**urls(base), "tables_url": f"{base}/nowhere"}
        )


def test_cli_fetch_then_check_from_the_segment_csvs(server, tmp_path):
    _, base = server
    header = "narration_id,participant_id,video_id,start_timestamp,stop_timestamp\n"
    rows = "".join(f"{v}_0,{p},{v},00:00:01.00,00:00:02.00\n" for p, v in VIDEOS)
    csv = tmp_path / "EPIC_100_validation.csv"
    csv.write_text(header + rows)
    root, report = tmp_path / "EPIC-KITCHENS", tmp_path / "source.json"
    check = ["data", "check-videos", "--video-root", str(root), "--segments", str(csv), "--out", str(report)]
    assert main(check) == 2 and not report.exists()
    fetch = ["data", "fetch-videos", *check[2:]]
    fetch += [
        "--epic-55-url",
        f"{base}/ds55",
        "--epic-100-url",
        f"{base}/ds100",
        "--tables-url",
        f"{base}/tables",
    ]
    assert main(fetch) == 0
    written = json.loads(report.read_text())
    assert written["downloaded"] == ["P01_01", "P01_11", "P02_101"] and written["videos"] == 3
    assert written["root"] == str(root)
    assert main(check) == 0


def test_video_cut_off_mid_file_resumes_from_its_partial(tmp_path):
    """A video cut off by the server, then a rerun after a killed job: each byte is sent once."""
    from actionmqa.download import RetryPolicy, partial_path
    from loopback_faults import Fault, serve_faults

    video = bytes(range(256)) * 400  # 100 kB
    remote = "/ds100/P02/videos/P02_101.MP4"
    files = {
        "/tables/epic_55_splits.csv": SPLITS.encode(),
        "/tables/md5.csv": f"md5,file_remote_path,version\n{md5(video)},{remote[7:]},100\n".encode(),
        remote: video,
    }
    root = tmp_path / "EPIC-KITCHENS"
    target = video_path(root, "P02", "P02_101")
    partial_path(target).parent.mkdir(parents=True)
    partial_path(target).write_bytes(video[:30_000])  # what a killed job left
    with serve_faults(files) as server:
        server.inject(remote, Fault(cut_after=20_000))
        base = server.url("")
        report = download_videos(
            root, [("P02", "P02_101")], **urls(base), policy=RetryPolicy(backoff_s=0.001)
        )
        sent = [(s.range, s.body_bytes) for s in server.served if s.path == remote]
    assert report["downloaded"] == ["P02_101"] and target.read_bytes() == video
    assert sent == [("bytes=30000-", 20_000), ("bytes=50000-", len(video) - 50_000)]
    assert sorted(p.name for p in target.parent.iterdir()) == ["P02_101.MP4"]
