"""Tests for ner.router: models chosen by name, language or script; mixed text tagged by both models with
offsets into the whole text; and, for any text at all, tagging never raises and offsets hold."""

from __future__ import annotations

import math
import random
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from ner import Tagger, TagOptions
from ner import bundle as bundles
from ner.backends import load_backend
from ner.router import Router, UnknownModelError, script_runs
from ner.text import tokenize

from .test_text import TEXTS, assert_offsets_kept

MIXED = "李明在北京工作。John Smith visited Berlin on Monday. 王芳是北京大学的教授。"


@pytest.fixture(scope="module")
def router(tiny_model: Path, tiny_zh_model: Path) -> Router:
    return Router([Tagger.load(tiny_model), Tagger.load(tiny_zh_model)])


def test_script_runs_cover_the_text() -> None:
    runs = script_runs(MIXED)
    assert [script for _, _, script, _ in runs] == ["cjk", None, "cjk"]
    assert [t.text for _, _, _, sentences in runs for s in sentences for t in s] == [t.text for t in tokenize(MIXED)]
    assert runs[0][0] == 0 and runs[-1][1] == len(MIXED)
    assert all(a[1] <= b[0] for a, b in zip(runs, runs[1:]))
    assert MIXED[runs[1][0] : runs[1][1]] == "John Smith visited Berlin on Monday."
    # a long sentence's pieces share its script: its English clause is not routed apart at the length cut
    long = "据报道该公司今年的营业收入大幅增长" * 9 + " John Smith visited the offices in New York last week。"
    assert [script for _, _, script, _ in script_runs(long, max_tokens=150)] == ["cjk"]
    assert max(len(s) for _, _, _, sentences in script_runs(long, max_tokens=150) for s in sentences) <= 150


def test_mixed_text_is_tagged_by_both_models_with_offsets_into_the_whole(router: Router) -> None:
    route = router.route([MIXED])
    assert route.name == "tiny-en+tiny-zh"
    # one document per model and text: the Chinese before and after the English are read as one text
    assert {tagger.name: len(parts) for tagger, parts in route.jobs} == {"tiny-zh": 1, "tiny-en": 1}
    (analysis,) = router.analyze([MIXED], TagOptions(tokens=True, nbest=2))
    found = {(e.text, e.label) for e in analysis.entities}
    assert {("李明", "PER"), ("北京", "LOC"), ("John Smith", "PER"), ("Berlin", "LOC"), ("王芳", "PER")} <= found
    for item in [*analysis.entities, *analysis.tokens]:
        assert MIXED[item.start : item.end] == item.text
    starts = [e.start for e in analysis.entities]
    assert starts == sorted(starts)
    assert [(e.start, e.end) for e in analysis.alternatives[0].entities] == [
        (e.start, e.end) for e in analysis.entities
    ]
    assert sum(a.probability for a in analysis.alternatives) <= 1 + 1e-6


def test_a_chinese_sentence_before_one_in_lower_case_goes_to_the_chinese_model(router: Router) -> None:
    """One capital (IBM) made the text mixed-case, the sentence did not end at 。 before "i", and the whole
    text, mostly Latin, went to the English model."""
    text = "李明在IBM工作。i met john in london."
    assert router.route([text]).name == "tiny-en+tiny-zh"
    assert router.route([text], capitals="restore").name == "tiny-en+tiny-zh"


@pytest.mark.parametrize(
    "text",
    [
        "See you at Raffles Place!陈大文在汇丰银行工作。",  # no space after the mark
        "Meeting with Tan Ah Kow at DBS tomorrow\n李明在北京大学工作",  # no mark at all
        "Angela Merkel visited Paris\n李明在北京大学工作",
    ],
)
def test_code_switched_text_goes_to_both_models(router: Router, text: str) -> None:
    """Each went whole to one model, which read the other language's part as noise."""
    assert router.route([text]).name == "tiny-en+tiny-zh"
    (analysis,) = router.analyze([text])
    assert all(("\n" in e.text) is False for e in analysis.entities)


