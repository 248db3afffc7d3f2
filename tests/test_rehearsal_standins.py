"""The rehearsal's stand-ins: each in the real format its download expects, each read back by the
real reader (annotations, videos, LLaVA-NeXT checkpoints, specialist releases, hub benchmarks,
the teacher), and the config that points the paper's run at them."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import urllib.request
import zipfile
from fractions import Fraction
from pathlib import Path

import av
import pytest
import torch
from transformers import Qwen2Config, SiglipVisionConfig

from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.ek100.fetch import KNOWN_SHA256
from actionmqa.io import sha256_file
from actionmqa.rehearsal import annotations, benchmarks, hub_models, llava_next, specialists, teacher
from actionmqa.rehearsal.service import RehearsalService, url_problems
from actionmqa.specialist.released.release_file import load_release
from actionmqa.specialist.released.zoo import RELEASES
from actionmqa.teacher.schemas import CaptionResponse, QAExpansionResponse, response_format
from test_model_convert_oracle import (
    LABELS,
    TEXT,
    TOWER,
    action_shapes,
    multimodal_shapes,
    qwen2_shapes,
    siglip_tower_shapes,
)
from workflow_helpers import merged_config

REPO = Path(__file__).resolve().parents[1]
FIXTURE = annotations.FIXTURE


def paper_and_rehearsal() -> dict:
    return merged_config("config/paper.yaml", "config/rehearsal.yaml")


# ---------------------------------------------------------------- annotations


def test_pins_of_the_rehearsal_config_are_the_fixtures_hashes():
    pins = paper_and_rehearsal()["annotations"]["sha256"]
    assert pins == {name: sha256_file(FIXTURE / name) for name in pins}
    assert sorted(pins) == ["EPIC_100_train.csv", "EPIC_100_validation.csv", "EPIC_100_video_info.csv"]
    # every other file is the pinned commit's own, so the download checks it against the known hash
    for name in annotations.UNMODIFIED:
        assert sha256_file(FIXTURE / name) == KNOWN_SHA256[name], name


def test_synthetic_train_is_what_the_generator_writes():
    assert annotations.synthetic_train(FIXTURE) == (FIXTURE / "EPIC_100_train.csv").read_text()


def test_fixture_is_a_valid_annotation_set_with_a_full_top_100():
    data = load_annotation_dir(FIXTURE)
    val, train = data.split("validation"), data.split("train")
    assert sorted(set(val["video_id"])) == list(annotations.VAL_VIDEOS) and len(val) == 21
    assert sorted(set(train["video_id"])) == list(annotations.TRAIN_VIDEOS)
    actions = {(v, n) for v, n in zip(train["verb_class"], train["noun_class"], strict=True)}
    assert len(actions) == len(train) > 100  # the specialists' top-100 lists are full
    assert {(v, n) for v, n in zip(val["verb_class"], val["noun_class"], strict=True)} <= actions
    assert "P32" in set(val["participant_id"])  # an unseen participant


@pytest.mark.realdata
def test_fixture_rows_are_the_real_files_lines(real_ek100_dir):
    for name, keep in (
        ("EPIC_100_validation.csv", annotations.VAL_VIDEOS),
        ("EPIC_100_video_info.csv", (*annotations.VAL_VIDEOS, *annotations.TRAIN_VIDEOS)),
    ):
        real = (real_ek100_dir / name).read_text().splitlines(keepends=True)
        ours = (FIXTURE / name).read_text().splitlines(keepends=True)
        assert ours[0] == real[0] and set(ours[1:]) <= set(real[1:])
        assert len(ours) - 1 == sum(
            line.split(",")[2 if "validation" in name else 0] in keep for line in real[1:]
        )


# ---------------------------------------------------------------- videos


def test_videos_have_the_real_durations_and_rates_in_the_official_layout(tmp_path):
    from actionmqa.rehearsal.videos import render_videos

    frames = render_videos(FIXTURE, tmp_path)
    assert sorted(frames) == sorted((*annotations.VAL_VIDEOS, *annotations.TRAIN_VIDEOS))
    path = tmp_path / "P03" / "videos" / "P03_26.MP4"
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == Fraction(60000, 1001)
        assert (stream.width, stream.height) == (64, 36)
        decoded = sum(1 for _ in container.decode(stream))
    assert decoded == frames["P03_26"] == round(11.127783 * Fraction(60000, 1001))


# ---------------------------------------------------------------- hub checkpoints


@pytest.mark.parametrize("tied,action", [(False, True), (True, False)])
def test_llava_next_tensors_have_llava_next_names(tied, action):
    """The stand-in's tensors (transformers' modules under LLaVA-NeXT's names) against the conversion
    oracle's hand-written key list, at the oracle's sizes."""
    vocab = 50
    text = Qwen2Config(vocab_size=vocab, **TEXT, tie_word_embeddings=tied)
    tensors = llava_next.llava_next_tensors(
        text, SiglipVisionConfig(**TOWER), labels=LABELS if action else None, seed=0
    )
    expected = qwen2_shapes(vocab, tied) | siglip_tower_shapes() | multimodal_shapes()
    if action:
        expected |= action_shapes()
    assert {k: tuple(v.shape) for k, v in tensors.items()} == expected


# The two other releases (LLaVA-Video-7B, LLaVAction-0.5B) run in the slow rehearsal test.
@pytest.mark.parametrize(
    "repo", ["lmms-lab/llava-onevision-qwen2-0.5b-ov", "MLAdaptiveIntelligence/LLaVAction-7B"]
)
def test_cached_checkpoints_download_and_convert(tmp_path, repo):
    from actionmqa.model.convert import convert
    from actionmqa.model.download import download_checkpoint

    revision = "0123456789abcdef0123456789abcdef01234567" if "lmms-lab" in repo else "main"
    commit = hub_models.cache_checkpoint(tmp_path / "hub", repo, revision, FIXTURE)
    assert commit == revision or (revision == "main" and len(commit) == 40)
    folder = download_checkpoint(repo, revision, tmp_path / "ck", cache_dir=tmp_path / "hub", offline=True)
    raw = json.loads((folder / "config.json").read_text())
    kind = hub_models.RELEASE_KINDS[repo]
    assert raw["model_type"] == "llava_qwen" and raw["mm_newline_position"] == kind.newline_position
    assert raw.get("action_types") == ("97,300,3806" if kind.action_token else None)
    config = convert(folder, tmp_path / "converted")
    assert config.action_token == kind.action_token and config.tie_word_embeddings == kind.tied
    assert (config.num_verbs, config.num_nouns, config.num_actions) == (97, 300, 3806)
    # it answers like a multiple-choice model: a letter, then the end of its turn
    from transformers import AutoTokenizer

    from actionmqa.model.modeling import LlavaActionForConditionalGeneration
    from actionmqa.prompts import chat_prompt, llava_user_text, mqa_prompt

    model = LlavaActionForConditionalGeneration.from_pretrained(tmp_path / "converted").eval()
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "converted")
    prompt = chat_prompt(llava_user_text(mqa_prompt(["take cup", "open fridge", "close oven", "wash plate"])))
    ids = tokenizer(prompt, return_tensors="pt").input_ids
    answer = model.generate(input_ids=ids, max_new_tokens=1024, do_sample=False)[0, ids.shape[1] :]
    assert tokenizer.decode(answer) == "A<|im_end|>"


def test_unknown_repository_has_no_stand_in(tmp_path):
    with pytest.raises(Exception, match="key 'org/other': no stand-in for this repository"):
        hub_models.cache_checkpoint(tmp_path, "org/other", "main", FIXTURE)


# ---------------------------------------------------------------- specialists


def test_specialist_release_has_the_published_md5_prefix_and_converts(tmp_path):
    from actionmqa.specialist.released.run import convert

    name = "avion_vitl_lavila"
    sizes = paper_and_rehearsal()["specialist"]["releases"][name]["sizes"]
    path = tmp_path / f"{name}.pt"
    arch = specialists.write_standin(name, sizes, FIXTURE, path)
    data = path.read_bytes()
    assert hashlib.md5(data).hexdigest().startswith(RELEASES[name].md5_prefix)
    assert zipfile.ZipFile(io.BytesIO(data)).comment.startswith(specialists.COMMENT)
    release = load_release(path)
    assert set(release.other_keys) == {"args", "best_acc1", "epoch", "optimizer", "scaler"}
    assert all(key.startswith("module.") for key in release.state_dict)
    converted = convert(path, FIXTURE, tmp_path / "converted", name=name, arch=arch, release=RELEASES[name])
    assert converted.architecture.width == sizes["width"] and len(converted.actions) == 121


def test_multihead_release_converts(tmp_path):
    """LaViLa's three heads (97 verbs, 300 nouns, the actions), without the md5 search of the test above."""
    from actionmqa.specialist.released.run import convert, label_space

    name = "lavila_tsfl_multihead"
    actions = label_space(load_annotation_dir(FIXTURE))
    arch = specialists.standin_architecture(name, {"width": 32, "layers": 1, "heads": 2, "patch": 16,
                                                   "image_size": 32}, len(actions))  # fmt: skip
    (tmp_path / "release.pt").write_bytes(
        specialists.release_bytes(specialists.random_release_state(arch, 0), actions)
    )
    converted = convert(
        tmp_path / "release.pt", FIXTURE, tmp_path / "out", name=name, arch=arch, release=None
    )
    assert [converted.architecture.head_size(h) for h in converted.architecture.heads_out] == [97, 300, 121]


