"""A character model reads a character it does not know, but knows in the other Chinese script, in the form
it knows (ner/variants.py)."""

from __future__ import annotations

import pytest

from ner import Tagger
from ner.variants import KnownVariants, KnownWidths, other_forms

from .conftest import shipped_model


def test_the_tables_pair_traditional_and_simplified_characters_both_ways() -> None:
    forms, shared = other_forms()
    assert "国" in forms["國"] and "國" in forms["国"]
    assert "台" in forms["臺"] and "湾" in forms["灣"]
    assert shared["衞"][:2] == ("衛", "卫")  # Hong Kong's form, OpenCC's traditional one, the simplified one
    assert all(len(c) == 1 and c not in found and found for c, found in [*forms.items(), *shared.items()])


def test_a_character_of_both_scripts_is_read_in_the_other_form_only_beside_one_of_the_other_script_alone() -> None:
    """乾 (乾隆, 刘乾坤) and 於 (a surname) are simplified too, though the table also writes them 干 and 于;
    干, 台 and 里 are traditional too."""
    forms, shared = other_forms()
    assert {"乾", "於", "干", "台", "里", "著"} <= shared.keys() and not shared.keys() & forms.keys()
    variants = KnownVariants({"干", "于", "职", "组", "织", "着"})
    assert variants.read([list("刘乾坤"), list("於是"), list("著名")]) == [list("刘乾坤"), list("於是"), list("著名")]
    assert variants.read([list("任職於"), list("乾燥的組織")]) == [list("任职于"), list("干燥的组织")]


def test_only_unknown_characters_are_read_in_the_form_the_model_knows() -> None:
    variants = KnownVariants({"国", "学", "台", "臺"})
    sentences = [list("中國大學"), list("臺灣"), list("中国")]
    assert variants.read(sentences) == [list("中国大学"), list("臺灣"), list("中国")]  # 臺 known; 灣, 湾 unknown


def test_a_character_of_several_forms_is_read_as_the_first_the_model_knows() -> None:
    several = other_forms()[0]["发"]
    assert len(several) > 1
    assert KnownVariants(set(several[1:])).read([["发"]]) == [[several[1]]]
    assert KnownVariants(set(several)).read([["发"]]) == [[several[0]]]


def test_a_character_of_the_other_width_is_read_in_the_width_the_model_knows() -> None:
    """MSRA writes 1997 and IBM full-width, ResumeNER and most text ASCII; a width is no script, so an ASCII
    digit does not make 乾 read as 干."""
    full_width = KnownVariants({*"１９７ＩＢＭ年，", "干"})
    assert full_width.read([list("1997年,IBM"), list("乾1")]) == [list("１９９７年，ＩＢＭ"), ["乾", "１"]]
    assert KnownVariants(set("1997IBM")).read([list("１９９７ＩＢＭ")]) == [list("1997IBM")]


def test_another_regions_quotes_and_brackets_are_read_as_the_ones_the_model_knows() -> None:
    """zh-msra, which has not seen 「 」, read 「王芳」说 as the person 王芳」 (MSRA's test with its quotes so
    written: 90.47 F1, 90.57 read so)."""
    assert KnownVariants({*"“”（）王芳"}).read([list("「王芳」【说】")]) == [list("“王芳”（说）")]
    assert KnownVariants({*'"()'}).read([list("「王」【芳】")]) == [list('"王"(芳)')]
    assert KnownVariants({*"「」“”"}).read([list("「王」")]) == [list("「王」")]  # known as written


def test_a_character_a_new_vocabulary_holds_is_read_as_written() -> None:
    vocab = Tagger.load(shipped_model("zh-msra")).vocab
    assert vocab.variants.read([["國"]]) == [["国"]]
    vocab.replace_words([*vocab.words.itos, "國"])
    assert vocab.variants.read([["國"]]) == [["國"]]


def test_sentences_the_model_knows_are_given_back_as_they_are() -> None:
    sentences = [list("中国"), list("abc")]
    assert KnownVariants({"中", "国", "國"}).read(sentences) is sentences
    assert KnownVariants(set()).read(sentences) is sentences


def test_a_word_model_reads_its_words_as_written_but_full_width_ones_it_does_not_know() -> None:
    variants = Tagger.load(shipped_model("en-conll03")).vocab.variants
    sentences = [["Zoë", "東京", "Berlin", "."]]
    assert variants.read(sentences) is sentences
    assert variants.read([["Ｇｏｏｇｌｅ", "２００８", "．"]]) == [["Google", "2008", "."]]


def test_a_simplified_name_with_a_character_of_both_scripts_reads_as_before() -> None:
    """zh-resume knows neither 乾 nor 於: read as 干 and 于 in simplified text, 刘乾坤 was no name."""
    tagger = Tagger.load(shipped_model("zh-resume"))
    texts = ["公司总经理刘乾坤，大专学历。", "独立董事张乾，教授，博士生导师。", "於梨华，女，中国籍。"]
    found = [[(e.text, e.label, round(e.score, 4)) for e in entities] for entities in tagger.tag_batch(texts)]
    assert ("刘乾坤", "NAME") in {(text, label) for text, label, _ in found[0]}
    tagger.vocab.variants = None
    assert found == [[(e.text, e.label, round(e.score, 4)) for e in entities] for entities in tagger.tag_batch(texts)]


def test_hong_kongs_forms_are_read_as_the_simplified_ones() -> None:
    tagger = Tagger.load(shipped_model("zh-msra"))
    hong_kong, taiwan = "他曾任職於世界衞生組織。", "他曾任職於世界衛生組織。"
    assert [(e.text, e.label) for e in tagger.tag(hong_kong)] == [("世界衞生組織", "ORG")]
    assert [(e.start, e.end, e.label) for e in tagger.tag(hong_kong)] == [
        (e.start, e.end, e.label) for e in tagger.tag(taiwan)
    ]


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


def test_a_word_model_reads_a_full_width_word_it_does_not_know_in_ascii() -> None:
    widths = KnownWidths({"google", "ｎｈｋ"})
    assert widths.read([["Ｇｏｏｇｌｅ", "１５", "ＮＨＫ", "東京"]]) == [["Google", "15", "ＮＨＫ", "東京"]]
    ascii_only = [["Google", "in", "2008"]]
    assert widths.read(ascii_only) is ascii_only
