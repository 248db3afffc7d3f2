"""Benchmark data from a hub dataset snapshot into the layout the adapters read: zip chunks and
split tars extracted as lmms-eval does, other files linked, resumable, path-safe, then loaded."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile

import pytest

from actionmqa.bench.fetch import extract_tar, extract_zip, fetch_benchmark, place_snapshot
from actionmqa.errors import InputError
from hub_cache import COMMIT, populate_cache
from test_bench_longvideobench import SPECS, json_rows


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as handle:
        for name, data in members.items():
            handle.writestr(name, data)
    return buffer.getvalue()


def tar_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def split(data: bytes, n: int) -> list[bytes]:
    step = -(-len(data) // n)
    return [data[i : i + step] for i in range(0, len(data), step)]


MVBENCH_JSON = [
    {"video": "a.webm", "question": "Which way?", "candidates": ["left", "right"], "answer": "right"},
    {"video": "b.webm", "question": "Which way?", "candidates": ["up", "down", "still"], "answer": "up"},
]


def test_mvbench_video_branch_files_are_linked_and_loaded(tmp_path):
    """MVBench's `video` branch is unpacked: json/ plus the lmms-eval DATA_LIST folders."""
    files = {
        "json/action_antonym.json": json.dumps(MVBENCH_JSON).encode(),
        "ssv2_video_mp4/a.webm": b"video a",
        "README.md": b"card",
    }
    populate_cache(tmp_path / "cache", "OpenGVLab/MVBench", files, repo_type="dataset")
    out = tmp_path / "mvbench"
    manifest = fetch_benchmark(
        "mvbench",
        out,
        repo="OpenGVLab/MVBench",
        revision=COMMIT,
        allow_patterns=["json/*.json", "ssv2_video_mp4/*"],
        cache_dir=tmp_path / "cache",
        offline=True,
    )
    assert manifest["source"] == {
        "repo": "OpenGVLab/MVBench",
        "repo_type": "dataset",
        "revision": COMMIT,
        "commit": COMMIT,
        "pinned": True,
        "allow_patterns": ["json/*.json", "ssv2_video_mp4/*"],
    }
    assert [(f["path"], f["placed"]) for f in manifest["files"]] == [
        ("json/action_antonym.json", "linked"),
        ("ssv2_video_mp4/a.webm", "linked"),
    ]
    assert not (out / "ssv2_video_mp4" / "a.webm").is_symlink() and not (out / "README.md").exists()
    # b.webm is not in the repository (as MVBench's removed NTU videos): counted and named, not fatal
    assert manifest["layout"] == {
        "questions": 2,
        "videos": 2,
        "videos_missing": 1,
        "missing_first": ["ssv2_video_mp4/b.webm"],
    }
    with pytest.raises(
        InputError, match=r"1 of 2 videos the questions need are missing .*ssv2_video_mp4/b.webm"
    ):
        fetch_benchmark("mvbench", out, require_videos=True)


def test_longvideobench_split_tar_is_concatenated_and_extracted(tmp_path):
    videos = {f"videos/{spec[0]}.mp4": f"video {spec[0]}".encode() for spec in SPECS}
    parts = split(tar_bytes(videos), 3)
    files = {f"videos.tar.part.a{letter}": part for letter, part in zip("abc", parts, strict=True)}
    files["lvb_val.json"] = json.dumps(json_rows()).encode()
    files["subtitles.tar"] = tar_bytes({f"subtitles/{spec[0]}_en.json": b"[]" for spec in SPECS})
    populate_cache(tmp_path / "cache", "longvideobench/LongVideoBench", files, repo_type="dataset")
    out = tmp_path / "lvb"
    manifest = fetch_benchmark(
        "longvideobench",
        out,
        repo="longvideobench/LongVideoBench",
        revision=COMMIT,
        cache_dir=tmp_path / "cache",
        offline=True,
    )
    records = {f["path"]: f for f in manifest["files"]}
    assert records["videos.tar"]["parts"] == [
        "videos.tar.part.aa",
        "videos.tar.part.ab",
        "videos.tar.part.ac",
    ]
    assert records["videos.tar"]["members"] == len(SPECS) and records["subtitles.tar"]["members"] == len(
        SPECS
    )
    for name, data in videos.items():
        assert (out / name).read_bytes() == data
    assert manifest["layout"]["questions"] == len(SPECS) and manifest["layout"]["videos_missing"] == 0
    # resumed: everything already in place is kept, nothing rewritten
    again = fetch_benchmark(
        "longvideobench",
        out,
        repo="longvideobench/LongVideoBench",
        revision=COMMIT,
        cache_dir=tmp_path / "cache",
        offline=True,
    )
    assert {f["path"]: (f.get("extracted"), f.get("kept"), f.get("placed")) for f in again["files"]} == {
        "lvb_val.json": (None, None, "kept"),
        "subtitles.tar": (0, len(SPECS), None),
        "videos.tar": (0, len(SPECS), None),
    }


