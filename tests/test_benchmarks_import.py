"""Every benchmark script imports: they run outside the test suite, so a helper renamed in one of them
would otherwise break another unnoticed."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

SCRIPTS = sorted(
    p.stem for p in (Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py") if p.stem != "__init__"
)


@pytest.mark.parametrize("name", SCRIPTS)
def test_benchmark_imports(name: str) -> None:
    importlib.import_module(f"benchmarks.{name}")
