"""Text without its capitals: entity F1 of models on a test file as written and in other casings.

Chat, search queries, speech transcripts and headlines rarely come cased as
newswire; a word model trained on newswire reads capitals as its strongest
clue. Each model is scored (strict entity F1, as ``ner evaluate``) on the
file's tokens as written, with only each sentence's first word and ``I``
capitalized (chat written on a phone), all lowercased and all uppercased, the
tags kept; and on its documents given as text in each of those casings (a
sentence a line, as ``benchmarks.articles`` writes them: the tagger finds tokens
and sentences itself). A model that restores capitals (:mod:`ner.truecasing`)
is scored with each ``capitals`` option (:class:`ner.tagger.TagOptions`), and
also on the file's sentences that have no capital past their first word and
``I`` as written, each its own document: what restoring capitals in every text
costs ordinary sentences.

    python -m benchmarks.casing --models DIR [DIR ...] [--file TEST] [--json out.json]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from benchmarks import CONLL, report
from benchmarks.articles import documents, record
from benchmarks.defaults import strict_scores
from ner.corpus import Sentence, read_corpus, recased
from ner.metrics import evaluate
from ner.tagger import Tagger, TagOptions
from ner.truecasing import CAPITALS


def first_words(sentences: Sequence[Sentence]) -> list[Sentence]:
    """``sentences`` lowercased but for each one's first word and the pronoun ``I``, capitalized."""
    out = []
    for sentence in recased(sentences, str.lower):
        tokens = ["I" if token == "i" else token for token in sentence.tokens]
        out.append(replace(sentence, tokens=[token.capitalize() for token in tokens[:1]] + tokens[1:]))
    return out


CASINGS: dict[str, Callable[[Sequence[Sentence]], list[Sentence]]] = {
    "as written": list,
    "first words": first_words,
    "lowercased": lambda sentences: recased(sentences, str.lower),
    "uppercased": lambda sentences: recased(sentences, str.upper),
}


def run(models: Sequence[Path], file: Path) -> dict:
    sentences = read_corpus(file)[0]
    articles = {name: [record(casing(d)) for d in documents(file)] for name, casing in CASINGS.items()}
    plain = [replace(s, document=i) for i, s in enumerate(sentences) if first_words([s])[0].tokens == s.tokens]
    results: dict[str, dict] = {"f1": {}, "f1_as_text": {}, "f1_plain_sentences": {}}
    for model in models:
        tagger = Tagger.load(model)
        ways = CAPITALS if tagger.vocab.truecaser is not None else ("auto",)
        for capitals in ways:
            name = f"{model}, capitals {capitals}" if len(ways) > 1 else str(model)
            results["f1"][name] = {n: _f1(evaluate(tagger, c(sentences), capitals)) for n, c in CASINGS.items()}
            results["f1_as_text"][name] = text_scores(tagger, articles, capitals)
            results["f1_plain_sentences"][name] = _f1(evaluate(tagger, plain, capitals))
    return {"file": str(file), "plain_sentences": len(plain), **results}


def _f1(scores: dict) -> float:
    return round(scores["f1"], 2)


def text_scores(tagger: Tagger, articles: dict[str, list[dict]], capitals: str = "auto") -> dict[str, float]:
    """Strict entity F1 on the documents given as text, in each casing (``{"text", "spans"}`` records)."""
    options = TagOptions(scores=False, capitals=capitals)
    f1 = {}
    for name, records in articles.items():
        gold = [[(span["start"], span["end"], span["label"]) for span in r["spans"]] for r in records]
        analyses = tagger.analyze([r["text"] for r in records], options)
        f1[name] = strict_scores(gold, [[(e.start, e.end, e.label) for e in a.entities] for a in analyses])["f1"]
    return f1


def markdown(results: dict) -> str:
    lines = []
    for key, given in (("f1", "tokens"), ("f1_as_text", "text")):
        lines += ["| model, given as " + given + " | " + " | ".join(CASINGS) + " |", "|---" * (len(CASINGS) + 1) + "|"]
        for model, scores in results[key].items():
            lines.append(f"| {model} | " + " | ".join(f"{scores[name]:.2f}" for name in CASINGS) + " |")
        lines.append("")
    lines += [f"| model | {results['plain_sentences']} sentences without a capital past the first word |", "|---|---|"]
    lines += [f"| {model} | {f1:.2f} |" for model, f1 in results["f1_plain_sentences"].items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", type=Path, required=True)
    parser.add_argument("--file", type=Path, default=CONLL / "eng.testb")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = run(args.models, args.file)
    report(results, args.json, markdown(results))


if __name__ == "__main__":
    main()
