"""Scaling on this machine: data-parallel training with 1 and 2 processes (bulk tagging: benchmarks/bulk.py).

One epoch of CoNLL-2003 eng.train with the English recipe, as one process
with 2 threads and as two torchrun processes with 1 thread each (the same
effective batch: 32, and 16 per process); sentences/s from the epoch record.

    python -m benchmarks.scaling [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import CONLL, ROOT, report


def training_rate(processes: int, work: Path) -> dict:
    dev = work / "dev.conll"
    lines = (CONLL / "eng.testa").read_text().split("\n\n")[:200]
    dev.write_text("\n\n".join(lines) + "\n")
    threads = 2 // processes
    command = [
        "-m",
        "ner",
        "train",
        "--train",
        str(CONLL / "eng.train"),
        "--dev",
        str(dev),
        "--config",
        str(ROOT / "configs" / "en-conll03.toml"),
        "--epochs",
        "1",
        "--threads",
        str(threads),
        "--batch-size",
        str(32 // processes),
        "--out",
        str(work / f"model-{processes}"),
        "--quiet",
    ]
    if processes > 1:
        command = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", *command]
    subprocess.run([sys.executable, *command], check=True, cwd=ROOT, capture_output=True)
    record = json.loads((work / f"model-{processes}" / "metrics.json").read_text())["history"][0]
    return {
        "processes": processes,
        "threads_each": threads,
        "sentences_per_second": record["sentences_per_second"],
        "epoch_train_seconds": record["train_seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        results = {"training": [training_rate(n, work) for n in (1, 2)]}
    report(results, args.json)


if __name__ == "__main__":
    main()
