"""Text without its capitals: entity F1 of models on a test file as written, lowercased and uppercased.

Chat, search queries, speech transcripts and headlines rarely come cased as
newswire; a word model trained on newswire reads capitals as its strongest
clue. Each model is scored (strict entity F1, as ``ner evaluate``) on the
file's tokens as written, all lowercased and all uppercased, the tags kept; a
model that restores capitals to text written in one case (:mod:`ner.truecasing`)
is scored a second time without, in the same run.

    python -m benchmarks.casing --models DIR [DIR ...] [--file TEST] [--json out.json]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import CONLL, report
from ner.corpus import Sentence, read_corpus, recased
from ner.metrics import evaluate
from ner.tagger import Tagger

CASINGS: dict[str, Callable[[str], str]] = {"as written": str, "lowercased": str.lower, "uppercased": str.upper}


def run(models: Sequence[Path], file: Path) -> dict:
    sentences = read_corpus(file)[0]
    results = {}
    for model in models:
        tagger = Tagger.load(model)
        results[str(model)] = scores(tagger, sentences)
        if tagger.vocab.truecaser is not None:
            tagger.vocab.truecaser = None
            results[f"{model} (capitals not restored)"] = scores(tagger, sentences)
    return {"file": str(file), "f1": results}


def scores(tagger: Tagger, sentences: Sequence[Sentence]) -> dict[str, float]:
    return {name: round(evaluate(tagger, recased(sentences, casing))["f1"], 2) for name, casing in CASINGS.items()}


def markdown(results: dict) -> str:
    lines = ["| model | " + " | ".join(CASINGS) + " |", "|---" * (len(CASINGS) + 1) + "|"]
    for model, scores in results["f1"].items():
        lines.append(f"| {model} | " + " | ".join(f"{scores[name]:.2f}" for name in CASINGS) + " |")
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
