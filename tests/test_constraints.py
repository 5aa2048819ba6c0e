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
    dev = (ROOT / "docker" / "constraints-dev.txt").read_text()
    assert dev == script["constraints"](dev=True), "docker/constraints-dev.txt is stale: run `make constraints`"
    dev_pins = dict(line.split("==") for line in dev.splitlines() if not line.startswith("#"))
    assert {"hypothesis", "pyarrow", "onnx", "schemathesis", "ray", "fastapi"} <= set(dev_pins)
    assert "torch" not in dev_pins and "ner-service" not in dev_pins
    assert all(dev_pins[name] == version for name, version in pinned.items())  # the service's pins are the same
