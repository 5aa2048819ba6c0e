"""Property tests: for any Unicode string, tokenizing, splitting and tagging never raise and offsets hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ner import Tagger, TagOptions
from ner.router import Router
from ner.text import _MARKS, _TOKEN, Token, split_sentences, tokenize, tokenize_chars

# Letters, marks, emoji, joiners, right-to-left text, controls and NUL, CJK, whitespace of every kind,
# and lone surrogates (as a JSON body with \\ud800 escapes delivers them).
PIECES = st.sampled_from(
    [
        "John",
        "Smith",
        "Berlin",
        "visited",
        ".",
        ",",
        "!",
        "?",
        "'s",
        "n't",
        "U.S.",
        "1996-08-22",
        "--",
        "...",
        "e\u0301",
        "\u0308",
        "👍🏽",
        "👨\u200d👩\u200d👧",
        "\u200b",
        "\u200d",
        "\ufe0f",
        "שלום",
        "مرحبا",
        "\u202e",
        "\x00",
        "\x07",
        "\x1b",
        "\t",
        "\n",
        "\n\n",
        "\r\n",
        " ",
        "\u3000",
        "\u00a0",
        "\u2028",
        "北京",
        "李明",
        "。",
        "，",
        "日本語",
        "ｶﾀｶﾅ",
        "\ud800",
        "\udfff",
        "A" * 300,
        "1" * 50,
    ]
)
TEXTS = st.one_of(
    st.text(max_size=200),
    st.lists(PIECES, max_size=40).map("".join),
    st.lists(st.one_of(PIECES, st.text(max_size=5)), max_size=30).map(" ".join),
)


def check_tokens(text: str, tokens) -> None:
    previous_end = 0
    for token in tokens:
        assert text[token.start : token.end] == token.text
        assert token.start >= previous_end and token.end > token.start
        assert not token.text.isspace()
        previous_end = token.end


@given(TEXTS)
@settings(max_examples=400, deadline=None)
def test_tokenizers_keep_offsets(text: str) -> None:
    check_tokens(text, tokenize(text))
    check_tokens(text, tokenize_chars(text))
    visible = "".join(c for c in text if not c.isspace())
    assert "".join(t.text for t in tokenize(text)) == visible
    assert "".join(t.text for t in tokenize_chars(text)) == visible


CHARACTER = re.compile(rf"[^\s{_MARKS}][{_MARKS}]*|[{_MARKS}]+")


@given(TEXTS)
@settings(max_examples=400, deadline=None)
def test_tokenizers_match_their_patterns_match_by_match(text: str) -> None:
    """The tokenizers build tokens from running sums of lengths; the oracle takes each regex match."""
    for tokens, pattern in ((tokenize(text), _TOKEN), (tokenize_chars(text), CHARACTER)):
        assert tokens == [Token(m.group(), *m.span()) for m in pattern.finditer(text)]
        assert all(type(t) is Token for t in tokens)


@given(TEXTS, st.integers(min_value=1, max_value=20))
@settings(max_examples=300, deadline=None)
def test_sentence_splitter_loses_nothing(text: str, max_tokens: int) -> None:
    tokens = tokenize(text)
    sentences = split_sentences(text, tokens, max_tokens)
    assert [t for s in sentences for t in s] == tokens
    assert all(0 < len(s) <= max_tokens for s in sentences)


@pytest.fixture(scope="module")
def router(tiny_model: Path, tiny_zh_model: Path) -> Router:
    return Router([Tagger.load(tiny_model), Tagger.load(tiny_zh_model)])


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
        check_tokens(text, analysis.tokens)
