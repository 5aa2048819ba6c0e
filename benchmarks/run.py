"""`make bench`: every benchmark that needs no arguments, in turn, one at a time (they would slow each
other down). The analyses of given models (``vocabulary``, ``ensemble``, ``unseen``, ``casing``) run alone.

Writes JSON results to ``.cache/bench/`` and prints Markdown tables for ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from benchmarks import ROOT

OUT = ROOT / ".cache" / "bench"

STEPS = [
    ("speed", ["-m", "benchmarks.speed"]),
    ("calibration", ["-m", "benchmarks.calibration"]),
    ("load", ["-m", "benchmarks.load"]),
    ("soak", ["-m", "benchmarks.soak"]),
    ("compression", ["-m", "benchmarks.compression"]),
    ("dictionary", ["-m", "benchmarks.dictionary"]),
    ("finetune", ["-m", "benchmarks.finetune"]),
    ("scaling", ["-m", "benchmarks.scaling"]),
    ("defaults", ["-m", "benchmarks.defaults"]),
    ("articles", ["-m", "benchmarks.articles"]),
    ("variants", ["-m", "benchmarks.variants"]),
    ("mixed", ["-m", "benchmarks.mixed"]),
    ("bulk", ["-m", "benchmarks.bulk"]),
    ("documents", ["-m", "benchmarks.documents"]),
    ("decoding", ["-m", "benchmarks.decoding"]),
]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    names = [name for name, _ in STEPS]
    parser.add_argument(
        "--only", nargs="+", choices=names, default=names, metavar="NAME", help=f"of {', '.join(names)} (default: all)"
    )
    chosen = parser.parse_args().only
    OUT.mkdir(parents=True, exist_ok=True)
    failed = []
    for name, arguments in STEPS:
        if name not in chosen:
            continue
        print(f"== {name}", flush=True)
        code = subprocess.run([sys.executable, *arguments, "--json", str(OUT / f"{name}.json")], cwd=ROOT).returncode
        if code != 0:
            failed.append(name)
    print(f"results in {OUT}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
