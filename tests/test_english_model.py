"""The shipped English model on CoNLL-2003: the score its card reports, and sensible output."""

from __future__ import annotations

import json

import pytest

from ner import Tagger

from .conftest import shared_data, shipped_model


def test_tags_a_news_sentence() -> None:
    tagger = Tagger.load(shipped_model("en-conll03"))
    text = "German Chancellor Angela Merkel met Emmanuel Macron in Paris, the Elysee said on Tuesday."
    found = {(e.text, e.label) for e in tagger.tag(text)}
    assert {("Angela Merkel", "PER"), ("Emmanuel Macron", "PER"), ("Paris", "LOC")} <= found
    assert ("German", "MISC") in found


@pytest.mark.slow
def test_evaluate_prints_the_score_of_the_card(capsys) -> None:
    from ner.cli import main

    model = shipped_model("en-conll03")
    assert main(["evaluate", str(model), str(shared_data("conll2003_en", "eng.testb")), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    card_scores = json.loads((model / "metrics.json").read_text())["test"]
    assert scores["f1"] == pytest.approx(card_scores["f1"], abs=0.01)
    assert scores["f1"] > 89.0
    assert set(scores["per_type"]) == {"LOC", "MISC", "ORG", "PER"}
    size = sum(p.stat().st_size for p in model.iterdir())
    assert size < 25 * 2**20
