"""Text without capitals: the usual forms a word model learns from its training corpus, and the tokens its
network reads for a document written in one case (ner/truecasing.py)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from ner import bundle as bundles
from ner.cli import main
from ner.corpus import read_corpus, recased
from ner.metrics import evaluate
from ner.tagger import Tagger, TagOptions
from ner.truecasing import Truecaser, fit, one_case, one_case_documents
from tests.conftest import reseal, synthetic_sentences, train_tiny, write_conll

CORPUS = [
    ["The", "EU", "said", "so", "."],
    ["Germany", "and", "the", "EU", "agreed", "."],  # Germany only first: not learned
    ["EU", "REJECTS", "GERMAN", "CALL"],  # a headline: not counted
    ["Later", "the", "eu", "and", "Paris", "said", "no", "."],  # EU twice, eu once
    ["They", "said", "so", "in", "Paris", "."],
]


def lowercased(sentences: list[list[tuple[str, str]]]) -> list[list[tuple[str, str]]]:
    """Synthetic sentences of (token, tag) pairs, their tokens lowercased."""
    return [[(token.lower(), tag) for token, tag in sentence] for sentence in sentences]


def test_one_case_needs_cased_letters_all_of_one_case() -> None:
    assert one_case("eu rejects") and one_case("EU REJECTS 1996") and one_case("straße")
    assert not one_case("EU rejects") and not one_case("1996 .") and not one_case("مرحبا") and not one_case("")


def test_learn_keeps_each_words_most_frequent_form_inside_sentences_of_mixed_case() -> None:
    truecaser = Truecaser.learn(CORPUS)
    assert truecaser is not None
    assert truecaser.forms == {"eu": "EU", "paris": "Paris"}
    assert truecaser.lowercase == {"said", "so", ".", "and", "the", "agreed", "no", "in"}
    assert "germany" not in truecaser.forms and "rejects" not in truecaser.lowercase
    assert truecaser.pairs == {}  # ("the", "EU") and ("the", "eu") once each: the first seen, as each alone
    assert Truecaser.learn(CORPUS, most=2).forms == {"eu": "EU"}  # with ".", the two most frequent
    assert Truecaser.learn([["all", "lower", "case"], ["ALL", "CAPS"], ["中", "国"]]) is None


def test_two_words_written_together_otherwise_than_alone_keep_their_pair_of_forms() -> None:
    sentences = [["In", "New", "York", "."], ["To", "New", "York", "!"], ["In", "New", "Jersey", "."]]
    sentences += [["A", "new", noun, "."] for noun in ("car", "day", "bike", "law")]
    truecaser = Truecaser.learn(sentences)
    assert truecaser is not None
    assert truecaser.forms == {"york": "York", "jersey": "Jersey"} and "new" in truecaser.lowercase
    assert truecaser.pairs == {("new", "york"): ("New", "York")}  # New Jersey seen once: chance
    assert truecaser.recase(["i", "love", "new", "york", "and", "new", "jersey"]) == [
        "I",
        "love",
        "New",
        "York",
        "and",
        "new",
        "Jersey",
    ]
    again = Truecaser.from_json(json.loads(json.dumps(truecaser.to_json())))
    assert again == truecaser


def test_recase_writes_known_words_as_usual_and_unknown_ones_as_chosen() -> None:
    lowercase = Truecaser.learn(CORPUS)
    assert lowercase is not None
    capitalized = replace(lowercase, unknown="capitalized")
    tokens = ["the", "eu", "and", "germany", "said", "no", "."]
    assert lowercase.recase(tokens) == ["The", "EU", "and", "germany", "said", "no", "."]
    assert capitalized.recase(tokens) == ["The", "EU", "and", "Germany", "said", "no", "."]
    assert capitalized.recase(["PARIS", "SAID", "NO"]) == ["Paris", "said", "no"]
    assert lowercase.recase([]) == []
    with pytest.raises(ValueError, match="lowercase or capitalized"):
        replace(lowercase, unknown="upper")


def test_a_fine_tuned_models_forms_lie_over_its_parents() -> None:
    together = {("new", "york"): ("New", "York"), ("and", "us"): ("And", "Us")}
    parent = Truecaser({"apple": "Apple", "may": "May", "eu": "EU"}, frozenset({"said", "us"}), together, "capitalized")
    child = Truecaser.learn(
        [["Later", "apple", "and", "US", "said", "so"], ["Then", "apple", "and", "US", "ran"]], parent
    )
    assert child is not None
    assert child.forms == {"may": "May", "eu": "EU", "us": "US"}  # apple now lowercase, US now capitals
    assert child.lowercase == {"apple", "and", "said", "so", "ran"} and child.unknown == "capitalized"
    assert child.pairs == {("new", "york"): ("New", "York")}  # "and US" seen twice: the child's own forms decide
    assert child.recase(["then", "apple", "and", "us", "met", "new", "york"]) == [
        "Then",
        "apple",
        "and",
        "US",
        "Met",
        "New",
        "York",
    ]
    assert Truecaser.learn([["all", "lower"], ["ALL", "UPPER"]], parent) is parent


def test_words_are_keyed_lowercased_and_written_as_their_usual_form() -> None:
    truecaser = Truecaser.learn(
        [
            ["In", "der", "Straße", "von", "iPhone", "."],
            ["Die", "Straße", "und", "iPhone"],
            ["Die", "Maße", "ist", "groß"],
        ]
        + [["Die", "Masse", "ist", "groß"]] * 2
    )
    assert truecaser is not None
    assert truecaser.recase(["DIE", "STRASSE", "VON", "IPHONE"]) == ["Die", "Straße", "von", "iPhone"]  # folded
    assert truecaser.recase(["die", "maße", "ist", "gross"]) == ["Die", "Maße", "ist", "groß"]  # not the Masse
    assert truecaser.recase(["DIE", "MASSE", "IST", "GROSS"]) == ["Die", "Masse", "ist", "groß"]
    assert truecaser.recase(["iphone", "und", "straße"]) == ["iPhone", "und", "Straße"]  # its capitals kept first
    assert replace(truecaser, unknown="capitalized").recase(["von", "ǆamonja"]) == ["Von", "ǅamonja"]  # title case


def test_capitals_written_without_their_accents_find_their_word() -> None:
    """Greek capitals drop their accents (ΚΡΗΤΗ for Κρήτη), and French ones often do (ECOLE): such a word was
    unknown, and read lowercased without them, unknown to the model too."""
    truecaser = Truecaser.learn(
        [["Ο", "Νίκος", "πήγε", "στην", "Κρήτη", "."], ["Il", "va", "à", "l'", "École", "."], ["Il", "a", "vu"]]
    )
    assert truecaser is not None
    greek = ["Ο", "ΝΙΚΟΣ", "ΠΗΓΕ", "ΣΤΗΝ", "ΚΡΗΤΗ", "."]
    assert truecaser.recase(greek) == ["Ο", "Νίκος", "πήγε", "στην", "Κρήτη", "."]
    assert truecaser.recase(["IL", "A", "VU", "L'", "ECOLE"]) == ["Il", "a", "vu", "l'", "École"]  # a stays a
    # Turkish dotless ı, whose capital I lowercases to i: IŞIK and IĞDIR were işik and iğdir, unknown words
    turkish = Truecaser.learn([["Fatih", "Işık", "Iğdır'da", "yaşıyor", "."], ["Ali", "Iğdır'da", "."]])
    assert turkish is not None
    assert turkish.recase(["FATIH", "IŞIK", "IĞDIR'DA", "YAŞIYOR"]) == ["Fatih", "Işık", "Iğdır'da", "yaşıyor"]


@pytest.mark.parametrize(
    "line",
    [
        "at java.base/java.lang.thread.run(thread.java:829)",
        "info: started worker pid=4242 queue=default",
        "/opt/acme/manage.py migrate --settings=acme.settings.prod",
        "mozilla/5.0 (x11; linux x86_64) applewebkit/537.36 (khtml, like gecko) chrome/120.0 safari/537.36",
    ],
)
def test_machine_text_without_capitals_is_read_as_written(line: str) -> None:
    """A log line, a path, a stack frame has no capitals: restoring them made a name of each identifier it did
    not know (LOC lang, ORG pid, PER prod)."""
    tagger = Tagger.load(Path(__file__).parent.parent / "models" / "en-conll03")
    assert one_case_documents([[t.text for t in tagger.tokenize(line)]]) == set()
    assert tagger.tag(line) == []
    for chat in ("ok so (maybe) john from acme / ibm called at 5:30", "*waves* hi john ~ see u in berlin -- ok"):
        assert one_case_documents([[t.text for t in tagger.tokenize(chat)]]) == {0}  # chat's marks: restored


def test_only_documents_written_in_one_case_are_recased() -> None:
    truecaser = Truecaser.learn(CORPUS)
    assert truecaser is not None
    sentences = [["the", "eu", "said"], ["paris", "."], ["The", "eu", "said"], ["1996", "."], ["EU", "SAID"]]
    documents = [0, 0, 1, 2, 3]
    assert one_case_documents(sentences, documents) == {0, 3}
    read = truecaser.recased(sentences, documents)
    assert read == [["The", "EU", "said"], ["Paris", "."], ["The", "eu", "said"], ["1996", "."], ["EU", "said"]]
    assert read[2] is sentences[2]
    assert truecaser.recased(sentences) == [
        truecaser.recase(sentences[i]) if i in (0, 1, 4) else sentences[i] for i in range(5)
    ]
    mixed = [["The", "eu"], ["paris"]]
    assert truecaser.recased(mixed, [0, 0]) is mixed


def test_a_trained_word_model_learns_its_capitals_and_chooses_on_dev(tiny_model: Path, tiny_corpus: dict) -> None:
    tagger = Tagger.load(tiny_model)
    record = tagger.bundle.metrics["truecasing"]
    assert tagger.vocab.truecaser is not None and tagger.vocab.truecaser.unknown == record["unknown_words"]
    assert tagger.vocab.truecaser.forms["paris"] == "Paris" and "visited" in tagger.vocab.truecaser.lowercase
    dev = read_corpus(tiny_corpus["dev"])[0]
    lowered = recased(dev)
    learned = tagger.vocab.truecaser
    by_hand = {}
    for way, truecaser in [
        ("none", None),
        *((rule, replace(learned, unknown=rule)) for rule in ("lowercase", "capitalized")),
    ]:
        tagger.vocab.truecaser = truecaser
        by_hand[way] = round(evaluate(tagger, lowered)["f1"], 2)
    tagger.vocab.truecaser = learned
    assert record["dev_f1_lowercased"] == by_hand
    assert by_hand[record["unknown_words"]] == max(by_hand.values()) > by_hand["none"]
    assert "Text written in one case is read with the usual capitals" in (tiny_model / "README.md").read_text()
    chosen, again = fit(tagger, read_corpus(tiny_corpus["train"])[0], dev)
    assert again == record and chosen == learned and tagger.vocab.truecaser is learned


def test_the_network_reads_a_lowercase_text_recased_and_entities_keep_the_text(tiny_model: Path, monkeypatch) -> None:
    tagger = Tagger.load(tiny_model)
    read: list[list[str]] = []
    encode = tagger.vocab.encode
    monkeypatch.setattr(tagger.vocab, "encode", lambda chunk, *a, **k: read.extend(chunk) or encode(chunk, *a, **k))
    text = "angela merkel visited paris on monday ."
    entities = tagger.tag(text)
    assert read == [tagger.vocab.truecaser.recase(text.split())]
    assert read[0][:4] == ["Angela", "Merkel", "visited", "Paris"]
    assert [(e.text, e.label) for e in entities] == [("angela merkel", "PER"), ("paris", "LOC")]
    assert all(text[e.start : e.end] == e.text for e in entities)
    read.clear()
    tagger.tag("angela merkel visited Paris .")  # mixed case: read as written
    assert read == [["angela", "merkel", "visited", "Paris", "."]]
    tagger.vocab.truecaser = None
    assert tagger.tag(text) != entities  # what the capitals buy here


def test_capitals_are_restored_in_one_case_text_in_every_text_or_never_as_asked(tiny_model: Path, monkeypatch) -> None:
    """Chat that capitalizes only each sentence's first word mixes cases: read as written unless asked."""
    tagger = Tagger.load(tiny_model)
    read: list[list[str]] = []
    encode = tagger.vocab.encode
    monkeypatch.setattr(tagger.vocab, "encode", lambda chunk, *a, **k: read.extend(chunk) or encode(chunk, *a, **k))
    chat, lower = "Angela merkel visited paris on monday .", "angela merkel visited paris on monday ."
    restored = tagger.vocab.truecaser.recase(chat.split())
    for capitals, text, network_read in (
        ("auto", chat, chat.split()),
        ("restore", chat, restored),
        ("auto", lower, restored),
        ("as_written", lower, lower.split()),
    ):
        read.clear()
        tagger.analyze([text], TagOptions(capitals=capitals))
        assert read == [network_read], capitals
    (chat_analysis,), (lower_analysis,) = (tagger.analyze([t], TagOptions(capitals="restore")) for t in (chat, lower))
    assert [(e.start, e.end, e.label) for e in chat_analysis.entities] == [
        (e.start, e.end, e.label) for e in lower_analysis.entities
    ]
    # ... and cut into tokens and sentences as text in one case is: "mr." one token, ". he" a sentence's end
    restore = TagOptions(capitals="restore", tokens=True)
    chat_tokens, lower_tokens = (
        tagger.analyze([t], restore)[0].tokens for t in ("Met mr. smith. he left.", "met mr. smith. he left.")
    )
    assert [(t.start, t.end) for t in chat_tokens] == [(t.start, t.end) for t in lower_tokens]
    assert [t.text for t in chat_tokens][:2] == ["Met", "mr."]
    chat_entities = tagger.tag("Angela merkel visited paris .", capitals="restore")
    assert [(e.start, e.end, e.label) for e in chat_entities] == [
        (e.start, e.end, e.label) for e in tagger.tag_batch(["angela merkel visited paris ."])[0]
    ]
    chat_best, lower_best = (tagger.nbest(text, 2, capitals="restore") for text in (chat, lower))
    assert [[(e.start, e.label) for e in a.entities] for a in chat_best] == [
        [(e.start, e.label) for e in a.entities] for a in lower_best
    ]
    tagger.vocab.truecaser = None  # a model that restores no capitals cuts text as it comes whatever it is asked
    assert [t.text for t in tagger.analyze(["Met mr. smith."], restore)[0].tokens][:3] == ["Met", "mr", "."]
    with pytest.raises(ValueError, match="capitals must be one of auto, restore, as_written"):
        TagOptions(capitals="always")


