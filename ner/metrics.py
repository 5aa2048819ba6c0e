"""Entity-level scores: strict exact-match precision, recall and F1 (percent), overall and per type.

Scored with ``seqeval`` in strict mode on BIOES tags. Gold tags read by
:mod:`ner.corpus` and predicted tags from the decoder are both valid BIOES, so
the figures equal those of CoNLL's ``conlleval`` on the original files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ner.corpus import as_model_tokens, symbol_entities, written_out
from ner.corpus.schemes import TAG_PATTERN, Span, spans_to_tags, tags_to_spans
from ner.recipe import another_script, inside_word_entities

if TYPE_CHECKING:
    from ner.corpus import Sentence
    from ner.tagger import Tagger
    from ner.truecasing import Capitals


def evaluate(tagger: Tagger, sentences: Sequence[Sentence], capitals: Capitals = "auto") -> dict:
    """Entity scores of ``tagger`` on gold ``sentences`` (tagged document by document) in the tokens
    the model tags text in: a character model's in characters, should they come in words. ``capitals``:
    when a word model restores capitals (:class:`ner.tagger.TagOptions`)."""
    sentences = as_model_tokens(sentences, tagger.char_level)
    predicted = tagger.predict_tags([s.tokens for s in sentences], [s.document for s in sentences], capitals)
    return entity_scores([s.tags for s in sentences], predicted)


def evaluate_as_text(tagger: Tagger, sentences: Sequence[Sentence], capitals: Capitals = "auto") -> dict:
    """Entity scores of ``tagger`` on gold ``sentences`` as the service gets them: each document written out
    as text (:func:`ner.corpus.written_out`), tagged as text, and scored on exact character spans (the tags of
    each text's characters compared). What the corpus's tokens and sentences give that text does not
    (an entity inside a word: Cocaine of Cocaine-induced; one a sentence's end cuts) counts against it."""
    documents: dict[int, list[Sentence]] = {}
    for sentence in sentences:
        documents.setdefault(sentence.document, []).append(sentence)
    texts, gold = zip(*map(written_out, documents.values())) if documents else ((), ())
    found = tagger.tag_batch(texts, scores=False, capitals=capitals)
    return entity_scores(
        [character_tags(len(text), spans) for text, spans in zip(texts, gold)],
        [
            character_tags(len(text), [(e.start, e.end, e.label) for e in entities])
            for text, entities in zip(texts, found)
        ],
    )


def character_tags(length: int, spans: Sequence[tuple[int, int, str]]) -> list[str]:
    """BIOES tags of the ``length`` characters of a text with ``spans`` (``(start, end, label)``, apart)."""
    tags = ["O"] * length
    for start, end, label in spans:
        if end - start == 1:
            tags[start] = f"S-{label}"
        else:
            tags[start:end] = [f"B-{label}", *[f"I-{label}"] * (end - start - 2), f"E-{label}"]
    return tags


def labels_problem(labels: Sequence[str], sentences: Sequence[Sentence], file: str) -> tuple[str, bool] | None:
    """What makes ``file`` a poor corpus to score a model of ``labels`` on, and whether it is unusable
    (no entity, or none of the model's labels); None when all its entities' labels are the model's."""
    gold = {span.label for sentence in sentences for span in sentence.spans()}
    unknown = sorted(gold - set(labels))
    if not gold:
        return f"{file} holds no entity", True
    if len(unknown) == len(gold):
        return f"{file}'s labels ({', '.join(unknown)}) are none of the model's ({', '.join(labels)})", True
    if unknown:
        return f"{file}'s labels {', '.join(unknown)} are not the model's: their entities count as missed", False
    return None


def corpus_problems(tagger: Tagger, sentences: Sequence[Sentence], file: str) -> list[str]:
    """What makes ``file`` a poor corpus to score ``tagger`` on, as warnings: labels not the model's, no
    entity, text in another script than the model reads (:func:`ner.recipe.another_script`), entities inside
    a word model's words (:func:`ner.recipe.inside_word_entities`). Raises
    :class:`ValueError` when none of its entities' types is the model's: every score would be 0."""
    problems = []
    if found := labels_problem(tagger.labels, sentences, file):
        message, unusable = found
        if unusable and any(sentence.spans() for sentence in sentences):
            raise ValueError(f"{message}: nothing to score")
        problems.append(f"{message}: the scores say little")
    if mismatch := another_script(tagger.vocab.level, tagger.language, sentences):
        problems.append(f"{file}: scoring {tagger.name}, {mismatch}: the scores say little")
    if not tagger.vocab.symbols_in_entities and (symbols := symbol_entities(sentences)):
        problems.append(
            f"{file}: {symbols} entities hold a lone #, @ or emoji ({tagger.name}'s corpus put none in an entity), "
            "which it never tags: train on a corpus that holds them"
        )
    inside, total, examples = (0, 0, []) if tagger.char_level else inside_word_entities(sentences)
    if inside:
        problems.append(
            f"{file}: {inside} of its {total} entities start or end inside a word of its text ({'; '.join(examples)}), "
            "which a word model tagging text cannot find: --as-text scores them as missed"
        )
    return problems


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict:
    """``{"precision", "recall", "f1", "support", "predicted", "correct", "macro", "weighted", "per_type":
    {label: {...}}, "errors": {...}}``: scores in percent (0-100), micro-averaged overall, ``macro`` and
    ``weighted`` (by support) the means of the types' scores; ``support``, ``predicted`` and ``correct``
    count entities (gold, predicted, both), so that the scores of several files can be added up;
    ``errors`` counts the mistakes by kind (:func:`error_kinds`). Tags in any scheme
    (:data:`ner.corpus.schemes.SCHEMES` but IO), each sequence read as conlleval reads it, then scored in
    BIOES."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOBES

    if len(gold) != len(predicted) or any(len(g) != len(p) for g, p in zip(gold, predicted)):
        raise ValueError("gold and predicted tag sequences differ in shape")
    gold_spans, predicted_spans = _spans(gold, "gold"), _spans(predicted, "predicted")
    counts = _span_counts(gold_spans, predicted_spans)
    errors = error_kinds(gold_spans, predicted_spans)
    if not any(gold_spans) and not any(predicted_spans):  # no type to average over
        empty = {"macro": _means(), "weighted": _means(), "per_type": {}, "errors": errors}
        return {**_rename(_empty()), **counts["overall"], **empty}
    report = classification_report(  # both in BIOES, as conlleval reads them
        [spans_to_tags(spans, len(tags)) for spans, tags in zip(gold_spans, gold)],
        [spans_to_tags(spans, len(tags)) for spans, tags in zip(predicted_spans, predicted)],
        mode="strict",
        scheme=IOBES,
        output_dict=True,
        zero_division=0,
    )

    def percent(row: dict) -> dict:
        return {key: round(100 * float(row[key]), 2) for key in ("precision", "recall", "f1-score")} | {
            "support": int(row["support"])
        }

    overall = percent(report["micro avg"])
    per_type = {
        label: _rename(percent(row)) | counts.get(label, {"predicted": 0, "correct": 0})
        for label, row in report.items()
        if not label.endswith(" avg")
    }
    averages = {name: _means(percent(report[f"{name} avg"])) for name in ("macro", "weighted")}
    return {**_rename(overall), **counts["overall"], **averages, "per_type": per_type, "errors": errors}


ERROR_KINDS = ("type", "boundary", "type_and_boundary", "spurious", "missed")


def error_kinds(gold: Sequence[list[Span]], predicted: Sequence[list[Span]]) -> dict[str, int]:
    """The mistakes, by kind: a predicted entity that is not a gold one has the ``type`` wrong (a gold
    entity has its tokens), else the ``boundary`` (it overlaps a gold entity of its type), else both
    (``type_and_boundary``: it overlaps gold entities of other types only), else it is ``spurious``
    (it overlaps none); a gold entity that no prediction overlaps is ``missed``. Strict F1 counts a
    type or boundary mistake twice (a false positive and a false negative); these count it once."""
    kinds = dict.fromkeys(ERROR_KINDS, 0)
    for gold_spans, predicted_spans in zip(gold, predicted):
        right = set(gold_spans)
        for span in predicted_spans:
            if span in right:
                continue
            overlapping = [g for g in gold_spans if g.start < span.end and span.start < g.end]
            if not overlapping:
                kinds["spurious"] += 1
            elif any((g.start, g.end) == (span.start, span.end) for g in overlapping):
                kinds["type"] += 1
            elif any(g.label == span.label for g in overlapping):
                kinds["boundary"] += 1
            else:
                kinds["type_and_boundary"] += 1
        for span in gold_spans:
            kinds["missed"] += not any(p.start < span.end and span.start < p.end for p in predicted_spans)
    return kinds


def _spans(sequences: Sequence[Sequence[str]], name: str) -> list[list[Span]]:
    """The entities of each of ``sequences`` of tags; raises :class:`ValueError` naming a tag that is none
    (``PER``)."""
    for i, tags in enumerate(sequences):
        if isinstance(tags, str):
            raise ValueError(f"{name} sequence {i}: {tags!r} is one string, not a sequence of tags")
        if bad := next((tag for tag in tags if tag != "O" and not TAG_PATTERN.match(tag)), None):
            raise ValueError(f"{name} sequence {i}: {bad!r} is no tag (O, or B-PER and the like)")
    return [tags_to_spans(tags) for tags in sequences]


def _span_counts(gold: Sequence[list[Span]], predicted: Sequence[list[Span]]) -> dict[str, dict[str, int]]:
    """Entities predicted and predicted right (same tokens, same type), per type and ``overall``."""
    counts: dict[str, dict[str, int]] = {"overall": {"predicted": 0, "correct": 0}}
    for gold_spans, predicted_spans in zip(gold, predicted):
        right = set(gold_spans)
        for span in predicted_spans:
            for key in ("overall", span.label):
                row = counts.setdefault(key, {"predicted": 0, "correct": 0})
                row["predicted"] += 1
                row["correct"] += span in right
    return counts


def _means(row: dict | None = None) -> dict:
    row = row or _empty()
    return {"precision": row["precision"], "recall": row["recall"], "f1": row["f1-score"]}


def _rename(row: dict) -> dict:
    return _means(row) | {"support": row["support"]}


def _empty() -> dict:
    return {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0}
