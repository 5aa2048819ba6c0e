"""Print the exact versions of what ``ner-service[serve]`` installs (with ``--dev``: ``ner-service[dev]``,
torch aside), as this environment holds them.

``docker/constraints.txt`` is this script's output: the image and ``make serve`` install the service
with it (``pip install -c``), so they run the versions the tests passed with; ``make install`` and
``make test`` install the rest with ``docker/constraints-dev.txt`` (its ``--dev`` output), so that a
new release of a test or training dependency changes nothing unasked. ``make constraints`` writes both
again after a dependency changes; ``tests/test_constraints.py`` fails while either is stale.
"""

from __future__ import annotations

import sys
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HEADER = "# The service's dependencies, pinned: written by `make constraints` (docker/constraints.py).\n"
DEV_HEADER = (
    "# Training's and the tests' dependencies, pinned (torch aside: the Makefile's TORCH): written by\n"
    "# `make constraints` (docker/constraints.py --dev).\n"
)


ENVIRONMENT_MARKERS = ("platform", "python_", "os_name", "implementation")


def pinned(
    root: str = "ner-service", extras: frozenset[str] = frozenset({"serve"}), everywhere: bool = False
) -> dict[str, str]:
    """Every distribution ``root[extras]`` needs, directly or not, on this platform: name -> installed version.
    ``everywhere``: only those needed on every platform (torch's CUDA libraries, for one, are not)."""
    found: dict[str, str] = {}
    todo = [(root, extras)]
    visited = set(todo)  # a distribution again with other extras is visited again: they may need more
    while todo:
        name, wanted = todo.pop()
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            marker = requirement.marker
            if marker and not any(marker.evaluate({"extra": extra}) for extra in wanted or {""}):
                continue
            if everywhere and marker and any(name in str(marker) for name in ENVIRONMENT_MARKERS):
                continue
            key = canonicalize_name(requirement.name)
            found[key] = metadata.version(requirement.name)
            step = (requirement.name, frozenset(requirement.extras))
            if step not in visited:
                visited.add(step)
                todo.append(step)
    return found


def constraints(dev: bool = False) -> str:
    if not dev:
        return _pins(HEADER, pinned())
    # torch's build (+cpu, a CUDA one) is the machine's choice; the project itself is installed from here.
    found = pinned(extras=frozenset({"dev"}), everywhere=True)
    return _pins(DEV_HEADER, {k: v for k, v in found.items() if k not in ("torch", "ner-service")})


def _pins(header: str, versions: dict[str, str]) -> str:
    return header + "".join(f"{name}=={version}\n" for name, version in sorted(versions.items()))


if __name__ == "__main__":
    print(constraints(dev="--dev" in sys.argv[1:]), end="")
