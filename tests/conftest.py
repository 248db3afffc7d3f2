"""Shared fixtures: paths to the real-data fixture in ../shared (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from actionmqa.determinism import pin_cpu_code_paths

# As `actionmqa` does before it imports a numeric library: a test that trains in this process and
# one that runs the command compute on the same kernels.
pin_cpu_code_paths()

REPO = Path(__file__).resolve().parents[1]
SHARED_EK100 = REPO.parent / "shared" / "data" / "ek100"


@pytest.fixture(scope="session")
def real_ek100_dir() -> Path:
    """The real EK100 validation annotations; skips on a user's clone without ../shared."""
    if not (SHARED_EK100 / "EPIC_100_validation.csv").is_file():
        pytest.skip("../shared/data/ek100 is not present")
    return SHARED_EK100


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test's HTTP goes straight to its loopback server (127.0.0.1), never through a proxy
    the machine's environment names."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
