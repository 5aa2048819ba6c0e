"""docker/constraints.txt pins what the service installs (the image, `make serve`) to the versions tested here."""

from __future__ import annotations

import runpy

from .conftest import ROOT

SCRIPT = ROOT / "docker" / "constraints.py"


def test_the_pinned_versions_are_the_ones_installed_and_tested() -> None:
    script = runpy.run_path(str(SCRIPT))
    written = (ROOT / "docker" / "constraints.txt").read_text()
    assert written == script["constraints"](), "docker/constraints.txt is stale: run `make constraints`"
    pinned = script["pinned"]()
    assert {"fastapi", "uvicorn", "onnxruntime", "numpy", "pydantic", "starlette"} <= set(pinned)
    assert "torch" not in pinned  # the service runs without it
