"""docker/constraints.txt pins what the service installs (the image, `make serve`) to the versions tested here."""

from __future__ import annotations

import runpy
from types import SimpleNamespace

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


def test_the_dev_pins_leave_out_what_only_some_platforms_need(monkeypatch) -> None:
    """torch's CUDA libraries come with the Linux build from PyPI only: pinned from one machine, they made the
    file stale on another (the CPU build has none)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("constraints_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    requires = {
        "ner-service": ['torch==2.13.0; extra == "dev"', 'numpy>=1.26; extra == "dev"'],
        "torch": ["filelock", 'nvidia-cudnn-cu13==9.1; platform_system == "Linux"'],
    }
    installed = SimpleNamespace(requires=requires.get, version=lambda name: "1.0")
    monkeypatch.setattr(module, "metadata", installed)
    dev = frozenset({"dev"})
    assert set(module.pinned(extras=dev)) == {"torch", "numpy", "filelock", "nvidia-cudnn-cu13"}
    assert set(module.pinned(extras=dev, everywhere=True)) == {"torch", "numpy", "filelock"}
