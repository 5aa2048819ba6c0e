"""How much a word model's test F1 owes to the test file's own words in its vocabulary.

With pretrained vectors, ``ner train`` keeps in the vocabulary the training words, the
``pretrained_top`` most frequent pretrained words, and every other pretrained word of the train and
dev files. It once also kept those of the test file, as the published BiLSTM-CRF recipes do, so
a model trained then with ``--test`` holds vectors for the test file's rare words, which new text
does not get. For each N of ``--tops``
this makes the test words met in neither train nor dev and outside the N most frequent pretrained
words unknown (their rows stay; no token reaches them) and scores test again. A word absent from
training gets no gradient, so no weight but those rows depends on it: each figure is that of the
same weights with the smaller vocabulary, i.e. of the model trained without ``--test`` and with
``pretrained_top = N``.

    python -m benchmarks.vocabulary MODEL [MODEL ...] [--train F --dev F --test F] [--tops 400000,50000,0] [--json F]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from benchmarks import CONLL, report
from ner.corpus import Sentence, lowercased_words, read_corpus
from ner.features import Vocabularies
from ner.metrics import evaluate
from ner.tagger import Tagger
from ner.vocab import GLOVE_PACKAGE, load_vectors

TOPS = (400_000, 200_000, 100_000, 50_000, 0)


def words_only_in_test(
    vocabulary: Iterable[str], test: set[str], known: set[str], rank: dict[str, int], top: int
) -> list[str]:
    """The ``vocabulary`` words that only ``test`` brought in: in it, not ``known`` (train and dev),
    and not among the ``top`` most frequent pretrained words (``rank``: 0 is the most frequent)."""
    return [w for w in vocabulary if w in test and w not in known and rank.get(w, len(rank)) >= top]


def without(vocab: Vocabularies, words: Iterable[str]) -> Vocabularies:
    """A copy of a word model's ``vocab`` in which ``words`` read as unknown; every id stays the same."""
    if vocab.level != "word":
        raise ValueError("only a word-level model has a word vocabulary built from pretrained vectors")
    cut = set(words)
    data = vocab.to_json()
    data["words"] = [f"\0cut {i}" if w in cut else w for i, w in enumerate(data["words"])]  # no token is this
    return Vocabularies.from_json(data)


def measure(
    model: str, train: Sequence[Sentence], dev: Sequence[Sentence], test: Sequence[Sentence], tops: Sequence[int]
) -> list[dict]:
    """One row per N of ``tops``: the test-only words cut, the test tokens they cover, and test F1."""
    tagger = Tagger.load(model, threads=1)
    full = tagger.vocab
    known, test_words = lowercased_words(train, dev), lowercased_words(test)
    words, _ = load_vectors(GLOVE_PACKAGE, vectors=False)
    rank = {w: i for i, w in enumerate(words)}
    rows = []
    for top in tops:
        cut = words_only_in_test(full.words.itos, test_words, known, rank, top)
        tagger.vocab = without(full, cut)
        cut_set = set(cut)
        tokens = sum(t.lower() in cut_set for s in test for t in s.tokens)
        rows.append(
            {
                "model": model,
                "pretrained_top": top,
                "cut_words": len(cut),
                "cut_test_tokens": tokens,
                "test_f1": evaluate(tagger, test)["f1"],
            }
        )
        print(f"{model}: {top:,} pretrained words, test F1 {rows[-1]['test_f1']:.2f}", file=sys.stderr, flush=True)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--train", default=str(CONLL / "eng.train"))
    parser.add_argument("--dev", default=str(CONLL / "eng.testa"))
    parser.add_argument("--test", default=str(CONLL / "eng.testb"))
    parser.add_argument("--tops", default=",".join(map(str, TOPS)), help="comma-separated counts of pretrained words")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    train, dev, test = (read_corpus(path)[0] for path in (args.train, args.dev, args.test))
    tops = [int(n) for n in args.tops.split(",")]
    rows = [row for model in args.models for row in measure(model, train, dev, test, tops)]
    lines = [
        "| model | pretrained words kept | test-only words cut | their test tokens | test F1 |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['model']} | {r['pretrained_top']:,} | {r['cut_words']} | {r['cut_test_tokens']} | {r['test_f1']:.2f} |"
        for r in rows
    ]
    report({"rows": rows}, args.json, "\n".join(lines))


if __name__ == "__main__":
    main()
