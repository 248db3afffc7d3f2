"""``actionmqa specialist convert | score | rank`` end to end on a tiny kitchen, then ``mqa build``.

Tiny random AVION and LaViLa models in the released file format score six rendered clips in two
shards each; their ensemble (the TIM stand-in) ranks 100 of the 120 actions per clip.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from actionmqa.cli import main
from actionmqa.ek100.annotations import load_annotation_dir
from actionmqa.errors import InputError
from actionmqa.specialist.predictions import read_prediction_source
from actionmqa.specialist.released.architecture import Architecture
from actionmqa.specialist.released.run import IN_SAMPLE_NOTE, RankJob, actions_digest, label_space, rank_split
from actionmqa.specialist.released.scores import ScoreShard
from released_upstream import (
    AvionVideoClassifier,
    AvionVisionTransformer,
    SpaceTimeTransformer,
    VideoClassifierMultiHead,
    randomise,
    write_release,
)
from released_world import VAL_LABELS, write_annotations, write_val_video

WIDTH, LAYERS, HEADS, PATCH, IMAGE, FRAMES = 32, 2, 4, 8, 32, 4
AVION = Architecture("avion_vit", WIDTH, LAYERS, HEADS, PATCH, image_size=IMAGE, frames=FRAMES)
LAVILA = replace(AVION, family="lavila_timesformer", n_verbs=12, n_nouns=10)


def cli(*argv: object) -> None:
    assert main([str(arg) for arg in argv]) == 0


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("released_cli")
    annotations = write_annotations(root / "annotations")
    write_val_video(root / "videos")
    actions = list(label_space(load_annotation_dir(annotations)))
    sizes = (IMAGE, PATCH, WIDTH, LAYERS, HEADS, FRAMES)
    upstream = {
        "avion": (AvionVideoClassifier(AvionVisionTransformer(*sizes), 120), AVION),
        "lavila": (VideoClassifierMultiHead(SpaceTimeTransformer(*sizes), [12, 10, 120]), LAVILA),
    }
    paths = {"root": root, "annotations": annotations}
    for seed, (name, (model, arch)) in enumerate(upstream.items()):
        write_release(root / f"{name}.pt", randomise(model, seed), actions)
        (root / f"{name}.json").write_text(json.dumps(arch.to_dict()))
        cli(
            "specialist", "convert", "--annotations-dir", annotations, "--checkpoint", name,
            "--release", root / f"{name}.pt", "--architecture", root / f"{name}.json", "--out", root / name,
        )  # fmt: skip
        for shard in range(2):
            score(paths, name, shard, 2)
    score(paths, "avion", 0, 1)
    return paths


def score(paths: dict[str, Path], name: str, shard: int, shards: int) -> Path:
    out = paths["root"] / "scores" / f"{name}_validation_{shard}-of-{shards}.npz"
    cli(
        "specialist", "score", "--annotations-dir", paths["annotations"], "--model", paths["root"] / name,
        "--split", "validation", "--shard", shard, "--shards", shards, "--video-root",
        paths["root"] / "videos", "--layout", "whole", "--backend", "pyav", "--batch-size", 2,
        "--device", "cpu", "--out", out,
    )  # fmt: skip
    return out


def shards_of(paths: dict[str, Path], name: str) -> list[Path]:
    return [paths["root"] / "scores" / f"{name}_validation_{i}-of-2.npz" for i in range(2)]


@pytest.fixture(scope="module")
def ensemble(world: dict[str, Path]) -> dict[str, Path]:
    out = world["root"] / "tim_standin"
    files = {
        "predictions": out / "predictions_validation.json",
        "manifest": out / "p_validation.manifest.json",
    }
    cli(
        "specialist", "rank", "--annotations-dir", world["annotations"], "--split", "validation",
        "--member", "avion", *shards_of(world, "avion"), "--member", "lavila", *shards_of(world, "lavila"),
        "--variant", "tim_standin", "--description", "AVION ViT-L + LaViLa TSF-L", "--stands-in-for", "TIM",
        "--out", files["predictions"], "--manifest", files["manifest"],
    )  # fmt: skip
    return files


def test_prediction_file_is_in_the_upstream_format(world, ensemble) -> None:
    text = ensemble["predictions"].read_text()
    document = json.loads(text, object_pairs_hook=list)  # keys in file order
    assert [key for key, _ in document] == [str(row) for row in range(len(VAL_LABELS))]
    segments = load_annotation_dir(world["annotations"]).split("validation")
    probs = np.mean(
        [
            np.concatenate([ScoreShard.load(p).probs["action"] for p in shards_of(world, m)])
            for m in ("avion", "lavila")
        ],
        axis=0,
    )
    actions = label_space(load_annotation_dir(world["annotations"]))
    for (key, entry), row_probs in zip(document, probs, strict=True):
        entry = dict(entry)
        assert list(entry) == ["predictions", "target"]
        assert entry["target"] == segments.at[int(key), "vn"] == "{}:{}".format(*VAL_LABELS[int(key)])
        predictions = entry["predictions"]
        assert len(predictions) == 100 == len(set(predictions))
        scores = row_probs[[actions.index(vn) for vn in predictions]]
        assert np.all(np.diff(scores) <= 0)  # best first
        assert scores[-1] >= np.sort(row_probs)[-100]  # and the best 100


def test_manifest_accuracy_equals_the_file(world, ensemble) -> None:
    manifest = json.loads(ensemble["manifest"].read_text())
    document = json.loads(ensemble["predictions"].read_text())
    hits = {k: np.mean([e["target"] in e["predictions"][:k] for e in document.values()]) for k in (1, 5)}
    assert manifest["metrics"]["action_top1"] == pytest.approx(hits[1])
    assert manifest["metrics"]["action_top5"] == pytest.approx(hits[5])
    assert manifest["stands_in_for"] == "TIM" and sorted(manifest["members"]) == ["avion", "lavila"]
    assert manifest["in_sample"] is False and manifest["in_sample_note"] is None
    assert manifest["rows"] == len(VAL_LABELS) and manifest["top_k"] == 100

    out = world["root"] / "metrics.json"
    variant = f"tim_standin={ensemble['manifest']}"
    cli("specialist", "summarize", "--variant", variant, "--primary", "tim_standin", "--out", out)
    summary = json.loads(out.read_text())
    assert summary["val"] == manifest["metrics"] and summary["train_cv"] is None
    assert summary["variants"]["tim_standin"]["val"]["action_top5"] == pytest.approx(hits[5])
    assert summary["variants"]["tim_standin"]["source"]["stands_in_for"] == "TIM"


def test_mqa_build_and_validate_accept_the_file(world, ensemble) -> None:
    cli("specialist", "validate", "--annotations-dir", world["annotations"], "--split", "validation",
        "--predictions", ensemble["predictions"], "--min-k", 100)  # fmt: skip
    out = world["root"] / "mqa" / "validation_hard.jsonl"
    cli(
        "mqa", "build", "--annotations-dir", world["annotations"], "--split", "validation", "--distractors",
        "hard", "--predictions", ensemble["predictions"], "--predictions-manifest", ensemble["manifest"],
        "--source-name", "tim-standin", "--seed", 0, "--out", out,
    )  # fmt: skip
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == len(VAL_LABELS) and {r["distractor_source"] for r in records} == {"tim-standin"}
    manifest = json.loads(out.with_suffix(".manifest.json").read_text())
    assert manifest["distractor_specialist"]["stands_in_for"] == "TIM"
    assert manifest["distractor_specialist"]["in_sample"] is False
    assert manifest["inputs"]["predictions_manifest"]["file"] == ensemble["manifest"].name


def test_a_manifest_of_other_predictions_is_refused(world, ensemble, tmp_path) -> None:
    other = tmp_path / "other.json"
    other.write_text(ensemble["predictions"].read_text().replace('"target"', '"target" ', 1))
    with pytest.raises(InputError, match="describes another file") as caught:
        read_prediction_source(ensemble["manifest"], other)
    assert caught.value.key == "predictions.sha256"


def test_sft_manifest_says_the_train_predictions_are_in_sample(world, tmp_path) -> None:
    annotations = load_annotation_dir(world["annotations"])
    actions = label_space(annotations)
    rows = annotations.split("train").index.to_numpy()
    probs = np.random.default_rng(1).dirichlet(np.ones(len(actions)), len(rows)).astype(np.float32)
    meta = {"model": {"source": {"checkpoint": "avion"}, "actions_sha256": actions_digest(actions)}}
    ScoreShard(rows=rows, probs={"action": probs}, meta=meta).save(tmp_path / "train.npz")
    predictions, manifest = tmp_path / "predictions_train.json", tmp_path / "predictions_train.manifest.json"
    rank_split(
        RankJob(
            annotations_dir=world["annotations"],
            split="train",
            members={"avion": [tmp_path / "train.npz"]},
            top_k=100,
            variant="avion",
            out=predictions,
            manifest=manifest,
        )  # fmt: skip
    )
    mixture = tmp_path / "mixture.yaml"
    mixture.write_text(
        "options: 5\nhard_mqa: {fraction: 1.0}\nrandom_mqa: {fraction: 0.0}\nprior_actions: {fraction: 0.0}\n"
        "direct_narration: {fraction: 0.0}\ntemporal_detection: {fraction: 0.0}\ncaption: {fraction: 0.0}\n"
        "open_qa: {fraction: 0.0}\nreplay: {fraction: 0.0}\n"
    )
    out = tmp_path / "sft.jsonl"
    cli(
        "sft", "build", "--annotations-dir", world["annotations"], "--split", "train", "--mixture", mixture,
        "--seed", 0, "--predictions", f"avion={predictions}", "--predictions-manifest", f"avion={manifest}",
        "--out", out,
    )  # fmt: skip
    source = json.loads(out.with_suffix(".manifest.json").read_text())["prediction_sources"]["avion"]
    assert source["in_sample"] is True and source["in_sample_note"] == IN_SAMPLE_NOTE


def test_one_shard_and_two_shards_agree(world) -> None:
    one = ScoreShard.load(world["root"] / "scores" / "avion_validation_0-of-1.npz")
    two = [ScoreShard.load(path) for path in shards_of(world, "avion")]
    assert [shard.rows.tolist() for shard in two] == [[0, 1, 2], [3, 4, 5]]
    np.testing.assert_allclose(
        np.concatenate([s.probs["action"] for s in two]), one.probs["action"], atol=1e-6
    )
    assert set(two[0].probs) == {"action"}
    assert set(ScoreShard.load(shards_of(world, "lavila")[0]).probs) == {"verb", "noun", "action"}


def test_lone_multi_head_model_reports_its_own_heads(world) -> None:
    out = world["root"] / "lavila_only"
    manifest = rank_split(
        RankJob(
            annotations_dir=world["annotations"],
            split="validation",
            members={"lavila": shards_of(world, "lavila")},
            top_k=100,
            variant="lavila",
            out=out / "p.json",
            manifest=out / "p.manifest.json",
        )  # fmt: skip
    )
    assert manifest["verb_noun_scores"] == "the model's own verb and noun heads"
    assert manifest["action_scores"] == "the action head's softmax"


def test_train_predictions_are_marked_in_sample(world) -> None:
    annotations = load_annotation_dir(world["annotations"])
    actions = label_space(annotations)
    rows = annotations.split("train").index.to_numpy()
    probs = np.random.default_rng(0).dirichlet(np.ones(len(actions)), len(rows)).astype(np.float32)
    shard = ScoreShard(
        rows=rows,
        probs={"action": probs},
        meta={"model": {"source": {}, "actions_sha256": actions_digest(actions)}},
    )
    shard.save(world["root"] / "train.npz")
    out = world["root"] / "train"
    manifest = rank_split(
        RankJob(
            annotations_dir=world["annotations"],
            split="train",
            members={"avion": [world["root"] / "train.npz"]},
            top_k=100,
            variant="avion",
            out=out / "p.json",
            manifest=out / "p.manifest.json",
        )  # fmt: skip
    )
    assert manifest["in_sample"] is True and manifest["in_sample_note"] == IN_SAMPLE_NOTE
    assert "fine-tuned on EK100 train" in IN_SAMPLE_NOTE
    assert "unseen_action_top1" not in manifest["metrics"]


def test_scoring_refuses_annotations_with_another_label_space(world, tmp_path) -> None:
    other = write_annotations(tmp_path / "annotations")
    train = other / "EPIC_100_train.csv"
    train.write_text("".join(train.read_text().splitlines(keepends=True)[:-1]))  # 11:9 occurs only there
    with pytest.raises(InputError, match="converted for 120 actions but the annotations give 119") as caught:
        main_raising(
            "specialist", "score", "--annotations-dir", other, "--model", world["root"] / "avion", "--split",
            "validation", "--shard", 0, "--shards", 1, "--video-root", world["root"] / "videos", "--out",
            tmp_path / "x.npz",
        )  # fmt: skip
    assert caught.value.key == "actions" and not (tmp_path / "x.npz").exists()


def test_ranking_refuses_shards_of_another_label_space(world, tmp_path) -> None:
    stale = [tmp_path / f"stale_{i}.npz" for i in range(2)]
    for path, fresh in zip(stale, shards_of(world, "avion"), strict=True):
        shard = ScoreShard.load(fresh)
        ScoreShard(shard.rows, shard.probs, meta={"model": {"actions_sha256": "0" * 64}}).save(path)
    with pytest.raises(InputError, match="another label space") as caught:
        rank_split(
            RankJob(
                annotations_dir=world["annotations"],
                split="validation",
                members={"avion": stale},
                top_k=100,
                variant="v",
                out=tmp_path / "p.json",
                manifest=tmp_path / "m.json",
            )
        )
    assert caught.value.path == str(stale[0]) and not (tmp_path / "p.json").exists()


def main_raising(*argv: object) -> None:
    """Run a verb with the InputError propagating (``main`` turns it into exit status 2)."""
    import argparse

    from actionmqa.specialist.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="stage"))
    args = parser.parse_args([str(arg) for arg in argv])
    args.func(args)
