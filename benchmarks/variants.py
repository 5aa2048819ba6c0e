"""Chinese in the other script: entity F1 of character models on their test file as written (simplified
characters) and converted to traditional characters.

Each sentence is converted with OpenCC's ``s2t`` (phrases first, then characters), its tags kept; a
sentence whose conversion changes its length stays as written (counted, none in MSRA's or Resume's test).
Each model is scored (strict entity F1, as ``ner evaluate``) on both, reading a character it does not know
in the form it knows written in the other script (:mod:`ner.variants`, as it tags) and reading it as an
unknown character (as before it did).

    python -m benchmarks.variants [--pairs MODEL=TEST ...] [--json out.json]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from opencc import OpenCC

from benchmarks import ROOT, SHARED_DATA, report
from ner.corpus import Sentence, read_corpus
from ner.metrics import evaluate
from ner.tagger import Tagger

PAIRS = [
    f"{ROOT / 'models' / 'zh-msra'}={SHARED_DATA / 'msra_ner' / 'msra_test_bio'}",
    f"{ROOT / 'models' / 'zh-resume'}={SHARED_DATA / 'resume_ner' / 'test.char.bmes'}",
]

SCRIPTS = ("simplified", "traditional")
READINGS = ("other script read", "unknown")  # how a character unknown to the model, known in the other script, is read


def traditional(sentences: Sequence[Sentence]) -> tuple[list[Sentence], int]:
    """``sentences`` in traditional characters, and how many stayed as written (a length changed)."""
    convert = OpenCC("s2t").convert
    out, kept = [], 0
    for sentence in sentences:
        written = convert("".join(sentence.tokens))
        if len(written) != len(sentence.tokens):
            kept += 1
            out.append(sentence)
        else:
            out.append(replace(sentence, tokens=list(written)))
    return out, kept


def run(pairs: Sequence[tuple[Path, Path]]) -> dict:
    results = {}
    for model, file in pairs:
        sentences = read_corpus(file)[0]
        if any(len(token) != 1 for s in sentences for token in s.tokens):
            raise SystemExit(f"{file}: a token of more than one character (this benchmark reads character corpora)")
        converted, kept = traditional(sentences)
        changed = sum(a.tokens != b.tokens for a, b in zip(sentences, converted))
        tagger = Tagger.load(model)
        scores = {"sentences": len(sentences), "converted": changed, "kept_as_written": kept}
        scores["characters_read_in_other_form"] = len(tagger.vocab.variants.forms) if tagger.vocab.variants else 0
        for reading in READINGS:
            if reading == "unknown":
                tagger.vocab.variants = None  # the cached property, switched off
            for script, given in zip(SCRIPTS, (sentences, converted)):
                scores[f"{script}, {reading}"] = round(evaluate(tagger, given)["f1"], 2)
        results[str(model)] = {"file": str(file), **scores}
    return results


def markdown(results: dict) -> str:
    columns = [f"{script}, {reading}" for reading in reversed(READINGS) for script in SCRIPTS]
    lines = ["| model | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for model, scores in results.items():
        lines.append(f"| {Path(model).name} | " + " | ".join(f"{scores[c]:.2f}" for c in columns) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", nargs="+", default=PAIRS, metavar="MODEL=TEST")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    pairs = []
    for pair in args.pairs:
        model, sep, file = pair.partition("=")
        if not sep:
            parser.error(f"--pairs: {pair!r} is not MODEL=TEST")
        pairs.append((Path(model), Path(file)))
    results = run(pairs)
    report(results, args.json, markdown(results))


if __name__ == "__main__":
    main()
