"""The CPU code-path pins: each library's own report says which path it runs on."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from actionmqa.determinism import AVX2_CODE_PATHS, AVX2_FLAGS, cpu_flags, pin_cpu_code_paths
from process_group import run_captured

# Two processors as Linux lists them (abridged): the flags line is per processor.
CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) CPU E5-2680 v3 @ 2.50GHz
flags\t\t: fpu vme sse sse2 ssse3 fma cx16 sse4_1 sse4_2 avx f16c avx2 bmi1 bmi2

processor\t: 1
vendor_id\t: GenuineIntel
flags\t\t: fpu vme sse sse2 ssse3 fma cx16 sse4_1 sse4_2 avx f16c avx2 bmi1 bmi2
"""


def test_cpu_flags_are_read_from_the_flags_line(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(CPUINFO)
    flags = cpu_flags(cpuinfo)
    assert {"avx2", "fma", "sse4_2", "bmi2"} <= flags
    assert "avx512f" not in flags and "GenuineIntel" not in flags


def test_no_cpuinfo_means_no_flags(tmp_path: Path) -> None:
    assert cpu_flags(tmp_path / "absent") == frozenset()


def test_an_avx2_cpu_gets_every_pin_and_a_users_setting_stays() -> None:
    environ = {"MKL_CBWR": "COMPATIBLE", "HOME": "/home/me"}
    pinned = pin_cpu_code_paths(environ, flags=frozenset({"sse4_2", "avx", "avx2", "fma"}))
    assert environ == {
        "HOME": "/home/me",
        "MKL_CBWR": "COMPATIBLE",
        "ATEN_CPU_CAPABILITY": "avx2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "OPENBLAS_CORETYPE": "Haswell",
    }
    assert set(pinned) == {"ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "OPENBLAS_CORETYPE"}


@pytest.mark.parametrize("flags", [{"sse4_2", "avx"}, {"avx2"}, set()])
def test_without_avx2_and_fma_nothing_is_forced(flags: set[str]) -> None:
    environ: dict[str, str] = {}
    assert pin_cpu_code_paths(environ, flags=frozenset(flags)) == {}
    assert environ == {}


# What the command's process runs on, as torch and threadpoolctl (OpenBLAS's own config) report it.
REPORT = """
import contextlib, io
from actionmqa.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main(["--help"])
import threadpoolctl, torch
print(torch.backends.cpu.get_cpu_capability())
blas = threadpoolctl.threadpool_info()
print(*sorted({lib["architecture"] for lib in blas if lib["internal_api"] == "openblas"}))
"""


@pytest.mark.skipif(not AVX2_FLAGS <= cpu_flags(), reason="the CPU has no AVX2: nothing is pinned")
def test_the_command_computes_on_the_avx2_paths_whatever_the_cpu_offers_above() -> None:
    env = {name: value for name, value in os.environ.items() if name not in AVX2_CODE_PATHS}
    done = run_captured([sys.executable, "-c", REPORT], env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["AVX2", "Haswell"]
