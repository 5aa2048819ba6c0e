"""A Docker engine and a local base image for the image test, on a machine that may have neither.

No registry can be reached here, so the base image is made with debootstrap
(Debian bookworm, python3 and venv) and imported; it is cached in the
engine's data root between runs on the same machine. The engine is Debian's
``docker.io``, installed when missing and started on a private socket.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

STATE = Path(os.environ.get("NER_DOCKER_STATE", "/var/tmp/ner-docker"))
SOCKET = STATE / "docker.sock"
BASE_IMAGE = "ner-base:bookworm-slim"


def _run(*command: str, **options: object) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, capture_output=True, text=True, **options)


def _apt_install(*packages: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
    _run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages, env=env)


def can_manage_engine() -> str | None:
    """None when this machine can run the test, else the reason why not."""
    if shutil.which("dockerd") is None and (os.geteuid() != 0 or shutil.which("apt-get") is None):
        return "no Docker engine, and no root apt-get to install one"
    return None


def engine_env() -> dict[str, str]:
    return {**os.environ, "DOCKER_HOST": f"unix://{SOCKET}", "DOCKER_BUILDKIT": "0"}


def docker(*arguments: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", *arguments], env=engine_env(), capture_output=True, text=True, timeout=timeout, check=check
    )


def start_engine() -> subprocess.Popen | None:
    """Start dockerd on a private socket unless one answers there; returns the process we started."""
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        _apt_install("docker.io")
    STATE.mkdir(parents=True, exist_ok=True)
    if docker("info", check=False, timeout=30).returncode == 0:
        return None
    log = open(STATE / "dockerd.log", "ab")
    process = subprocess.Popen(
        [
            "dockerd",
            "--data-root",
            str(STATE / "data"),
            "--exec-root",
            str(STATE / "exec"),
            "--pidfile",
            str(STATE / "dockerd.pid"),
            "-H",
            f"unix://{SOCKET}",
            "--iptables=false",
            "--bridge=none",
        ],
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if docker("info", check=False, timeout=30).returncode == 0:
            return process
        if process.poll() is not None:
            raise RuntimeError(f"dockerd exited: {(STATE / 'dockerd.log').read_text()[-3000:]}")
        time.sleep(0.5)
    process.kill()
    raise TimeoutError("dockerd did not start")


def stop_engine(process: subprocess.Popen | None) -> None:
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def ensure_base_image() -> str:
    """The local Debian base image, made once with debootstrap and kept in the engine."""
    if docker("image", "inspect", BASE_IMAGE, check=False).returncode == 0:
        return BASE_IMAGE
    if shutil.which("debootstrap") is None:
        _apt_install("debootstrap")
    with tempfile.TemporaryDirectory(prefix="ner-rootfs-", dir=STATE) as rootfs:
        _run(
            "debootstrap",
            "--variant=minbase",
            "--include=python3,python3-venv",  # venv brings pip from its own wheel
            "bookworm",
            rootfs,
            timeout=900,
        )
        # As slim images do: no package cache or lists, documentation or translations (about 140 MB).
        for leftovers in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/locale"):
            for path in (Path(rootfs) / leftovers).glob("*"):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            ["docker", "import", "-", BASE_IMAGE],
            stdin=tar.stdout,
            env=engine_env(),
            check=True,
            capture_output=True,
            timeout=600,
        )
        tar.wait()
    return BASE_IMAGE


def host_ca_bundle() -> Path | None:
    path = Path("/etc/ssl/certs/ca-certificates.crt")
    return path if path.is_file() else None
