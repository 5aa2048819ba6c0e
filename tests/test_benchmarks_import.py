"""Every benchmark script imports: they run outside the test suite, so a helper renamed in one of them
would otherwise break another unnoticed."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

SCRIPTS = sorted(
    p.stem for p in (Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py") if p.stem != "__init__"
)


@pytest.mark.parametrize("name", SCRIPTS)
def test_benchmark_imports(name: str) -> None:
    importlib.import_module(f"benchmarks.{name}")


def test_benchmarks_run_shows_its_help_without_running_anything() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.startswith("usage:") and "--only" in done.stdout
    assert "==" not in done.stdout  # no benchmark started
