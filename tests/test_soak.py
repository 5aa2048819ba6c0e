"""Soak under mixed load (a short run here; `make bench` runs the full 60 s)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.soak import soak

pytestmark = pytest.mark.slow


def test_mixed_load_no_5xx_no_drops_flat_memory_responsive_loop(tiny_model: Path) -> None:
    seconds = float(os.environ.get("NER_SOAK_SECONDS", "15"))
    result = soak([str(tiny_model)], seconds=seconds, clients=64, threads=1)
    assert result["server_errors"] == 0, result  # a 503 with Retry-After (shed) is not one
    assert result["connection_errors"] == 0, result
    assert result["requests"] > 500, result
    assert {"200", "400", "422"} <= set(result["statuses"]), result
    assert result["rss_growth_percent"] < 10, result
    # Model work on the event loop would hold /health behind every queued batch;
    # the bound leaves room for a slower machine shared with other jobs (81 ms seen then, 10 ms alone).
    assert result["health_p99_ms"] < 500, result