def test_a_dictionary_matches_the_tokens_as_written(tiny_model: Path) -> None:
    tagger = Tagger.load(tiny_model)
    lower = tagger.dictionary({"acme": "ORG"})
    found = tagger.analyze(["acme hired angela merkel ."], TagOptions(dictionary=lower))[0].entities
    assert ("acme", "ORG") in [(e.text, e.label) for e in found]  # the network reads "Acme"


def test_training_scores_the_saved_model_on_dev_documents_in_one_case(tmp_path: Path) -> None:
    """Fresh, and fine-tuned on text without capitals (its epochs scored with the parent's truecaser, which
    dev may then drop): the card's dev score is what the saved model gives."""
    train = write_conll(tmp_path / "train.conll", synthetic_sentences(300, 1), per_document=5)
    lowered = lowercased(synthetic_sentences(60, 2))
    dev = write_conll(tmp_path / "dev.conll", lowered, per_document=5)
    parent = train_tiny(tmp_path / "model", train, dev, "--epochs", "3")
    chat = lowercased(synthetic_sentences(40, 5))
    child = train_tiny(
        tmp_path / "child", write_conll(tmp_path / "chat.conll", chat), dev, "--init-from", str(parent), "--epochs", "1"
    )
    for model in (parent, child):
        tagger = Tagger.load(model)
        assert tagger.bundle.metrics["dev"]["f1"] == pytest.approx(evaluate(tagger, read_corpus(dev)[0])["f1"])
    assert Tagger.load(parent).vocab.truecaser is not None


