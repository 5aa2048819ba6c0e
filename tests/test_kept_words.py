"""Tests for ner.kept_words: a column corpus's words that the tokenizer cuts, learnt and kept whole in text."""

from __future__ import annotations

import json
import random
from pathlib import Path

from ner.corpus import Sentence
from ner.kept_words import KeptWords
from ner.router import Router
from ner.tagger import Tagger, TagOptions
from ner.text import split_sentences, tokenize

from .conftest import train_tiny, write_conll

GERMAN = [
    "Er spielt beim 1. FC Köln seit dem 3. Oktober .",
    "Der 2. Weltkrieg endete am 8. Mai , z. B. in Berlin .",
    "Die EU:n Kommission tagte in Brüssel .",
    "Die EU:n Ministerin sprach am 12. Juni in Bonn .",
    "Dr. Müller sah z. B. die U.S. Army .",
    "Er wurde 3.",
    "Die Kommission tagte .",
    "Er kam .",
]


def sentences(lines: list[str], offsets: bool = False) -> list[Sentence]:
    out = []
    for line in lines:
        tokens = line.split()
        spans = [(0, 1)] * len(tokens) if offsets else None
        out.append(Sentence(tokens, ["O"] * len(tokens), spans))
    return out


def test_words_seen_inside_sentences_that_the_tokenizer_cuts_are_learnt() -> None:
    kept = KeptWords.learn(sentences(GERMAN))
    assert kept is not None
    # 1., 3., 8. are one form (one digit); z. and EU:n twice each
    assert kept.forms == {"0.", "z.", "EU:n"}
    # not: seen once (12., the only number of two digits), last in its sentence (Er wurde 3.), kept by the tokenizer
    # already (Dr., U.S.), read from text (a JSONL corpus's tokens are the tokenizer's), in Chinese
    assert KeptWords.learn(sentences(GERMAN, offsets=True)) is None
    assert KeptWords.learn(sentences(["在 北京 。 上海", "在 北京 。 上海"])) is None
    assert KeptWords.learn(sentences(["Er wurde 3.", "Dr. Müller kam .", "Dr. Müller ging ."])) is None
    # nor marks alone, nor one that ends a sentence however written (Paris!! London)
    assert KeptWords.learn(sentences(["I love Paris!! London rocks", "Yes ?! no", "a !! b ?! c", "a ** b"] * 2)) is None
    # the capitalized words that start half their sentences or more, three times or more, seen in lower case
    assert kept.starts == {"Die"}  # Er is never written er in this corpus


def test_runs_of_tokens_that_make_a_kept_word_are_joined() -> None:
    kept = KeptWords(["0.", "00.", "z.", "EE.UU.", "EU:n", "0000'te"])
    text = "Er spielt beim 1. FC Köln am 23. Oktober, z. B. in EE.UU. und EU:n 1923'te. Er wurde 3."
    expected = "Er spielt beim 1. FC Köln am 23. Oktober , z. B . in EE.UU. und EU:n 1923'te . Er wurde 3 ."
    assert " ".join(token.text for token in kept.joined(tokenize(text))) == expected  # a text's last point ends it
    # 1. no longer ends a sentence in the middle of a name, but does before a word that starts the corpus's
    kept = KeptWords(kept.forms, ["Ihr", "Por"])
    text = "Er spielt beim 1. FC Köln. Sie ist 34. Ihr Mann ist 36 . Er ist 3. Die Frau ist 35. Hannover 96. Ihr"
    cut = kept.cut(text, split_sentences(text, kept.joined(tokenize(text))))
    assert [" ".join(t.text for t in sentence) for sentence in cut] == [
        "Er spielt beim 1. FC Köln .",
        "Sie ist 34 .",  # a number's point that ends a sentence apart again, as the corpus writes it
        "Ihr Mann ist 36 .",
        "Er ist 3. Die Frau ist 35. Hannover 96 .",  # Die is not among the corpus's starts given
        "Ihr",
    ]
    spanish = KeptWords(["EE.UU."], ["Por"])
    text = "Clinton regresó a EE.UU. Por su parte, Aznar lo despidió."
    cut = spanish.cut(text, split_sentences(text, spanish.joined(tokenize(text))))
    assert [" ".join(t.text for t in sentence) for sentence in cut] == [
        "Clinton regresó a EE.UU.",
        "Por su parte , Aznar lo despidió .",
    ]
    # a list's number at a line's start is no kept word's point: the item stays whole (any line end; quoted)
    for end, quote in (("\n", ""), ("\r", ""), ("\u2028", ""), ("\n", "> ")):
        text = f"Tagesordnung:{end}{quote}1. Die Regierung tritt zurück.{end}{quote}2. Der Haushalt."
        cut = KeptWords(["0."], ["Die", "Der"]).cut(text, split_sentences(text, kept.joined(tokenize(text))))
        assert [" ".join(t.text for t in sentence) for sentence in cut][1:] == [
            "1. Die Regierung tritt zurück .",
            "2. Der Haushalt .",
        ], (end, quote)


