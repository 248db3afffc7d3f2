"""Shared fixtures: paths to the real-data fixture in ../shared (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_EK100 = REPO.parent / "shared" / "data" / "ek100"


@pytest.fixture(scope="session")
def real_ek100_dir() -> Path:
    """The real EK100 validation annotations; skips on a user's clone without ../shared."""
    if not (SHARED_EK100 / "EPIC_100_validation.csv").is_file():
        pytest.skip("../shared/data/ek100 is not present")
    return SHARED_EK100