def test_a_model_for_a_script_with_spaces_takes_the_sentences_in_it(
    tiny_model: Path, tiny_zh_model: Path, tiny_ru_model: Path
) -> None:
    """Every script with spaces went to the English model: a Russian one beside it was never used."""
    router = Router([Tagger.load(tiny_model), Tagger.load(tiny_ru_model), Tagger.load(tiny_zh_model)])
    text = "John Smith visited Berlin. Иван Петров живёт в Москве. 李明在北京工作。"
    route = router.route([text])
    assert route.name == "tiny-en+tiny-ru+tiny-zh"
    read = {
        tagger.name: [text[s[0].start : s[-1].end] for p in parts for s in p.document.sentences]
        for tagger, parts in route.jobs
    }
    assert read == {
        "tiny-en": ["John Smith visited Berlin."],
        "tiny-ru": ["Иван Петров живёт в Москве."],
        "tiny-zh": ["李明在北京工作。"],
    }
    (analysis,) = router.analyze([text])
    assert ("Иван Петров", "PER") in {(e.text, e.label) for e in analysis.entities}
    lines = "Иван Петров живёт в Москве\nJohn Smith visited Berlin"  # no mark: the line break parts them
    assert router.route([lines]).name == "tiny-en+tiny-ru"
    english_only = Router([Tagger.load(tiny_model), Tagger.load(tiny_zh_model)])
    assert {t.name for t, _ in english_only.route(["Иван Петров живёт в Москве."]).jobs} == {"tiny-en"}


def test_english_written_full_width_is_read_as_ascii_english(router: Router) -> None:
    """Ｇｏｏｇｌｅ's letters were read as Chinese characters: the whole sentence went to the Chinese model."""
    ascii_text = "John Smith met Mary Jones in Berlin on Monday."
    full_width = "Ｊｏｈｎ Ｓｍｉｔｈ met Ｍａｒｙ Ｊｏｎｅｓ in Ｂｅｒｌｉｎ on Monday."
    assert router.route([full_width]).name == "tiny-en"
    as_ascii, as_full_width = router.analyze([ascii_text, full_width])
    assert as_ascii.entities  # the comparison below says something
    assert [(e.start, e.end, e.label, round(e.score, 5)) for e in as_full_width.entities] == [
        (e.start, e.end, e.label, round(e.score, 5)) for e in as_ascii.entities
    ]


def test_a_dictionary_phrase_is_not_joined_across_text_another_model_reads(router: Router) -> None:
    """The English before and after a Chinese sentence are one document; a phrase may join two sentences
    split apart, but not across the Chinese between them."""
    english = router.taggers["tiny-en"]
    options = TagOptions(dictionary=english.dictionary({"Yahoo! Japan": "ORG"}))
    text = "We use Yahoo! 王芳是北京大学的教授。 Japan is nice."
    ((_, (part,)),) = [(t, p) for t, p in router.route([text]).jobs if t is english]
    assert [len(s) for s in part.document.sentences] == [4, 4]  # We use Yahoo ! | Japan is nice .
    (analysis,) = english.analyze([part.document], options)
    assert all("王" not in e.text for e in analysis.entities)
    joined = "We use Yahoo! Japan is nice."  # the same sentences side by side: joined, and the phrase forced
    (forced,) = english.analyze([joined], options)
    assert ("Yahoo! Japan", "ORG") in {(e.text, e.label) for e in forced.entities}


def test_choosing_by_name_and_language(router: Router) -> None:
    assert router.default == "tiny-en" and router.languages() == ["en", "zh"]
    assert router.choose(model="tiny-zh") == "tiny-zh" == router.route(["x"], model="tiny-zh").name
    assert router.choose(lang="zh") == "tiny-zh" and router.choose(lang="en") == "tiny-en"
    (forced,) = router.analyze(["李明在北京工作。"], model="tiny-zh")
    assert ("北京", "LOC") in {(e.text, e.label) for e in forced.entities}
    with pytest.raises(UnknownModelError, match="no-such-model"):
        router.choose(model="no-such-model")
    with pytest.raises(UnknownModelError, match="'xx'"):
        router.route(["x"], lang="xx")


def test_a_router_needs_models_with_distinct_names(tiny_model: Path) -> None:
    with pytest.raises(ValueError, match="no models"):
        Router([])
    with pytest.raises(ValueError, match="share a name"):
        Router([Tagger.load(tiny_model), Tagger.load(tiny_model)])
    with pytest.raises(UnknownModelError, match="default model 'other'"):
        Router([Tagger.load(tiny_model)], default="other")


def test_one_default_model_per_language(tiny_model: Path, tiny_zh_model: Path) -> None:
    """The Chinese model that "lang": "zh" and auto routing took was the first loaded; choosing another made it
    the default of every request, English ones too."""
    domain = bundles.load(tiny_zh_model)
    domain.name = "zz-domain"
    taggers = [Tagger.load(tiny_model), Tagger.load(tiny_zh_model), Tagger(domain, load_backend(domain))]
    assert Router(taggers).language_models == {"en": "tiny-en", "zh": "tiny-zh"}
    router = Router(taggers, default="tiny-en, zz-domain")
    assert router.default == "tiny-en" and router.language_models == {"en": "tiny-en", "zh": "zz-domain"}
    assert (
        router.choose(lang="zh") == "zz-domain" and router.choose() == "tiny-en+zz-domain" == router.route([MIXED]).name
    )
    alone = Router(taggers, default="zz-domain")
    assert alone.default == "zz-domain" and alone.choose(lang="en") == "tiny-en"
    with pytest.raises(ValueError, match="'tiny-zh' and 'zz-domain' are both for language 'zh'"):
        Router(taggers, default="tiny-zh,zz-domain")
    with pytest.raises(UnknownModelError, match="default model 'nope'"):
        Router(taggers, default="tiny-en,nope")
    domain.name = "zz,domain"  # a name with a comma is still one name
    assert Router(taggers, default="zz,domain").default == "zz,domain"


