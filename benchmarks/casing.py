"""Text without its capitals: entity F1 of models on a test file as written, lowercased and uppercased.

Chat, search queries, speech transcripts and headlines rarely come cased as
newswire; a word model trained on newswire reads capitals as its strongest
clue. Each model is scored (strict entity F1, as ``ner evaluate``) on the
file's tokens as written, all lowercased and all uppercased, the tags kept, and
on its documents given as text in each of those casings (a sentence a line, as
``benchmarks.articles`` writes them: the tagger finds tokens and sentences
itself); a model that restores capitals to text written in one case
(:mod:`ner.truecasing`) is scored a second time without, in the same run.

    python -m benchmarks.casing --models DIR [DIR ...] [--file TEST] [--json out.json]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import CONLL, report
from benchmarks.articles import documents, record
from benchmarks.defaults import strict_scores
from ner.corpus import Sentence, read_corpus, recased
from ner.metrics import evaluate
from ner.tagger import Tagger

CASINGS: dict[str, Callable[[str], str]] = {"as written": str, "lowercased": str.lower, "uppercased": str.upper}


def run(models: Sequence[Path], file: Path) -> dict:
    sentences = read_corpus(file)[0]
    articles = {name: [record(recased(d, casing)) for d in documents(file)] for name, casing in CASINGS.items()}
    results: dict[str, dict] = {"f1": {}, "f1_as_text": {}}
    for model in models:
        tagger = Tagger.load(model)
        runs = [(str(model), tagger.vocab.truecaser)]
        if tagger.vocab.truecaser is not None:
            runs.append((f"{model} (capitals not restored)", None))
        for name, truecaser in runs:
            tagger.vocab.truecaser = truecaser
            results["f1"][name] = scores(tagger, sentences)
            results["f1_as_text"][name] = text_scores(tagger, articles)
    return {"file": str(file), **results}


def scores(tagger: Tagger, sentences: Sequence[Sentence]) -> dict[str, float]:
    return {name: round(evaluate(tagger, recased(sentences, casing))["f1"], 2) for name, casing in CASINGS.items()}


def text_scores(tagger: Tagger, articles: dict[str, list[dict]]) -> dict[str, float]:
    """Strict entity F1 on the documents given as text, in each casing (``{"text", "spans"}`` records)."""
    f1 = {}
    for name, records in articles.items():
        gold = [[(span["start"], span["end"], span["label"]) for span in r["spans"]] for r in records]
        found = [[(e.start, e.end, e.label) for e in tagger.tag(r["text"], scores=False)] for r in records]
        f1[name] = strict_scores(gold, found)["f1"]
    return f1


def markdown(results: dict) -> str:
    lines = []
    for key, given in (("f1", "tokens"), ("f1_as_text", "text")):
        lines += ["| model, given as " + given + " | " + " | ".join(CASINGS) + " |", "|---" * (len(CASINGS) + 1) + "|"]
        for model, scores in results[key].items():
            lines.append(f"| {model} | " + " | ".join(f"{scores[name]:.2f}" for name in CASINGS) + " |")
        lines.append("")
    return "\n".join(lines[:-1])


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