def test_zip_members_already_present_are_kept_and_others_extracted(tmp_path):
    archive = tmp_path / "videos_chunked_01.zip"
    archive.write_bytes(zip_bytes({"data/x.mp4": b"xx", "data/y.mp4": b"yyy", "data/": b""}))
    out = tmp_path / "videomme"
    (out / "data").mkdir(parents=True)
    (out / "data" / "x.mp4").write_bytes(b"xx")  # from an interrupted run
    (out / "data" / "y.mp4").write_bytes(b"y")  # truncated: rewritten
    assert extract_zip(archive, out) == {"members": 2, "bytes": 5, "extracted": 1, "kept": 1}
    assert (out / "data" / "y.mp4").read_bytes() == b"yyy"
    assert sorted(p.name for p in (out / "data").iterdir()) == ["x.mp4", "y.mp4"]  # no temporary left


@pytest.mark.parametrize("member", ["../escape.mp4", "/abs/escape.mp4", "videos/../../escape.mp4"])
def test_archive_members_cannot_leave_the_folder(tmp_path, member):
    archive = tmp_path / "evil.zip"
    archive.write_bytes(zip_bytes({member: b"x"}))
    with pytest.raises(InputError, match=f"evil.zip, key '{member}': path would leave the benchmark folder"):
        extract_zip(archive, tmp_path / "out")
    tar = tmp_path / "evil.tar"
    tar.write_bytes(tar_bytes({member: b"x"}))
    with pytest.raises(InputError, match="path would leave the benchmark folder"):
        extract_tar([tar], tmp_path / "out")
    assert not (tmp_path / "escape.mp4").exists()


def test_corrupt_archives_name_the_file(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"bad.zip: not a readable zip archive"):
        extract_zip(tmp_path / "bad.zip", tmp_path / "out")
    (tmp_path / "bad.tar").write_bytes(b"x" * 700)
    with pytest.raises(InputError, match=r"bad.tar: not a readable tar archive"):
        extract_tar([tmp_path / "bad.tar"], tmp_path / "out")


def test_tar_links_are_skipped_not_followed(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        link = tarfile.TarInfo("videos/link.mp4")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    (tmp_path / "a.tar").write_bytes(buffer.getvalue())
    record = extract_tar([tmp_path / "a.tar"], tmp_path / "out")
    assert (
        record["skipped"] == ["videos/link.mp4"] and not (tmp_path / "out" / "videos" / "link.mp4").exists()
    )


def test_repository_paths_are_placed_safely(tmp_path):
    snapshot = populate_cache(tmp_path / "cache", "org/x", {"a/b.json": b"{}"}, repo_type="dataset")
    records = place_snapshot(snapshot, ["a/b.json"], tmp_path / "out")
    assert records == [{"path": "a/b.json", "bytes": 2, "placed": "linked"}]
    with pytest.raises(InputError, match="path would leave the benchmark folder"):
        place_snapshot(snapshot, ["../a/b.json"], tmp_path / "out")


def test_a_users_folder_is_checked_not_downloaded(tmp_path):
    with pytest.raises(
        InputError, match=r"no videomme data: the folder does not exist.*evaluate.benchmark_sources"
    ):
        fetch_benchmark("videomme", tmp_path / "videomme")
    (tmp_path / "videomme").mkdir()
    with pytest.raises(InputError, match=r"no Video-MME data: expected videomme/test-\*.parquet"):
        fetch_benchmark("videomme", tmp_path / "videomme")
    root = tmp_path / "mvbench"
    (root / "json").mkdir(parents=True)
    (root / "json" / "action_antonym.json").write_text(json.dumps(MVBENCH_JSON))
    manifest = fetch_benchmark("mvbench", root)
    assert manifest["source"] is None and "files" not in manifest
    assert manifest["layout"]["videos_missing"] == 2


def test_unknown_benchmark_and_missing_revision(tmp_path):
    with pytest.raises(InputError, match="unknown benchmark 'ego'"):
        fetch_benchmark("ego", tmp_path)
    with pytest.raises(InputError, match="key 'org/x': egoschema: a hub source needs a revision"):
        fetch_benchmark("egoschema", tmp_path, repo="org/x")