def test_ner_truecase_rewrites_a_model_and_refuses_what_it_cannot_learn(
    tiny_model: Path, tiny_corpus: dict, tiny_zh_model: Path, tmp_path: Path, capsys, caplog
) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    stripped = bundles.load(model)
    stripped.vocab.truecaser = None
    stripped.metrics.pop("truecasing")
    bundles.save(stripped, model, card="# card\n")
    assert Tagger.load(model).vocab.truecaser is None
    caseless = write_conll(tmp_path / "lower.conll", lowercased(synthetic_sentences(9, 1)))
    assert main(["truecase", str(model), "--train", str(caseless)]) == 2
    assert "no sentence mixes capitals and small letters" in capsys.readouterr().err
    assert main(["truecase", str(model), "--train", str(tiny_corpus["train"]), "--dev", str(tiny_corpus["dev"])]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["dev_f1_lowercased"] == bundles.load(tiny_model).metrics["truecasing"]["dev_f1_lowercased"]
    assert Tagger.load(model).vocab.truecaser == Tagger.load(tiny_model).vocab.truecaser
    assert "ner truecase" in (model / "README.md").read_text()
    assert main(["truecase", str(model), "--train", str(tiny_corpus["train"])]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["dev_f1_lowercased"] is None
    assert f"other words {printed['unknown_words']} (unmeasured: no dev file," in (model / "README.md").read_text()
    lowered_dev = write_conll(tmp_path / "dev.conll", lowercased(synthetic_sentences(9, 2)))
    assert main(["truecase", str(model), "--train", str(caseless), "--dev", str(lowered_dev)]) == 0  # the model's kept
    assert Tagger.load(model).vocab.truecaser.forms == Tagger.load(tiny_model).vocab.truecaser.forms
    assert "read otherwise now" not in caplog.text  # read as before: its scores stand
    bundles.save(stripped, model, card="# card\n")
    assert main(["truecase", str(model), "--train", str(tiny_corpus["train"]), "--dev", str(lowered_dev)]) == 0
    assert f"{lowered_dev}: documents written in one case, read otherwise now" in caplog.text
    assert main(["truecase", str(tiny_zh_model), "--train", str(caseless)]) == 2
    assert "only a word model restores capitals" in capsys.readouterr().err


def test_a_dev_set_that_measures_nothing_leaves_the_truecaser_learned(
    tiny_model: Path, tiny_corpus: dict, tmp_path: Path, capsys, monkeypatch
) -> None:
    """Every way scoring 0 chose "none" (the first of a tie) and dropped the truecaser without a word."""
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    no_entity = write_conll(tmp_path / "o.conll", [[(word, "O") for word, _ in s] for s in synthetic_sentences(9, 3)])
    assert main(["truecase", str(model), "--train", str(tiny_corpus["train"]), "--dev", str(no_entity)]) == 2
    assert "holds no entity: dev chooses how to read text in one case" in capsys.readouterr().err
    tagger = Tagger.load(model)
    # The model finding no entity of dev lowercased, whichever way it reads it (mocked: the tiny model finds some).
    monkeypatch.setattr("ner.metrics.evaluate", lambda *_: {"f1": 0.0})
    chosen, record = fit(tagger, read_corpus(tiny_corpus["train"])[0], read_corpus(tiny_corpus["dev"])[0])
    assert chosen is not None and chosen.unknown == "lowercase" and record["dev_f1_lowercased"] is None


@pytest.mark.parametrize("scored_by", ["training", "ner words"])
def test_ner_truecase_warns_of_the_cards_dev_file_read_otherwise_now(
    scored_by: str, tiny_model: Path, tiny_corpus: dict, tmp_path: Path, caplog
) -> None:
    """The card's dev scores are of the training's dev file, or of the one ``ner words`` scored last; --dev
    need be neither."""
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    card_dev = write_conll(tmp_path / "dev.conll", lowercased(synthetic_sentences(9, 2)))
    stripped = bundles.load(model)
    stripped.vocab.truecaser = None
    recorded = {"dev": f"dev file {card_dev}"}
    if scored_by == "ner words":
        recorded = {"dev": f"dev file {tiny_corpus['dev']}", "dev_scored": str(card_dev)}
    stripped.info["training"] |= {**recorded, "test": None}
    bundles.save(stripped, model, card="# card\n")
    assert main(["truecase", str(model), "--train", str(tiny_corpus["train"]), "--dev", str(tiny_corpus["dev"])]) == 0
    assert f"{card_dev}: documents written in one case, read otherwise now" in caplog.text


def test_a_damaged_truecaser_is_refused_when_the_model_loads(tiny_model: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    vocab = json.loads((model / "vocab.json").read_text())
    damages = {
        "forms": ({"paris": 7}, "forms map words to words"),
        "lowercase": ("said", "lowercase words are a list"),
        "pairs": ([["new", "york", "New"]], "pairs are"),
    }
    for key, (value, message) in damages.items():
        damaged = json.loads(json.dumps(vocab))
        damaged["truecaser"][key] = value
        (model / "vocab.json").write_text(json.dumps(damaged))
        reseal(model, "vocab.json")
        with pytest.raises(bundles.BundleError, match=message):
            Tagger.load(model)
    for empty in (
        {"forms": {"eu": ""}},
        {"pairs": [["new", "york", "", "York"]]},
    ):  # an empty form crashed tagging (casing(""))
        damaged = json.loads(json.dumps(vocab))
        damaged["truecaser"].update(empty)
        (model / "vocab.json").write_text(json.dumps(damaged))
        reseal(model, "vocab.json")
        with pytest.raises(bundles.BundleError, match="truecaser"):
            Tagger.load(model)


def test_a_character_model_with_a_truecaser_is_refused(tiny_zh_model: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_zh_model, model)
    vocab = json.loads((model / "vocab.json").read_text())
    vocab["truecaser"] = Truecaser({"eu": "EU"}, frozenset()).to_json()
    (model / "vocab.json").write_text(json.dumps(vocab))
    reseal(model, "vocab.json")
    with pytest.raises(bundles.BundleError, match="only a word model restores capitals"):
        Tagger.load(model)


def test_training_scores_again_when_its_last_step_changes_how_text_in_one_case_is_read(monkeypatch) -> None:
    """A fine-tuned model's epochs are scored with its parent's truecaser; dev may then choose another (or
    none): dev and test are scored again where they hold text in one case, and only then."""
    from types import SimpleNamespace

    from ner import finishing, truecasing
    from ner.corpus import Sentence

    parent = Truecaser({"eu": "EU"}, frozenset({"said"}))
    lowered, cased = [Sentence(["eu", "said"], ["S-ORG", "O"])], [Sentence(["EU", "said"], ["S-ORG", "O"])]
    record = {"unknown_words": None, "words": 2, "pairs": 0, "dev_f1_lowercased": {"none": 9.0}}
    for chosen, dev, rescored in [(None, lowered, True), (parent, lowered, False), (None, cased, False)]:
        scored = []
        run = SimpleNamespace(
            config=SimpleNamespace(train_with_dev=False),
            corpora=SimpleNamespace(train=[], dev=dev, test=None),
            parent=SimpleNamespace(vocab=SimpleNamespace(truecaser=parent)),
            vocab=SimpleNamespace(truecaser=parent),
            tagger=lambda: None,
            score=lambda scored=scored: scored.append(1) or ({"f1": 50.0}, None),
        )
        monkeypatch.setattr(truecasing, "fit", lambda *_, chosen=chosen: (chosen, record))
        best = finishing.restore_capitals(run, {"f1": 90.0, "dev": {"f1": 90.0}})
        assert run.vocab.truecaser is chosen and best["truecasing"] == record
        assert (best["f1"], bool(scored)) == ((50.0, True) if rescored else (90.0, False))
