"""Download EK100 annotation files from a pinned commit of their GitHub repository, sha256-checked.

The label space and the benchmark's row keys depend on these exact bytes, so a file whose hash
differs from the pinned one is never left where a later rule would read it.
"""

from __future__ import annotations

import hashlib
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import quote

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
from actionmqa.io import atomic_open, sha256_file

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

_CHUNK = 1 << 20


def _relative_name(name: str) -> PurePosixPath:
    """A repository path such as ``EPIC_100_train.csv``; nothing that could escape ``out_dir``."""
    relative = PurePosixPath(name)
    if not name or relative.is_absolute() or ".." in relative.parts:
        raise InputError(None, "expected a file path inside the annotations repository", key=name)
    return relative


def download_checked(
    url: str, target: Path, expected: str | None, timeout: float, *, algorithm: str = "sha256"
) -> str:
    """Stream ``url`` to ``target`` atomically; a digest other than ``expected`` keeps nothing.

    Returns the file's digest (hex) under ``algorithm``.
    """
    digest = hashlib.new(algorithm)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, atomic_open(target, "wb") as out:
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
            actual = digest.hexdigest()
            if expected is not None and actual != expected.lower():
                # Raised inside atomic_open: the temporary file is removed, nothing takes the target's place.
                raise InputError(
                    target,
                    f"{algorithm} mismatch for {url}: expected {expected}, got {actual}; file not kept",
                )
        return actual
    except urllib.error.HTTPError as exc:
        raise InputError(url, f"download failed: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise InputError(url, f"download failed: {exc.reason}") from exc
    except (TimeoutError, ConnectionError) as exc:
        raise InputError(url, f"download failed: {type(exc).__name__} {exc}") from exc


def fetch_annotations(
    base_url: str,
    files: Sequence[str],
    out_dir: Path,
    sha256: Mapping[str, str],
    *,
    timeout: float = 60.0,
    require_sha256: bool = False,
) -> dict[str, str]:
    """Download ``files`` from ``base_url`` into ``out_dir``, checking each against ``sha256`` where given.

    A file already present with the expected hash is kept as is, so an interrupted run resumes.
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
        target = out_dir.joinpath(*relative.parts)
        expected = sha256.get(name)
        if expected is not None and target.is_file() and sha256_file(target) == expected.lower():
            log.info("%s already present with the expected sha256", target)
            digests[name] = expected.lower()
            continue
        url = f"{base_url.rstrip('/')}/{quote(str(relative))}"
        log.info("downloading %s", url)
        digests[name] = download_checked(url, target, expected, timeout)
        if expected is None:
            log.warning(
                "%s has no known sha256, so it was not verified; it is %s: pin it under config key"
                " 'annotations.sha256' (%s: %s) so later runs check it",
                name,
                digests[name],
                name,
                digests[name],
            )
    return digests
