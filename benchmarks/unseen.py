"""Seen and unseen entities: how many a held-out set has, and how a model finds each.

An entity is *unseen* when its string was never tagged as an entity in the
training sentences. For each held-out set this reports the share of unseen
entities and, with ``--model``, the model's strict recall (span and label) on
the seen and on the unseen ones, and what became of the entities it did not
find: ``missed`` (no predicted entity overlaps it), ``boundary`` (one
overlaps it with other ends) or ``type`` (its span with another label); and
``spurious`` predictions, which overlap no entity. Without a dev file, the
dev set is held out of the training file as ``ner train`` holds it out:
every ``--dev-every``-th sentence, or with ``--blocks`` every
``--dev-every``-th block of that many sentences (one row per block size).
With ``--new-words``, the unseen entities are split by whether
``jieba.cut(text, HMM=True)`` gives their exact span as a word of Chinese
characters outside jieba's dictionary (a *new word* of its HMM, mostly names),
and the shares of unseen entities that are a word of jieba's dictionary and
whose every character is common in training (seen at least 5 times); and
recall on the unseen entities by what jieba's dictionary makes of them: a
proper name (its classes ``nr``, ``nrt``, ``nrfg``, ``ns``, ``nt``, ``nz``),
another word, or no word of it.

    python -m benchmarks.unseen --train TRAIN [--files TEST ...] [--blocks 1 50] [--model DIR] [--new-words]
                                [--json out.json]
"""

from __future__ import annotations

import argparse
import itertools
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from benchmarks import report
from ner.corpus import Sentence, Span, as_model_tokens, hold_out, read_corpus
from ner.tagger import Tagger

HAN = re.compile("[\u4e00-\u9fd5]+")  # what jieba counts as Chinese characters
NAME_CLASSES = {"nr", "nrt", "nrfg", "ns", "nt", "nz"}  # jieba's classes of person, place and organisation names


def span_text(sentence: Sentence, span: Span) -> str:
    return "".join(sentence.tokens[span.start : span.end])


def measure(
    train: Sequence[Sentence], held: Sequence[Sentence], tagger: Tagger | None, new_words: bool = False
) -> dict:
    """The unseen share of ``held``'s entities, and ``tagger``'s recall on seen and unseen ones; with
    ``new_words``, also on the unseen ones that are a new word of jieba's HMM and on the others, and the
    shares of unseen ones that are a word of jieba's dictionary or made of common characters."""
    seen = {span_text(s, span) for s in train for span in s.spans()}
    character_counts = Counter(c for s in train for token in s.tokens for c in token) if new_words else Counter()
    unseen_kinds = Counter()  # with new_words: unseen entities in jieba's dictionary, of common characters
    predicted: Sequence[list[str] | None] = [None] * len(held)
    if tagger:  # tagged as `ner evaluate` tags: in the model's tokens, each sentence with its document
        held = as_model_tokens(held, tagger.char_level)
        predicted = tagger.predict_tags([s.tokens for s in held], [s.document for s in held])
    found = {"seen": [0, 0], "unseen": [0, 0]}  # [found, total]
    if new_words:
        found |= {kind: [0, 0] for kind in ("unseen_new_word", "unseen_other", *JIEBA_KINDS)}
    errors = dict.fromkeys(("missed", "boundary", "type", "spurious"), 0)
    for sentence, tags in zip(held, predicted):
        gold = sentence.spans()
        guessed = set(Sentence(sentence.tokens, tags).spans()) if tags else set()
        new = jieba_new_words(sentence.tokens) if new_words else set()
        for span in gold:
            text = span_text(sentence, span)
            kinds = ["seen" if text in seen else "unseen"]
            if new_words and kinds[0] == "unseen":
                kinds.append("unseen_new_word" if (span.start, span.end) in new else "unseen_other")
                kinds.append(jieba_kind(text))
                unseen_kinds["in_jieba"] += bool(jieba_frequency(text))
                unseen_kinds["common_characters"] += all(character_counts[c] >= 5 for c in text)
            for kind in kinds:
                found[kind][0] += span in guessed
                found[kind][1] += 1
            if tags and span not in guessed:
                errors[error_kind(span, guessed)] += 1
        errors["spurious"] += sum(not any(overlap(g, span) for span in gold) for g in guessed)
    total = found["seen"][1] + found["unseen"][1]
    result: dict = {"entities": total, "unseen_share": round(found["unseen"][1] / max(total, 1), 4)}
    if new_words:
        unseen = max(found["unseen"][1], 1)
        result["unseen_new_word_share"] = round(found["unseen_new_word"][1] / unseen, 4)
        result |= {
            f"unseen_{kind}_share": round(unseen_kinds[kind] / unseen, 4) for kind in ("in_jieba", "common_characters")
        }
    if tagger:
        result |= {f"recall_{kind}": round(hit / max(n, 1), 4) for kind, (hit, n) in found.items()}
        result["errors"] = errors
    return result


