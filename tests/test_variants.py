"""A character model reads a character it does not know, but knows in the other Chinese script, in the form
it knows (ner/variants.py)."""

from __future__ import annotations

import pytest

from ner import Tagger
from ner.variants import KnownVariants, other_forms

from .conftest import shipped_model


def test_the_tables_pair_traditional_and_simplified_characters_both_ways() -> None:
    forms = other_forms()
    assert "国" in forms["國"] and "國" in forms["国"]
    assert "台" in forms["臺"] and "湾" in forms["灣"]
    assert all(len(c) == 1 and c not in found and found for c, found in forms.items())


def test_only_unknown_characters_are_read_in_the_form_the_model_knows() -> None:
    variants = KnownVariants({"国", "学", "台", "臺"})
    sentences = [list("中國大學"), list("臺灣"), list("中国")]
    assert variants.read(sentences) == [list("中国大学"), list("臺灣"), list("中国")]  # 臺 known; 灣, 湾 unknown


def test_a_character_of_several_forms_is_read_as_the_first_the_model_knows() -> None:
    several = other_forms()["干"]
    assert len(several) > 1
    assert KnownVariants(set(several[1:])).read([["干"]]) == [[several[1]]]
    assert KnownVariants(set(several)).read([["干"]]) == [[several[0]]]


def test_sentences_the_model_knows_are_given_back_as_they_are() -> None:
    sentences = [list("中国"), list("abc")]
    assert KnownVariants({"中", "国", "國"}).read(sentences) is sentences
    assert KnownVariants(set()).read(sentences) is sentences


def test_a_word_model_reads_its_words_as_written() -> None:
    assert Tagger.load(shipped_model("en-conll03")).vocab.variants is None


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_a_model_of_simplified_chinese_tags_traditional_text_as_its_simplified_form(backend: str) -> None:
    """Offsets and entities' text stay as written; labels and scores are those of the simplified text."""
    tagger = Tagger.load(shipped_model("zh-msra"), backend=backend)
    simplified, written = "台湾大学的王小明说，他在北京大学读书。", "臺灣大學的王小明說，他在北京大學讀書。"
    entities = tagger.tag(written)
    assert [(e.text, e.label) for e in entities] == [("臺灣大學", "ORG"), ("王小明", "PER"), ("北京大學", "ORG")]
    assert all(written[e.start : e.end] == e.text for e in entities)
    assert [(e.start, e.end, e.label, round(e.score, 4)) for e in entities] == [
        (e.start, e.end, e.label, round(e.score, 4)) for e in tagger.tag(simplified)
    ]
    best = [[(e.start, e.end, e.label) for e in a.entities] for a in tagger.nbest(written, 3)]
    assert best == [[(e.start, e.end, e.label) for e in a.entities] for a in tagger.nbest(simplified, 3)]
    tagger.vocab.variants = None  # read as unknown characters, as before
    assert [(e.text, e.label) for e in tagger.tag(written)] != [(e.text, e.label) for e in entities]
