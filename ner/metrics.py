"""Entity-level scores: strict exact-match precision, recall and F1 (percent), overall and per type.

Scored with ``seqeval`` in strict mode on BIOES tags. Gold tags read by
:mod:`ner.corpus` and predicted tags from the decoder are both valid BIOES, so
the figures equal those of CoNLL's ``conlleval`` on the original files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ner.corpus import as_model_tokens

if TYPE_CHECKING:
    from ner.corpus import Sentence
    from ner.tagger import Tagger


def evaluate(tagger: Tagger, sentences: Sequence[Sentence]) -> dict:
    """Entity scores of ``tagger`` on gold ``sentences`` (tagged document by document) in the tokens
    the model tags text in: a character model's in characters, should they come in words."""
    sentences = as_model_tokens(sentences, tagger.char_level)
    predicted = tagger.predict_tags([s.tokens for s in sentences], [s.document for s in sentences])
    return entity_scores([s.tags for s in sentences], predicted)


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


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict:
    """``{"precision", "recall", "f1", "per_type": {label: {...}}}`` in percent (0-100)."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOBES

    if len(gold) != len(predicted) or any(len(g) != len(p) for g, p in zip(gold, predicted)):
        raise ValueError("gold and predicted tag sequences differ in shape")
    if not any(gold) and not any(predicted):
        return {**_rename(_empty()), "per_type": {}}
    report = classification_report(
        [list(g) for g in gold],
        [list(p) for p in predicted],
        mode="strict",
        scheme=IOBES,
        output_dict=True,
        zero_division=0,
    )

    def percent(row: dict) -> dict:
        return {key: round(100 * float(row[key]), 2) for key in ("precision", "recall", "f1-score")} | {
            "support": int(row["support"])
        }

    overall = percent(report["micro avg"]) if "micro avg" in report else _empty()
    per_type = {label: _rename(percent(row)) for label, row in report.items() if not label.endswith(" avg")}
    return {**_rename(overall), "per_type": per_type}


def _rename(row: dict) -> dict:
    return {"precision": row["precision"], "recall": row["recall"], "f1": row["f1-score"], "support": row["support"]}


def _empty() -> dict:
    return {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 0}
