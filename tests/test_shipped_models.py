"""The shipped models (models/): sensible output, and on the real test sets the scores their cards report."""

from __future__ import annotations

import json
import unicodedata

import pytest

from ner import Tagger
from ner.cli import main
from ner.config import ModelConfig, load_config
from ner.markup import Markup, read_markup
from ner.text import model_form

from .conftest import ROOT, shared_data, shipped_model


def test_the_english_model_tags_a_news_sentence() -> None:
    tagger = Tagger.load(shipped_model("en-conll03"))
    text = "German Chancellor Angela Merkel met Emmanuel Macron in Paris, the Elysee said on Tuesday."
    found = {(e.text, e.label) for e in tagger.tag(text)}
    assert {("Angela Merkel", "PER"), ("Emmanuel Macron", "PER"), ("Paris", "LOC")} <= found
    assert ("German", "MISC") in found


def test_the_english_model_reads_a_sentence_without_capitals_with_its_corpus_capitals() -> None:
    tagger = Tagger.load(shipped_model("en-conll03"))
    cased = "German Chancellor Angela Merkel met Emmanuel Macron in New York, the Elysee said on Tuesday."
    expected = {("angela merkel", "PER"), ("emmanuel macron", "PER"), ("new york", "LOC"), ("german", "MISC")}
    for text in (cased.lower(), cased.upper()):
        found = {(text[e.start : e.end], e.label) for e in tagger.tag(text)}
        assert {(span if text.islower() else span.upper(), label) for span, label in expected} <= found
    tagger.vocab.truecaser = None
    assert len(tagger.tag(cased.lower())) < 2  # what restoring the capitals buys


@pytest.mark.parametrize(
    ("markup", "source"),
    [
        ("text", "Barack Obama met Angela Merkel in Berlin.\n\nJohn Smith\tGoogle\tLondon"),
        (
            "html",
            "<p>Barack Obama met <b>Angela</b>\n<i>Merkel</i> in Berlin.</p>"
            "<table><tr><td>John Smith</td><td>Google</td><td>London</td></tr></table>",
        ),
        (
            "markdown",
            "**Barack Obama** met [Angela Merkel](https://x.org) in _Berlin_.\n\n| John Smith | Google | London |",
        ),
    ],
)
def test_a_page_in_markup_is_tagged_as_its_text(markup: Markup, source: str) -> None:
    """Read as words, ``<p>`` and ``**`` cost the model the names around them (Barack Obama was missed),
    and a table's row read as one sentence was one ORG from its first cell to its last."""
    tagger = Tagger.load(shipped_model("en-conll03"))
    plain = read_markup(source, markup)
    entities = plain.source_entities(tagger.tag(plain.text))
    found = [(e.text, e.label) for e in entities]
    assert found[:4] == [("Barack Obama", "PER"), ("Angela Merkel", "PER"), ("Berlin", "LOC"), ("John Smith", "PER")]
    assert ("London", "LOC") in found and not any("\t" in text or "Google" in text for text, _ in found[:4])
    assert all(read_markup(source[e.start : e.end], markup).text.split() == e.text.split() for e in entities)
    if markup != "text":
        assert ("Barack Obama", "PER") not in {(e.text, e.label) for e in tagger.tag(source)}  # what reading buys


def test_invisible_characters_inside_names_change_no_entity() -> None:
    """Soft hyphens and zero-width spaces, as text copied from web pages has them, stay inside the tokens
    (and the entities' offsets) and out of what the model reads."""
    tagger = Tagger.load(shipped_model("en-conll03"))
    clean = "German Chancellor Angela Merkel met Emmanuel Macron in Paris."
    marked = clean.replace("Merkel", "Mer\u00adkel").replace("Macron", "Ma\u200bcron").replace("Paris", "\ufeffParis")
    entities = tagger.tag(marked)
    assert all(marked[e.start : e.end] == e.text for e in entities)
    read_as_clean = [(model_form(e.text), e.label, round(e.score, 5)) for e in entities]
    assert read_as_clean == [(e.text, e.label, round(e.score, 5)) for e in tagger.tag(clean)]
    assert ("Angela Mer\u00adkel", "PER") in {(e.text, e.label) for e in entities}


def test_decomposed_letters_are_read_as_composed_ones() -> None:
    """Text in NFD (macOS file names, some PDFs) gave other entities: Zoë as a place, Zürich's ORG as LOC."""
    tagger = Tagger.load(shipped_model("en-conll03"))
    assert not tagger.vocab.decomposed  # trained on composed text: looked up as read
    composed = "Zo\u00eb M\u00fcller of Z\u00fcrich Versicherung met Jos\u00e9 in K\u00f6ln."
    decomposed = unicodedata.normalize("NFD", composed)
    entities = tagger.tag(decomposed)
    assert all(decomposed[e.start : e.end] == e.text for e in entities)
    read = [(unicodedata.normalize("NFC", e.text), e.label, round(e.score, 4)) for e in entities]
    assert read == [(e.text, e.label, round(e.score, 4)) for e in tagger.tag(composed)]
    assert {("Zoë Müller", "PER"), ("Zürich Versicherung", "ORG")} <= {(text, label) for text, label, _ in read}


