"""Fine-tuning on corrections: does the model learn them, and what does it forget?

Takes the first 40 sentences of CoNLL-2003 eng.testa (dev) that the shipped
English model gets wrong, writes them with their gold entities as the JSONL a
person would download from the web page after correcting them, fine-tunes the
model on them exactly as a user would (``ner train --init-from MODEL --train
corrections.jsonl --test eng.testb --epochs 3``), and reports entity F1 on the
corrected sentences (learned?) and on eng.testb (forgotten?), before and after.

    python -m benchmarks.finetune [--model models/en-conll03] [--count 40] [--epochs 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import CONLL, ROOT, report

OUT = ROOT / ".cache" / "bench" / "finetune"


def corrections(model: Path, count: int) -> list[dict]:
    """The first ``count`` dev sentences the model gets wrong, as JSONL records with gold entities."""
    from ner import Tagger
    from ner.corpus import read_conll

    tagger = Tagger.load(model)
    sentences = read_conll(CONLL / "eng.testa")[0]
    predicted = tagger.predict_tags([s.tokens for s in sentences], [s.document for s in sentences])
    out = []
    for sentence, tags in zip(sentences, predicted):
        if tags == sentence.tags:
            continue
        starts, text = [], ""
        for token in sentence.tokens:
            starts.append(len(text) + (1 if text else 0))
            text += (" " if text else "") + token
        entities = [
            [starts[s.start], starts[s.end - 1] + len(sentence.tokens[s.end - 1]), s.label] for s in sentence.spans()
        ]
        out.append({"text": text, "entities": entities})
        if len(out) == count:
            break
    return out


def scores(model: Path, corrected: Path) -> dict:
    """Entity F1 on the corrected sentences and on eng.testb."""
    from ner import Tagger
    from ner.corpus import read_conll, read_jsonl
    from ner.metrics import evaluate

    tagger = Tagger.load(model)
    return {
        "corrections_f1": evaluate(tagger, read_jsonl(corrected))["f1"],
        "testb_f1": evaluate(tagger, read_conll(CONLL / "eng.testb")[0])["f1"],
    }


def run(model: Path, count: int, epochs: int) -> dict:
    OUT.mkdir(parents=True, exist_ok=True)
    corrected = OUT / "corrections.jsonl"
    records = corrections(model, count)
    corrected.write_text("".join(json.dumps(r) + "\n" for r in records))
    tuned = OUT / "model"
    command = [
        *("ner", "train", "--init-from", str(model), "--train", str(corrected)),
        *("--test", str(CONLL / "eng.testb"), "--epochs", str(epochs), "--out", str(tuned), "--quiet"),
    ]
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", *command[0:1], *command[1:]], check=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    return {
        "command": " ".join(command),
        "sentences": len(records),
        "epochs": epochs,
        "fine_tuning_seconds": round(seconds, 1),
        "before": scores(model, corrected),
        "after": scores(tuned, corrected),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "en-conll03")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not (CONLL / "eng.testa").is_file():
        sys.exit(f"needs {CONLL}")
    results = run(args.model, args.count, args.epochs)
    before, after = results["before"], results["after"]
    table = (
        "| | F1 on the corrected sentences | eng.testb F1 |\n|---|---|---|\n"
        f"| before | {before['corrections_f1']} | {before['testb_f1']} |\n"
        f"| after {args.epochs} epochs | {after['corrections_f1']} | {after['testb_f1']} |"
    )
    report(results, args.json, table)


if __name__ == "__main__":
    main()