def jieba_new_words(tokens: Sequence[str]) -> set[tuple[int, int]]:
    """The ``(start, end)`` token spans that ``jieba.cut(HMM=True)`` gives as words of two or more Chinese
    characters outside its dictionary."""
    import jieba

    starts = list(itertools.accumulate(map(len, tokens), initial=0))
    token_at = {offset: i for i, offset in enumerate(starts)}
    spans, offset = set(), 0
    for word in jieba.cut("".join(tokens), HMM=True):
        start, end = token_at.get(offset), token_at.get(offset + len(word))
        if len(word) > 1 and HAN.fullmatch(word) and not jieba_frequency(word) and None not in (start, end):
            spans.add((start, end))
        offset += len(word)
    return spans


JIEBA_KINDS = ("unseen_jieba_name", "unseen_jieba_word", "unseen_not_jieba")


def jieba_kind(word: str) -> str:
    """What jieba's dictionary makes of an unseen entity's string: one of ``JIEBA_KINDS``."""
    import jieba.posseg

    word_class = jieba.posseg.dt.word_tag_tab.get(word)
    if word_class is None:
        return "unseen_not_jieba"
    return "unseen_jieba_name" if word_class in NAME_CLASSES else "unseen_jieba_word"


def jieba_frequency(word: str) -> int:
    """The word's frequency in jieba's dictionary (0: not a word of it)."""
    import jieba

    jieba.initialize()
    return jieba.dt.FREQ.get(word) or 0


def overlap(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def error_kind(span: Span, guessed: set[Span]) -> str:
    """Why the gold ``span`` is not among the predictions: missed, boundary or type."""
    overlapping = [g for g in guessed if overlap(g, span)]
    if not overlapping:
        return "missed"
    return "type" if any((g.start, g.end) == (span.start, span.end) for g in overlapping) else "boundary"


def run(
    train_path: Path,
    files: Sequence[Path],
    dev_every: int,
    blocks: Sequence[int],
    model: Path | None,
    new_words: bool = False,
) -> dict:
    sentences, _ = read_corpus(train_path)
    tagger = Tagger.load(model, threads=1) if model else None
    kept, _ = hold_out(sentences, dev_every)
    results: dict = {"train": str(train_path), "model": str(model) if model else None}
    for block in blocks:
        block_kept, held = hold_out(sentences, dev_every, block)
        results[f"dev: every {dev_every}th block of {block}"] = measure(
            block_kept, held, tagger if block == 1 else None, new_words
        )
    for path in files:
        results[str(path)] = measure(kept, read_corpus(path)[0], tagger, new_words)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--files", nargs="*", type=Path, default=[], help="held-out corpus files (test)")
    parser.add_argument("--dev-every", type=int, default=20)
    parser.add_argument("--blocks", nargs="+", type=int, default=[1], help="held-out block sizes, in sentences")
    parser.add_argument("--model", type=Path, help="a model trained on the training file less its dev")
    parser.add_argument("--new-words", action="store_true", help="split unseen entities by new words of jieba's HMM")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report(run(args.train, args.files, args.dev_every, args.blocks, args.model, args.new_words), args.json)


if __name__ == "__main__":
    main()