def test_a_long_run_of_marks_costs_no_more_than_its_kept_words_pieces() -> None:
    """A kept word cut into more than MAX_PIECES tokens is dropped: runs of tokens are looked at that far."""
    kept = KeptWords([".-" * 200 + "a", "0."])
    assert kept.forms == {"0."} and kept.pieces == 2


def test_joined_tokens_are_the_text_they_cover() -> None:
    """Against the text: every token is its stretch of the text, in order, none across a space, and the
    characters covered are those the tokenizer covered."""
    kept = KeptWords(["0.", "z.", "a-b", "0:0"])
    rng = random.Random(3)
    alphabet = ["1", "2", ".", "z", "a", "-", "b", ":", " ", "X"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        tokens, joined = tokenize(text), kept.joined(tokenize(text))
        assert all(token.text == text[token.start : token.end] and " " not in token.text for token in joined)
        assert [(t.start, t.end) for t in joined] == sorted((t.start, t.end) for t in joined)
        covered = {i for token in tokens for i in range(token.start, token.end)}
        assert {i for token in joined for i in range(token.start, token.end)} == covered, text


def test_a_model_trained_on_a_column_corpus_keeps_its_words_whole_in_text(tmp_path: Path) -> None:
    """The model's vocabulary holds the words learnt; tagging text cuts 1. FC Köln as the corpus did."""
    rng = random.Random(0)
    clubs = [("1.", "O"), ("FC", "B-ORG"), ("Köln", "I-ORG")], [("2.", "O"), ("FC", "B-ORG"), ("Bayern", "I-ORG")]
    train = [
        [("Er", "O"), ("spielt", "O"), ("beim", "O"), *rng.choice(clubs), ("in", "O"), ("Bonn", "B-LOC"), (".", "O")]
        for _ in range(60)
    ]
    corpus = write_conll(tmp_path / "train.conll", train)
    model = train_tiny(tmp_path / "model", corpus)
    assert json.loads((model / "vocab.json").read_text())["kept_words"] == {"forms": ["0."], "starts": []}
    tagger = Tagger.load(model)
    (read,) = tagger.read("Sie spielt beim 3. FC Köln.").sentences
    assert [token.text for token in read] == ["Sie", "spielt", "beim", "3.", "FC", "Köln", "."]


def test_the_service_reads_kept_words_whole_in_mixed_text_and_in_dictionaries(
    tiny_model: Path, tiny_zh_model: Path
) -> None:
    """Under lang auto the English runs of a mixed text are cut as the model alone cuts them, and a
    dictionary phrase that ends with a kept word's point matches before the next word (Gate 7. Boarding)."""
    english = Tagger.load(tiny_model)
    english.vocab.kept_words = KeptWords(["0."])
    text = "Er spielt beim 1. FC Köln und Bonn 他在北京。"  # 1. cut the name's sentence, routed to Chinese
    route = Router([english, Tagger.load(tiny_zh_model)]).route([text])
    read = {
        tagger.name: [t.text for part in parts for s in part.document.sentences for t in s]
        for tagger, parts in route.jobs
    }
    assert read[english.name][:7] == ["Er", "spielt", "beim", "1.", "FC", "Köln", "und"]
    # a sentence cut for its length keeps its kept words: a piece's last 1. is not a sentence's end
    english.max_sentence_tokens = 4
    pieces = english.read("Er spielt beim 1. FC Köln am 3. Oktober").sentences
    assert [t.text for piece in pieces for t in piece] == [
        "Er",
        "spielt",
        "beim",
        "1.",
        "FC",
        "Köln",
        "am",
        "3.",
        "Oktober",
    ]
    gate = english.dictionary({"Gate 7.": "LOC"})
    (analysis,) = english.analyze(["Wait at Gate 7. Boarding is soon."], TagOptions(dictionary=gate))
    assert ("Gate 7.", "LOC") in {(e.text, e.label) for e in analysis.entities}


def test_a_corpus_that_cuts_words_at_hyphens_is_learnt_and_text_cut_so() -> None:
    """OntoNotes writes US - based: a model trained on it never found US in US-based, kept whole in text."""
    ontonotes = ["A US - based firm hired 3,000 - strong staff .", "In the mid - 1990s , Acme grew ."] * 40
    learnt = KeptWords.learn(sentences(ontonotes))
    assert learnt is not None and learnt.hyphens_apart and not learnt.forms
    assert KeptWords.from_json(json.loads(json.dumps(learnt.to_json()))).hyphens_apart
    # CoNLL-2003 writes them whole and a dash apart: not such a corpus; nor one with too few to tell
    conll = ["A US-based firm - and Acme - grew .", "Pro-Western rebels - said Acme ."] * 40
    titles = ["Galaxy S21 - Blue - Acme", "Pixel 7 - Black - Acme", "Wi-Fi router"] * 40  # dashes before capitals
    assert KeptWords.learn(sentences(conll)) is None and KeptWords.learn(sentences(titles)) is None
    assert KeptWords.learn(sentences(ontonotes[:66])) is None  # 99: too few to tell dashes from hyphens
    assert KeptWords([]).to_json() == {"forms": [], "starts": []}  # files written before say nothing of it
    text = (
        "A US-based firm of 3,000-strong staff in the mid-1990s, 1996-08-22, a@b-c.com, www.coca-cola.com, Euro-\npean."
    )
    cut = learnt.joined(tokenize(text))
    assert [t.text for t in cut] == [
        "A", "US", "-", "based", "firm", "of", "3,000", "-", "strong", "staff", "in", "the", "mid", "-", "1990s",
        ",", "1996-08-22", ",", "a@b-c.com", ",", "www.coca-cola.com", ",", "Euro-\npean", ".",
    ]  # fmt: skip
    assert all(t.text == text[t.start : t.end] for t in cut)


def test_a_model_trained_on_a_corpus_that_cuts_hyphens_finds_entities_inside_hyphenated_words(tmp_path: Path) -> None:
    rng = random.Random(1)
    places = [("US", "B-GPE"), ("UK", "B-GPE"), ("Paris", "B-GPE"), ("Tokyo", "B-GPE")]
    train = [
        [("A", "O"), rng.choice(places), ("-", "O"), ("based", "O"), ("firm", "O"), ("grew", "O"), (".", "O")]
        for _ in range(120)
    ]
    model = train_tiny(tmp_path / "model", write_conll(tmp_path / "train.conll", train))
    assert json.loads((model / "vocab.json").read_text())["kept_words"]["hyphens_apart"] is True
    (analysis,) = Tagger.load(model).analyze(["A Tokyo-based firm grew."])
    assert [(e.text, e.start, e.label) for e in analysis.entities] == [("Tokyo", 2, "GPE")]
