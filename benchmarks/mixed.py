"""Text that switches language: entity F1 when an English sentence (CoNLL-2003's eng.testb) and a Chinese one
(MSRA's test) come as one text, joined as people write them, against each sentence sent alone to its model.

Each pair is joined four ways, in both orders: with a space, with nothing (``late.张伟在``), with a line
break, and without the first sentence's final mark before a line break (a chat line). The shipped English
and MSRA models tag each text as the service does with ``"lang": "auto"`` (:meth:`ner.router.Router.analyze`);
scores are strict entity-level F1 over ``(start, end, label)`` in the whole text.

    python -m benchmarks.mixed [--pairs N] [--json out.json]
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from pathlib import Path

from benchmarks import CONLL, ROOT, SHARED_DATA, report
from ner import Router, Tagger
from ner.corpus import Sentence, read_corpus

JOINS = {"space": " ", "nothing": "", "line": "\n", "line, no final mark": "\n"}
Spans = set[tuple[int, int, str]]


def text_of(sentence: Sentence, spaced: bool, final_mark: bool = True) -> tuple[str, Spans]:
    """A sentence's text (English tokens with spaces between, Chinese characters without) and its entities."""
    tokens = sentence.tokens if final_mark else sentence.tokens[:-1]
    starts, text = [], ""
    for token in tokens:
        text += " " if spaced and text else ""
        starts.append(len(text))
        text += token
    spans = {(starts[s.start], starts[s.end - 1] + len(tokens[s.end - 1]), s.label) for s in sentence.spans()}
    return text, {span for span in spans if span[1] <= len(text)}


def chosen(sentences: Sequence[Sentence], final: str, lengths: tuple[int, int]) -> list[Sentence]:
    """Sentences that end with ``final`` and hold an entity, within ``lengths`` tokens."""
    return [
        s
        for s in sentences
        if s.tokens[-1] == final and s.spans() and lengths[0] <= len(s.tokens) <= lengths[1] and s.tags[-1] == "O"
    ]


def f1(found: Sequence[Spans], gold: Sequence[Spans]) -> float:
    correct = sum(len(f & g) for f, g in zip(found, gold))
    predicted, expected = sum(map(len, found)), sum(map(len, gold))
    return 200 * correct / (predicted + expected) if predicted + expected else 0.0


def run(pairs: int) -> dict:
    english_model, chinese_model = (Tagger.load(ROOT / "models" / name) for name in ("en-conll03", "zh-msra"))
    router = Router([english_model, chinese_model])
    english = chosen(read_corpus(CONLL / "eng.testb")[0], ".", (5, 40))
    chinese = chosen(read_corpus(SHARED_DATA / "msra_ner" / "msra_test_bio")[0], "。", (10, 80))
    draw = random.Random(1)
    picked = [(draw.choice(english), draw.choice(chinese)) for _ in range(pairs)]
    results: dict = {"pairs": pairs, "texts_per_join": 2 * pairs, "f1": {}}

    def found(texts: list[str], **choice: str) -> list[Spans]:
        return [{(e.start, e.end, e.label) for e in a.entities} for a in router.analyze(texts, **choice)]

    english_alone = [text_of(en, True) for en, _ in picked]
    chinese_alone = [text_of(zh, False) for _, zh in picked]
    alone = found([t for t, _ in english_alone], model=english_model.name)
    alone += found([t for t, _ in chinese_alone], model=chinese_model.name)
    results["f1"]["each alone, to its own model"] = round(f1(alone, [g for _, g in english_alone + chinese_alone]), 2)
    for name, join in JOINS.items():
        final_mark = name != "line, no final mark"
        texts, gold = [], []
        for en, zh in picked:
            parts = [(text_of(en, True, final_mark), text_of(zh, False, final_mark))]
            parts.append((parts[0][1], parts[0][0]))
            for (first, first_gold), (second, second_gold) in parts:
                shift = len(first) + len(join)
                texts.append(first + join + second)
                gold.append(first_gold | {(s + shift, e + shift, label) for s, e, label in second_gold})
        results["f1"][f"joined: {name}"] = round(f1(found(texts), gold), 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = run(args.pairs)
    rows = "\n".join(f"| {name} | {value:.2f} |" for name, value in results["f1"].items())
    report(results, args.json, f"| {results['pairs']} pairs | F1 |\n|---|---|\n{rows}")


if __name__ == "__main__":
    main()
