"""Files compared by their SHA-256, not their bytes.

On an unequal ``a.read_bytes() == b.read_bytes()`` pytest's assertion rewriting diffs the two
byte strings with difflib, which is quadratic: on a model file of a few MB it runs for hours (a
CI run timed out so). A digest comparison fails at once with two short strings.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256(path: Path) -> str:
    """The file's SHA-256, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
