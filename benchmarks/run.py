"""`make bench`: every benchmark in turn, one at a time (they would slow each other down).

Writes JSON results to ``.cache/bench/`` and prints Markdown tables for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / ".cache" / "bench"

STEPS = [
    ("speed", ["-m", "benchmarks.speed"]),
    ("calibration", ["-m", "benchmarks.calibration"]),
    ("load", ["-m", "benchmarks.load"]),
    ("soak", ["-m", "benchmarks.soak"]),
    ("dictionary", ["-m", "benchmarks.dictionary"]),
    ("finetune", ["-m", "benchmarks.finetune"]),
    ("scaling", ["-m", "benchmarks.scaling"]),
    ("defaults", ["-m", "benchmarks.defaults"]),
    ("articles", ["-m", "benchmarks.articles"]),
    ("bulk", ["-m", "benchmarks.bulk"]),
]


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    failed = []
    for name, arguments in STEPS:
        print(f"== {name}", flush=True)
        code = subprocess.run([sys.executable, *arguments, "--json", str(OUT / f"{name}.json")], cwd=ROOT).returncode
        if code != 0:
            failed.append(name)
    print(f"results in {OUT}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
