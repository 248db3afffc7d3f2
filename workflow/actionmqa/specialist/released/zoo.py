"""The public EK100 action-recognition checkpoints this workflow can use, and what each claims.

URLs and checksums are the publishers' own (AVION's ``docs/MODEL_ZOO.md`` and
``scripts/download_checkpoints.sh``, LaViLa's ``docs/MODEL_ZOO.md``). Both publish only the first
six hex digits of each file's md5, and no full checksum could be found upstream: a download is
checked against that prefix (it catches truncated and corrupt files, not a deliberate forgery),
and a frozen run refuses these files until their sha256 is pinned under the config key
``specialist.checkpoint_sha256`` (the fetch logs the sha256 of what it got).
"""

from __future__ import annotations

from dataclasses import dataclass

from actionmqa.errors import InputError
from actionmqa.specialist.released.architecture import Architecture

AVION_ZOO = "https://github.com/zhaoyue-zephyrus/AVION/blob/main/docs/MODEL_ZOO.md"
LAVILA_ZOO = "https://github.com/facebookresearch/LaViLa/blob/main/docs/MODEL_ZOO.md"


@dataclass(frozen=True)
class Published:
    """EK100 validation top-1 (%) as the publisher reports it (one clip, one crop)."""

    verb_top1: float
    noun_top1: float
    action_top1: float


@dataclass(frozen=True)
class Release:
    name: str
    title: str
    url: str
    #: The md5 prefix the publisher prints next to the link (all they give).
    md5_prefix: str
    architecture: Architecture
    published: Published
    source: str
    note: str = ""


RELEASES: dict[str, Release] = {
    release.name: release
    for release in (
        Release(
            name="avion_vitb_lavila",
            title="AVION ViT-B/16 (LaViLa-initialised), EK100 fine-tune",
            # The model zoo's share link 8iokob6a... as a direct link. download_checkpoints.sh saves
            # the *baseline* ViT-B URL (2fkvtc67..., md5 b40f3e) under this file's name: not used.
            url="https://utexas.box.com/shared/static/8iokob6ahb94gp1bqbmauhpeunqwx79j.pt",
            md5_prefix="6c3c5e",
            architecture=Architecture("avion_vit", width=768, layers=12, heads=12, patch=16),
            published=Published(verb_top1=70.0, noun_top1=59.4, action_top1=49.5),
            source=AVION_ZOO,
        ),
        Release(
            name="avion_vitl_lavila",
            title="AVION ViT-L/14 (LaViLa-initialised), EK100 fine-tune",
            url="https://utexas.box.com/shared/static/crnqo9bu0owtfz4yc1yqf8hz6g0ze39b.pt",
            md5_prefix="1871f4",
            architecture=Architecture("avion_vit", width=1024, layers=24, heads=16, patch=14),
            published=Published(verb_top1=73.0, noun_top1=65.4, action_top1=54.4),
            source=AVION_ZOO,
        ),
        Release(
            name="lavila_tsfl_multihead",
            title="LaViLa TimeSformer-L, EK100 fine-tune with verb, noun and action heads",
            url=(
                "https://dl.fbaipublicfiles.com/lavila/checkpoints/dual_encoders/ek100_cls/"
                "clip_openai_timesformer_large.ft_ek100_cls.ep_0090.md5sum_4a2509.pth"
            ),
            md5_prefix="4a2509",
            architecture=Architecture(
                "lavila_timesformer", width=1024, layers=24, heads=16, patch=14, n_verbs=97, n_nouns=300
            ),
            published=Published(verb_top1=72.0, noun_top1=62.9, action_top1=51.0),
            source=LAVILA_ZOO,
        ),
    )
}


def release(name: str) -> Release:
    try:
        return RELEASES[name]
    except KeyError:
        raise InputError(None, f"unknown checkpoint; known: {sorted(RELEASES)}", key=name) from None
