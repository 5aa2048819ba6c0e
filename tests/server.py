"""Run the real service (``ner serve`` under uvicorn) on a free loopback port for a test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_server(models: list[Path], log: Path, **settings: object) -> Iterator[str]:
    """Start ``ner serve`` with ``NER_*`` settings; yield its base URL once ready; stop it."""
    port = free_port()
    env = {**os.environ, "NER_THREADS": "1", "NER_LOG_LEVEL": "info"}
    env.update({f"NER_{key.upper()}": str(value) for key, value in settings.items()})
    command = [sys.executable, "-m", "ner", "serve", "--port", str(port), "--host", "127.0.0.1"]
    for model in models:
        command += ["--model", str(model)]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Wait for a local server process; its log goes into the error if it exits or stays unready."""
    poll_ready(
        url, timeout, describe=lambda: log.read_text(errors="replace"), stopped=lambda: process.poll() is not None
    )


def poll_ready(
    url: str, timeout: float, describe: Callable[[], str], stopped: Callable[[], bool] = lambda: False
) -> None:
    """Poll ``/ready`` until it answers 200; ``describe()`` explains a failure, ``stopped()`` ends early."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stopped():
            raise RuntimeError(f"server at {url} stopped:\n{describe()}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"server at {url} not ready after {timeout} s:\n{describe()}")