def test_md5_prefix_needs_a_zip_without_comment():
    with pytest.raises(ValueError, match="expected a zip archive without an archive comment"):
        specialists.match_md5_prefix(b"not a zip at all, not even close to one", "abc")
    data = specialists.match_md5_prefix(_torch_bytes(), "0")
    assert hashlib.md5(data).hexdigest().startswith("0") and torch.load(io.BytesIO(data))["a"] == 1


def _torch_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.save({"a": 1}, buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- benchmarks


def test_pack_uses_each_hosts_archive_formats():
    files = {
        "videos/a.mp4": b"a" * 10,
        "videos/b.mp4": b"b" * 10,
        "subtitles/a_en.json": b"[]",
        "lvb_val.json": b"[]",
    }
    repository = benchmarks.pack(files, benchmarks.ARCHIVES["longvideobench"])
    assert sorted(repository) == ["lvb_val.json", "subtitles.tar", "videos.tar.part.aa", "videos.tar.part.ab",
                                  "videos.tar.part.ac"]  # fmt: skip
    joined = b"".join(repository[f"videos.tar.part.a{c}"] for c in "abc")
    with tarfile.open(fileobj=io.BytesIO(joined)) as tar:
        assert {m.name: tar.extractfile(m).read() for m in tar} == {
            k: files[k] for k in ("videos/a.mp4", "videos/b.mp4")
        }
    zipped = benchmarks.pack({"data/x.mp4": b"x", "data/y.mp4": b"y", "videomme/t.parquet": b"p",
                              "subtitle/x.srt": b"s"}, benchmarks.ARCHIVES["videomme"])  # fmt: skip
    assert sorted(zipped) == [
        "subtitle.zip",
        "videomme/t.parquet",
        "videos_chunked_01.zip",
        "videos_chunked_02.zip",
    ]
    assert zipfile.ZipFile(io.BytesIO(zipped["videos_chunked_02.zip"])).namelist() == ["data/y.mp4"]


def test_cached_benchmarks_are_fetched_into_the_adapters_layout(tmp_path):
    from actionmqa.bench.fetch import fetch_benchmark

    sources = paper_and_rehearsal()["evaluate"]["benchmark_sources"]
    commits = benchmarks.cache_benchmarks(tmp_path / "hub", sources)
    for name, source in sources.items():
        manifest = fetch_benchmark(
            name, tmp_path / name, repo=source["hub"], revision=source["revision"],
            allow_patterns=source["allow_patterns"], cache_dir=tmp_path / "hub", offline=True,
        )  # fmt: skip
        assert manifest["source"]["commit"] == commits[name]
        # each question file cut to its first rows (MVBench: 7 task files of 2)
        assert manifest["layout"]["questions"] == (14 if name == "mvbench" else 8), name
        assert manifest["layout"]["videos_missing"] == 0, name


# ---------------------------------------------------------------- teacher and server


@pytest.mark.parametrize("model", [CaptionResponse, QAExpansionResponse])
def test_teacher_answers_in_the_requested_schema(model):
    body = {
        "messages": [{"role": "system", "content": "caption this"}],
        "response_format": response_format(model),
    }
    reply = model.model_validate_json(teacher.answer(body))
    assert all(teacher.STAND_IN in v for v in reply.model_dump().values() if isinstance(v, str))
    other = {**body, "messages": [{"role": "system", "content": "another clip"}]}
    assert teacher.answer(other) != teacher.answer(body) == teacher.answer(json.loads(json.dumps(body)))


def test_rehearsal_urls_must_name_the_servers_port_and_mounts():
    config = paper_and_rehearsal()
    assert url_problems(config, "http://127.0.0.1:48731/v1") == []
    config["annotations"]["base_url"] = "http://127.0.0.1:9999/ek100-annotations"
    config["specialist"]["releases"]["avion_vitl_lavila"]["url"] = "http://127.0.0.1:48731/elsewhere/a.pt"
    problems = url_problems(config, "https://api.openai.com/v1")
    assert [p.split(":")[0] for p in problems] == [
        "config key 'annotations.base_url'",
        "config key 'specialist.releases.avion_vitl_lavila.url'",
        "config key 'sft.teacher_config",
    ]


def test_service_serves_annotations_files_and_the_teacher(tmp_path):
    (tmp_path / "specialists").mkdir()
    (tmp_path / "specialists" / "x.pt").write_bytes(b"weights")
    service = RehearsalService(0, tmp_path)
    service.start()
    try:
        url = service._running.server.url
        with urllib.request.urlopen(f"{url}/ek100-annotations/EPIC_100_validation.csv") as reply:
            assert reply.read() == (FIXTURE / "EPIC_100_validation.csv").read_bytes()
        with urllib.request.urlopen(f"{url}/files/specialists/x.pt") as reply:
            assert reply.read() == b"weights"
        for missing in ("/files/../annotations.py", "/other/x.pt", "/files/specialists/"):
            with pytest.raises(urllib.error.HTTPError, match="404"):
                urllib.request.urlopen(url + missing)
        body = json.dumps({"messages": [], "response_format": response_format(CaptionResponse)}).encode()
        request = urllib.request.Request(f"{url}/v1/chat/completions", data=body, method="POST")
        with urllib.request.urlopen(request) as reply:
            content = json.loads(reply.read())["choices"][0]["message"]["content"]
        assert CaptionResponse.model_validate_json(content).disagree_with_human_annotation is False
        busy = RehearsalService(service._running.server.server_address[1], tmp_path)
        with pytest.raises(OSError, match="cannot listen on .* rehearsal.port"):
            busy.start()
    finally:
        service.stop()
    service.stop()  # a second stop (onerror after onsuccess failed) is harmless