def test_router_without_a_chinese_model_uses_the_default(tiny_model: Path) -> None:
    router = Router([Tagger.load(tiny_model)])
    (analysis,) = router.analyze(["John Smith visited 北京."])
    assert any(e.text == "John Smith" for e in analysis.entities)
    assert router.choose() == "tiny-en" and router.route(["x"]).name == "tiny-en"


def test_auto_routing_names_only_the_models_it_uses(tiny_model: Path, tiny_zh_model: Path) -> None:
    """A second Chinese model (say, a domain model) is picked by name, never by auto routing."""
    domain = bundles.load(tiny_zh_model)
    domain.name = "zz-domain"
    router = Router([Tagger.load(tiny_model), Tagger.load(tiny_zh_model), Tagger(domain, load_backend(domain))])
    assert router.choose() == "tiny-en+tiny-zh" == router.route([MIXED]).name
    assert router.choose(lang="zh") == "tiny-zh"
    assert router.choose(model="zz-domain") == "zz-domain"
    (analysis,) = router.analyze([MIXED])
    assert ("北京", "LOC") in {(e.text, e.label) for e in analysis.entities}


def test_thai_text_goes_to_a_thai_model_chinese_to_chinese_and_the_rest_to_english(
    tiny_model: Path, tiny_zh_model: Path, tiny_th_model: Path
) -> None:
    router = Router([Tagger.load(tiny_model), Tagger.load(tiny_zh_model), Tagger.load(tiny_th_model)])
    text = "ปิติทำงานที่ขอนแก่นวันนี้\n\n李明在北京工作。\n\nJohn Smith visited Berlin on Monday."
    route = router.route([text])
    assert route.name == "tiny-en+tiny-th+tiny-zh" == router.choose()
    assert {tagger.name: len(parts) for tagger, parts in route.jobs} == {"tiny-th": 1, "tiny-zh": 1, "tiny-en": 1}
    (analysis,) = router.analyze([text])
    found = {(e.text, e.label) for e in analysis.entities}
    assert {("ปิติ", "PER"), ("ขอนแก่น", "LOC"), ("北京", "LOC"), ("John Smith", "PER")} <= found
    assert all(text[e.start : e.end] == e.text for e in analysis.entities)
    # Khmer, which no model is for, goes with the scripts that have spaces, to the English model.
    khmer = router.route(["លោក សុខា ទៅ ភ្នំពេញ"])
    assert [tagger.name for tagger, _ in khmer.jobs] == ["tiny-en"]


@given(text=TEXTS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_tagging_never_raises_and_entities_match_the_text(router: Router, text: str) -> None:
    for model in (None, "tiny-en", "tiny-zh"):
        (analysis,) = router.analyze([text], model=model, options=TagOptions(tokens=True, nbest=2))
        for entity in analysis.entities:
            assert text[entity.start : entity.end] == entity.text
            assert 0.0 <= entity.score <= 1.0
        for alternative in analysis.alternatives:
            assert 0.0 <= alternative.probability <= 1.0
            for entity in alternative.entities:
                assert text[entity.start : entity.end] == entity.text
        assert_offsets_kept(text, analysis.tokens)


def test_nbest_of_a_long_mixed_text_stays_ordered_past_float_range(router: Router) -> None:
    """Each analysis of a long text is too improbable for a float (its probability prints as 0), yet the merged
    n best stay ordered by their log-probabilities, not tied at -inf."""
    rng = random.Random(0)
    unknown_words = ["".join(rng.choices(string.ascii_letters, k=4)) for _ in range(15000)]  # the model is unsure
    text = " ".join(unknown_words) + " .\n\n李明在北京工作。"
    (analysis,) = router.analyze([text], options=TagOptions(nbest=3))
    logs = [a.log_probability for a in analysis.alternatives]
    assert len(logs) == 3 and all(math.isfinite(x) for x in logs) and logs == sorted(logs, reverse=True)
    assert logs[0] < -750 and analysis.alternatives[0].probability == 0.0


def test_a_generator_of_texts_is_read_once(router: Router) -> None:
    assert len(router.analyze(text for text in ["Acme Corp is big.", "李明在北京工作。"])) == 2
