"""A corpus of articles as a user brings one: CoNLL-2003 written as JSONL documents, trained with the defaults.

Each document of CoNLL-2003 becomes one JSONL record: its sentences one a line, the tokens of each
joined by spaces, its entities as character spans. The documents of eng.train are shuffled with
``random.Random(seed)`` and taken until 1,500 training and then 500 dev sentences (104 and 35
articles with seed 1). ``ner train --train train.jsonl --dev dev.jsonl --out DIR --threads 2
--seed SEED --quiet`` trains on them with the defaults; eng.testb's 231 articles, written the same
way, are tagged as a user sends them (``Tagger.tag`` on each article's text) and scored on exact
character spans and labels. ``--model DIR`` trains nothing and scores that model on eng.testb's articles
so (the shipped English model, say), beside the same model given CoNLL's lines as its sentences: how much
of the gap to its tokenized score is the sentence splitter's.

    python -m benchmarks.articles [--seed 1] [--json out.json]
    python -m benchmarks.articles --model models/en-conll03
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import CONLL, ROOT, report
from benchmarks.defaults import strict_scores
from ner.corpus import Sentence, read_conll
from ner.tagger import Document, Tagger
from ner.text import Token

OUT = ROOT / ".cache" / "bench" / "articles"
TRAIN_SENTENCES, DEV_SENTENCES = 1500, 500


def documents(path: Path) -> list[list[Sentence]]:
    """The sentences of a CoNLL file, grouped by document."""
    sentences, _ = read_conll(path)
    grouped: dict[int, list[Sentence]] = {}
    for sentence in sentences:
        grouped.setdefault(sentence.document, []).append(sentence)
    return list(grouped.values())


def record(document: list[Sentence]) -> dict:
    """A document as ``{"text", "spans"}``: a sentence a line, tokens joined by spaces, character spans."""
    lines, spans, offset = [], [], 0
    for sentence in document:
        starts = []
        for token in sentence.tokens:
            starts.append(offset)
            offset += len(token) + 1
        ends = [start + len(token) for start, token in zip(starts, sentence.tokens)]
        spans += [{"start": starts[s.start], "end": ends[s.end - 1], "label": s.label} for s in sentence.spans()]
        lines.append(" ".join(sentence.tokens))
    return {"text": "\n".join(lines), "spans": spans}


def write(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1, help="of the documents' draw and of training")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--model", type=Path, help="score this model on eng.testb's articles; train nothing")
    args = parser.parse_args()
    test = [record(document) for document in documents(CONLL / "eng.testb")]
    gold = [[(s["start"], s["end"], s["label"]) for s in r["spans"]] for r in test]
    if args.model:
        report(score_model(Tagger.load(args.model, threads=2), test, gold), args.json)
        return
    pool = documents(CONLL / "eng.train")
    random.Random(args.seed).shuffle(pool)
    drawn: dict[str, list[dict]] = {"train": [], "dev": []}
    counts = {"train": 0, "dev": 0}
    for document in pool:
        part = "train" if counts["train"] < TRAIN_SENTENCES else "dev"
        if counts["dev"] >= DEV_SENTENCES:
            break
        drawn[part].append(record(document))
        counts[part] += len(document)
    OUT.mkdir(parents=True, exist_ok=True)
    for part, records in drawn.items():
        write(OUT / f"{part}.jsonl", records)

    out = OUT / f"model-seed{args.seed}"
    for folder in (out, out.with_name(out.name + ".training")):
        shutil.rmtree(folder, ignore_errors=True)
    command = [
        *("ner", "train", "--train", str(OUT / "train.jsonl"), "--dev", str(OUT / "dev.jsonl")),
        *("--out", str(out), "--threads", "2", "--seed", str(args.seed), "--quiet"),
    ]
    started = time.perf_counter()
    trained = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if trained.returncode != 0:
        sys.exit(f"ner train failed:\n{trained.stderr[-3000:]}")
    summary = json.loads(trained.stdout.strip().splitlines()[-1])
    tagger = Tagger.load(out, threads=2)
    predicted = [[(e.start, e.end, e.label) for e in tagger.tag(r["text"])] for r in test]
    results = {
        "command": " ".join(command),
        "articles": {part: len(records) for part, records in drawn.items()},
        "sentences": counts,
        "training_sentences_read": _sentences_read(trained.stderr),
        "best_epoch": summary["best_epoch"],
        "dev_f1": summary.get("dev_f1"),
        "test": strict_scores(gold, predicted),
        "train_seconds": round(seconds, 1),
    }
    report(results, args.json)


def score_model(tagger: Tagger, test: list[dict], gold: list[list[tuple[int, int, str]]]) -> dict:
    """``tagger`` on the articles as text, and on the same articles with each line given as a sentence (the
    tokens still the tokenizer's); with the predicted entities that cross a line break, which no gold one
    does (CoNLL-2003 cut its sentences at Reuters' lines, names wrapped over two lines included)."""
    as_text, by_lines, crossing = [], [], []
    for r in test:
        text = r["text"]
        entities = tagger.tag(text)
        as_text.append([(e.start, e.end, e.label) for e in entities])
        crossing += [e.text for e in entities if "\n" in e.text]
        lines, offset = [], 0
        for line in text.split("\n"):
            tokens = [Token(t.text, t.start + offset, t.end + offset) for t in tagger.tokenize(line)]
            lines += [tokens] if tokens else []
            offset += len(line) + 1
        (analysis,) = tagger.analyze([Document(text, lines)])
        by_lines.append([(e.start, e.end, e.label) for e in analysis.entities])
    return {
        "model": str(tagger.bundle.name),
        "articles": len(test),
        "test_as_text": strict_scores(gold, as_text),
        "test_lines_as_sentences": strict_scores(gold, by_lines),
        "entities_across_a_line_break": crossing,
    }


def _sentences_read(log: str) -> int | None:
    """How many training sentences ``ner train`` read the articles as (its log's "N training sentences")."""
    found = [line.split()[-3] for line in log.splitlines() if line.endswith(" training sentences")]
    return int(found[-1]) if found else None


if __name__ == "__main__":
    main()
