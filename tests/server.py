"""Run the real service (``ner serve`` under uvicorn) on a free loopback port for a test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_log(log: Path, text: str, seconds: float = 60) -> None:
    """Until ``text`` is in the server's ``log``; fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while text not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"no {text!r} in the log after {seconds} s"
        time.sleep(0.05)


@dataclass
class Server:
    """A running ``ner serve``: its base URL, its process and its log."""

    url: str
    process: subprocess.Popen
    log: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def rss_mb(self) -> float:
        """Resident memory of the server process."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


@contextmanager
def serving(models: list[Path], log: Path, wait_for: str = "/ready", **settings: object) -> Iterator[Server]:
    """Start ``ner serve`` with ``NER_*`` settings; yield it once ``wait_for`` answers 200; stop it.

    Metrics go to a free port unless ``metrics_port`` is given.
    """
    port = free_port()
    env = {**os.environ, "NER_THREADS": "1", "NER_LOG_LEVEL": "info", "NER_METRICS_PORT": str(free_port())}
    env.update({f"NER_{key.upper()}": str(value) for key, value in settings.items()})
    command = [sys.executable, "-m", "ner", "serve", "--port", str(port), "--host", "127.0.0.1"]
    for model in models:
        command += ["--model", str(model)]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, log, path=wait_for)
        yield Server(url, process, log)
    finally:
        stop(process)


def stop(process: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM, then SIGKILL if the process has not ended within ``grace`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_server(models: list[Path], log: Path, **settings: object) -> Iterator[str]:
    """:func:`serving`, yielding the base URL."""
    with serving(models, log, **settings) as server:
        yield server.url


def wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 60, path: str = "/ready") -> None:
    """Wait for a local server process; its log goes into the error if it exits or stays unready."""
    poll_ready(
        url,
        timeout,
        describe=lambda: log.read_text(errors="replace"),
        stopped=lambda: process.poll() is not None,
        path=path,
    )


def poll_ready(
    url: str,
    timeout: float,
    describe: Callable[[], str],
    stopped: Callable[[], bool] = lambda: False,
    path: str = "/ready",
) -> None:
    """Poll ``path`` until it answers 200; ``describe()`` explains a failure, ``stopped()`` ends early."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stopped():
            raise RuntimeError(f"server at {url} stopped:\n{describe()}")
        try:
            if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"server at {url} not ready after {timeout} s:\n{describe()}")