@pytest.mark.parametrize("name", ["en-conll03", "zh-msra", "zh-resume"])
def test_each_config_pins_the_network_its_shipped_model_was_trained_with(name: str) -> None:
    """The card's command names ``configs/<name>.toml``: every network setting it pins must be the shipped one's."""
    pinned, _ = load_config(ROOT / "configs" / f"{name}.toml")
    shipped = ModelConfig.from_dict(json.loads((shipped_model(name) / "config.json").read_text())["model"]).to_dict()
    assert {key: shipped[key] for key in pinned} == pinned


@pytest.mark.slow
def test_the_english_model_scores_what_its_card_says(capsys) -> None:
    model = shipped_model("en-conll03")
    assert main(["evaluate", str(model), str(shared_data("conll2003_en", "eng.testb")), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    card_scores = json.loads((model / "metrics.json").read_text())["test"]
    assert scores["f1"] == pytest.approx(card_scores["f1"], abs=0.01)
    assert scores["f1"] > 89.0
    assert set(scores["per_type"]) == {"LOC", "MISC", "ORG", "PER"}
    size = sum(p.stat().st_size for p in model.iterdir())
    assert size < 25 * 2**20


@pytest.mark.slow
def test_the_english_models_dev_lowercased_scores_what_its_card_says() -> None:
    from ner.corpus import read_corpus, recased
    from ner.metrics import evaluate

    tagger = Tagger.load(shipped_model("en-conll03"))
    lowered = recased(read_corpus(shared_data("conll2003_en", "eng.testa"))[0])
    record = tagger.bundle.metrics["truecasing"]
    assert round(evaluate(tagger, lowered)["f1"], 2) == record["dev_f1_lowercased"][record["unknown_words"]] > 80


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "test_file", "must_reach", "dev_note"),
    [
        ("zh-msra", ("msra_ner", "msra_test_bio"), 89.0, "every 20th sentence"),
        ("zh-resume", ("resume_ner", "test.char.bmes"), 93.0, "dev.char.bmes"),
    ],
)
def test_the_chinese_models_score_what_their_cards_say(
    name: str, test_file: tuple[str, str], must_reach: float, dev_note: str, capsys
) -> None:
    model = shipped_model(name)
    assert main(["evaluate", str(model), str(shared_data(*test_file)), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["f1"] == pytest.approx(json.loads((model / "metrics.json").read_text())["test"]["f1"], abs=0.01)
    assert scores["f1"] >= must_reach
    card = (model / "README.md").read_text()
    assert dev_note in card
    assert (model / "weights.safetensors").stat().st_size < 25 * 2**20


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "test_file"),
    [
        ("en-conll03", ("conll2003_en", "eng.testb")),
        ("zh-msra", ("msra_ner", "msra_test_bio")),
        ("zh-resume", ("resume_ner", "test.char.bmes")),
    ],
)
def test_onnx_and_torch_give_the_same_entities_and_scores(name: str, test_file: tuple[str, str]) -> None:
    """The serving backend (ONNX Runtime) against torch on a whole test set: every entity, scores within 1e-4."""
    from ner.corpus import read_corpus
    from ner.tagger import TagOptions

    model = shipped_model(name)
    sentences = read_corpus(shared_data(*test_file))[0]
    tokens, documents = [s.tokens for s in sentences], [s.document for s in sentences]
    options = TagOptions(scores=True)
    on_onnx = Tagger.load(model, backend="onnx", threads=1).predict(tokens, options, documents)
    on_torch = Tagger.load(model, backend="torch", threads=1).predict(tokens, options, documents)
    for a, b in zip(on_onnx, on_torch, strict=True):
        assert a.spans == b.spans
        assert a.scores == pytest.approx(b.scores, abs=1e-4)


def test_auto_routing_sends_each_text_to_the_default_model_of_its_script_and_names_who_read_it() -> None:
    from ner.router import Router

    taggers = [Tagger.load(shipped_model(name)) for name in ("en-conll03", "zh-msra", "zh-resume")]
    assert Router(taggers).route(["李明在北京大学工作。"]).name == "zh-msra"
    assert Router(taggers, default="zh-resume").route(["李明在北京大学工作。"]).name == "zh-resume"
    assert Router(taggers).route(["Angela Merkel visited Paris."]).name == "en-conll03"
    # a Chinese sentence with a word of English in it is Chinese, and its Chinese names are found
    mixed = Router(taggers).analyze(["李明在Microsoft工作。"])[0]
    assert ("李明", "PER") in {(e.text, e.label) for e in mixed.entities}
    # the English around a Chinese sentence is one document to the English model's memory, as without it
    text = "Michael Jordan scored 30 points. 这是中文。 Jordan said he was tired."
    auto = {(e.text, e.label) for e in Router(taggers).analyze([text])[0].entities}
    alone = {(e.text, e.label) for e in taggers[0].tag(text.replace(" 这是中文。", ""))}
    assert ("Jordan", "PER") in alone and auto - {("这是中文", "LOC")} >= alone
