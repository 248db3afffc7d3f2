"""Deterministic randomness: every draw is a function of (global seed, sample uid, purpose).

Python's ``hash`` is salted per process and NumPy's global state depends on call order, so
neither can make a file byte-identical across runs, row orders and worker counts. A
generator seeded from a SHA-256 of the key parts can.
"""

from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(*parts: object) -> int:
    """A 64-bit integer seed from the string forms of ``parts`` (order matters)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def rng_for(*parts: object) -> np.random.Generator:
    """A NumPy generator private to one (seed, uid, purpose, ...) key."""
    return np.random.Generator(np.random.PCG64(derive_seed(*parts)))
