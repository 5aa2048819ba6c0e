"""Characters in another form: entity F1 of character models on their test file as written, converted to
traditional Chinese characters, and with its letters and digits in the other width.

Each sentence is converted with OpenCC's ``s2t`` (phrases first, then characters), its tags kept; a
sentence whose conversion changes its length stays as written (counted, none in MSRA's or Resume's test).
The other width swaps ASCII letters, digits, ``%`` and ``.`` with their full-width forms (MSRA writes
１９９７年, ResumeNER and most text now 1997年); Chinese punctuation stays. Each model is scored (strict
entity F1, as ``ner evaluate``) on each, reading a character it does not know in the form it knows
(:mod:`ner.variants`, as it tags) and reading it as an unknown character (as before it did).

    python -m benchmarks.variants [--pairs MODEL=TEST ...] [--json out.json]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from opencc import OpenCC

from benchmarks import ROOT, SHARED_DATA, report
from ner.corpus import Sentence, read_corpus
from ner.metrics import evaluate
from ner.tagger import Tagger
from ner.variants import KnownVariants

PAIRS = [
    f"{ROOT / 'models' / 'zh-msra'}={SHARED_DATA / 'msra_ner' / 'msra_test_bio'}",
    f"{ROOT / 'models' / 'zh-resume'}={SHARED_DATA / 'resume_ner' / 'test.char.bmes'}",
]
READINGS = ("other forms read", "unknown")  # how a character unknown to the model, known in another form, is read
WIDE = 0xFEE0  # from an ASCII character to its full-width form


def traditional(text: str) -> str:
    return OpenCC("s2t").convert(text)


def other_width(text: str) -> str:
    """ASCII letters, digits, ``%`` and ``.`` full-width, and full-width ones ASCII."""
    swapped = []
    for c in text:
        if c.isascii() and (c.isalnum() or c in "%."):
            c = chr(ord(c) + WIDE)
        elif 0xFF01 <= ord(c) <= 0xFF5E and (c.isalnum() or c in "％．"):
            c = chr(ord(c) - WIDE)
        swapped.append(c)
    return "".join(swapped)


FORMS: dict[str, Callable[[str], str]] = {"as written": str, "traditional": traditional, "other width": other_width}


def converted(sentences: Sequence[Sentence], convert: Callable[[str], str]) -> tuple[list[Sentence], int]:
    """``sentences`` converted, and how many stayed as written (a length changed)."""
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
        tagger = Tagger.load(model)
        variants = tagger.vocab.variants
        scores: dict = {"sentences": len(sentences), "characters_read_otherwise": {}, "changed": {}}
        if isinstance(variants, KnownVariants):
            scores["characters_read_otherwise"] = {
                "other script": len(variants.forms),
                "both scripts, beside one of the other": len(variants.shared),
                "other width": len(variants.widths),
            }
        given = {}
        for name, convert in FORMS.items():
            given[name], kept = converted(sentences, convert)
            changed = sum(a.tokens != b.tokens for a, b in zip(sentences, given[name]))
            scores["changed"][name] = {"sentences": changed, "kept_as_written": kept}
        for reading in READINGS:
            if reading == "unknown":
                tagger.vocab.variants = None  # switched off
            for name in FORMS:
                scores[f"{name}, {reading}"] = round(evaluate(tagger, given[name])["f1"], 2)
        results[str(model)] = {"file": str(file), **scores}
    return results


def markdown(results: dict) -> str:
    columns = [f"{name}, {reading}" for reading in reversed(READINGS) for name in FORMS]
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
