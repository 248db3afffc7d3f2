"""Download EK100 annotation files from a pinned commit of their GitHub repository, sha256-checked.

The label space and the benchmark's row keys depend on these exact bytes, so a file whose hash
differs from the pinned one is never left where a later rule would read it. Each file goes
through :func:`actionmqa.download.fetch_file` (retried, resumed, verified).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from actionmqa.download import RetryPolicy, fetch_file
from actionmqa.ek100.schema import (
    NOUN_CLASSES_FILE,
    SPLIT_FILES,
    TAIL_NOUNS_FILE,
    TAIL_VERBS_FILE,
    UNSEEN_VAL_FILE,
    VERB_CLASSES_FILE,
    VIDEO_INFO_FILE,
)
from actionmqa.errors import InputError

log = logging.getLogger(__name__)

ANNOTATIONS_COMMIT = "ea8b40457a400c3fffa1c7f406ef3dc169cc2522"
DEFAULT_BASE_URL = (
    f"https://raw.githubusercontent.com/epic-kitchens/epic-kitchens-100-annotations/{ANNOTATIONS_COMMIT}"
)

#: sha256 of the files at ANNOTATIONS_COMMIT, computed from copies of that commit. EPIC_100_train.csv
#: is missing: no copy was available to hash, so it downloads unverified (its hash logged) until
#: a user pins it under the config key ``annotations.sha256``, which frozen runs require.
KNOWN_SHA256: dict[str, str] = {
    "EPIC_100_noun_classes.csv": "40f0a81c5bd06b33050df9f0bd17cd3c2fccd759f9581e4e5e04fec7562be893",
    "EPIC_100_noun_classes_v2.csv": "f36a1ba474c52ff505f25ca68854a44085e170d791e167ac9f15835f9fae4fbd",
    "EPIC_100_tail_nouns.csv": "62e3449a7a95fdcb43bc2eaa52a191844f4a566ff1178d2c867b0c0822387266",
    "EPIC_100_tail_verbs.csv": "6f124f23759b2bfaa742e071619d78a08b5d2f80147db9919c612c72c9774c94",
    "EPIC_100_test_timestamps.csv": "51760182029740428560d42661d1ac238d8b8878f442412d7ee268732d9af612",
    "EPIC_100_unseen_participant_ids_validation.csv": (
        "1274797112b20dd821cd10f62537545e669c4b7d742e36590e9f0f7ffb0c6a54"
    ),
    "EPIC_100_validation.csv": "35f7932ba0a1127a96cac215a98d35398946f343e3cea9ad6688ed17eee9d75d",
    "EPIC_100_verb_classes.csv": "aab8bf210d0234b6facb9b191ae402c03a5f8965d123586b4762d3468a85033e",
    "EPIC_100_video_info.csv": "75fd040f6662cb407b4ca2eed4811ca94df280a1aba00b6bf8a5cd286deff382",
}

#: Not in ``schema``: no loader of a directory reads it, only ``load_test_timestamps`` given its path.
TEST_TIMESTAMPS_FILE = "EPIC_100_test_timestamps.csv"

#: Everything ``load_annotation_dir`` and ``load_test_timestamps`` read.
DEFAULT_FILES: tuple[str, ...] = (
    *SPLIT_FILES.values(),
    VERB_CLASSES_FILE,
    NOUN_CLASSES_FILE,
    VIDEO_INFO_FILE,
    UNSEEN_VAL_FILE,
    TAIL_VERBS_FILE,
    TAIL_NOUNS_FILE,
    TEST_TIMESTAMPS_FILE,
)


def _relative_name(name: str) -> PurePosixPath:
    """A repository path such as ``EPIC_100_train.csv``; nothing that could escape ``out_dir``."""
    relative = PurePosixPath(name)
    if not name or relative.is_absolute() or ".." in relative.parts:
        raise InputError(None, "expected a file path inside the annotations repository", key=name)
    return relative


def fetch_annotations(
    base_url: str,
    files: Sequence[str],
    out_dir: Path,
    sha256: Mapping[str, str],
    *,
    policy: RetryPolicy | None = None,
    require_sha256: bool = False,
) -> dict[str, str]:
    """Download ``files`` from ``base_url`` into ``out_dir``, checking each against ``sha256`` where given.

    A file already present with the expected hash is kept as is, and a partial one is resumed.
    A file without a known hash downloads with a warning that gives its hash to pin, or, with
    ``require_sha256`` (a frozen run), is refused before anything is fetched. Returns
    ``{file: sha256}`` of every file.
    """
    out_dir = Path(out_dir)
    unpinned = [name for name in files if name not in sha256]
    if require_sha256 and unpinned:
        raise InputError(
            None,
            f"no pinned sha256 for {', '.join(unpinned)}; pin each under config key"
            " 'annotations.sha256' (its hash is logged by a run without frozen: true)",
            key=unpinned[0],
        )
    digests: dict[str, str] = {}
    for name in files:
        relative = _relative_name(name)
        url = f"{base_url.rstrip('/')}/{quote(str(relative))}"
        result = fetch_file(url, out_dir.joinpath(*relative.parts), sha256=sha256.get(name), policy=policy)
        digests[name] = result.sha256
        if not result.verified:
            log.warning(
                "%s has no known sha256, so it was not verified; it is %s: pin it under config key"
                " 'annotations.sha256' (%s: %s) so later runs check it",
                name,
                result.sha256,
                name,
                result.sha256,
            )
    return digests
