"""Scaling on this machine: data-parallel training with 1 and 2 processes, bulk tagging with 1 and 2 workers.

Training: one epoch of CoNLL-2003 eng.train with the English recipe, as one
process with 2 threads and as two torchrun processes with 1 thread each (the
same effective batch: 32, and 16 per process); sentences/s from the epoch
record. Bulk tagging: ``ner tag`` over eng.testb as raw text lines, eight
times over, with 1 and 2 worker processes sharing 2 threads; tokens/s over the
wall time of the whole command.

    python -m benchmarks.scaling [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import report

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "conll2003_en"


def training_rate(processes: int, work: Path) -> dict:
    dev = work / "dev.conll"
    lines = (DATA / "eng.testa").read_text().split("\n\n")[:200]
    dev.write_text("\n\n".join(lines) + "\n")
    threads = 2 // processes
    command = [
        "-m",
        "ner",
        "train",
        "--train",
        str(DATA / "eng.train"),
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


def bulk_rate(workers: int, model: Path, work: Path) -> dict:
    from ner.corpus import read_conll

    sentences = [s.tokens for s in read_conll(DATA / "eng.testb")[0]] * 8  # about 370,000 tokens
    source = work / "testb.txt"
    source.write_text("\n".join(" ".join(s) for s in sentences) + "\n")
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ner",
            "tag",
            "--model",
            str(model),
            "--workers",
            str(workers),
            "--threads",
            "2",
            "--quiet",
            str(source),
        ],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    tokens = sum(len(s) for s in sentences)
    return {
        "workers": workers,
        "tokens_per_second": round(tokens / seconds),
        "seconds": round(seconds, 2),
        "note": "wall time of the whole command, model loading included",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "en-conll03")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        results = {
            "training": [training_rate(n, work) for n in (1, 2)],
            "bulk_tagging": [bulk_rate(n, args.model, work) for n in (1, 2)],
        }
    report(results, args.json)


if __name__ == "__main__":
    main()
