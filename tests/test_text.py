"""Tests for ner.text: the offset-keeping tokenizer, the character tokenizer and the sentence splitter."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ner.text import (
    _FLAG,
    _JOINED,
    _MARKS,
    _ONE_CASE_TOKEN,
    _TOKEN,
    INVISIBLE,
    SHORT_LINE,
    Token,
    cjk_ratio,
    cut_points,
    min_tokens,
    model_form,
    one_case,
    split_sentences,
    tokenize,
    tokenize_chars,
    unspaced_ratio,
    unspaced_script,
)

from .conftest import shared_data

INVISIBLE_CHAR = re.compile(f"[{INVISIBLE}]")
# A terminal's colour, title, character set or cursor: read as space.
TERMINAL_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b\n]*(?:\x07|\x1b\\)|[()*+][0-9A-Za-z]|[78=>c])")

if TYPE_CHECKING:
    from ner.tagger import TaggedToken


def texts(tokens: list[Token]) -> list[str]:
    return [t.text for t in tokens]


# What the tokenizer leaves out, or lets a token hold: an e-mail quote's marks at a line's start, and a
# line's end inside a word hyphenated across it.
QUOTE_MARKS = re.compile(
    r"(?:\A|(?<=[\n\r\x85\u2028\u2029]))[^\S\n\r\x85\u2028\u2029]*>(?:[^\S\n\r\x85\u2028\u2029]*>)*"
)
HYPHENATED_LINE_END = re.compile(r"(?:-|(?<=\xad))[ \t]*(?:\r\n|[\r\n\x85])[ \t]*")


def assert_offsets_kept(text: str, tokens: Sequence[Token | TaggedToken]) -> None:
    """Tokens in order, each the text at its offsets, never empty nor holding a space (but a line's end in a
    word hyphenated across it), and together every visible character but a quote's marks (an invisible one
    too where it falls inside a token)."""
    previous_end = 0
    for token in tokens:
        assert text[token.start : token.end] == token.text, token
        assert token.end > token.start, token
        assert token.start >= previous_end, f"{token} overlaps or precedes the token before it"
        assert not any(ch.isspace() for ch in HYPHENATED_LINE_END.sub("", token.text)), f"{token} holds a space"
        previous_end = token.end

    def shown(characters: str) -> str:
        return "".join(ch for ch in characters if not ch.isspace() and not INVISIBLE_CHAR.fullmatch(ch))

    assert shown("".join(t.text for t in tokens)) == shown(QUOTE_MARKS.sub("", TERMINAL_ESCAPES.sub("", text)))


OFFSET_CASES = [
    "",
    " ",
    "   \t\n  \r\n ",
    "\n\n\n",
    "Hello, world!",
    "The U.S. economy grew 3.2% in 1996-08-22's report, Mr. Smith said.",
    "EU rejects German call to boycott British lamb .",
    "I don't think Germany's one-day trip cost $1,000.50 -- or did it...",
    "我在Google工作",
    "北京是中国的首都。你好！",
    "東京タワーに行った。カタカナとひらがな",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ",  # fullwidth Latin
    "mixed 中文 and English 日本語 text",
    "👍🏽 thumbs up",
    "👨‍👩‍👧‍👦 family",
    "🏳️‍🌈 flag ❤️ heart",
    "e\u0301clair cafe\u0301 nai\u0308ve",
    "\u0301 a stray leading mark",
    "  \u0301\u0308 after spaces",
    "مرحبا بالعالم. كيف حالك؟",
    "שָׁלוֹם עולם, מה שלומך?",
    "a\x00b\x00 \x00",
    "ctrl\x01chars\x07here\x1b[0m",
    "tabs\tand\nnewlines\r\nand\x0bvertical\x0cfeed",
    "non\u00a0breaking\u2009thin\u2028line\u2029para\x85next",
    "zero\u200bwidth\ufeffbom\u200cnon\u200djoiner",
    "under_score snake_case __init__",
    "a&b AT&T R&D",
    "rock'n'roll O'Neill 'quoted' Smiths' rock 'n' roll",
    "Ｈｅｌｌｏ，世界！",
    "+44-171-542 -0.5 .500 10:30 1/2 C$ US$",
    "http://www.example.com/path?q=1&x=2 user@example.com #hashtag @mention",
    "x" * 300,
]

# U+3000 IDEOGRAPHIC SPACE is whitespace (str.isspace() is true) but lies in the CJK range of ner.text.
IDEOGRAPHIC_SPACE_CASES = ["\u3000indented Chinese\u3000paragraph", "中文\u3000全角空格", "\u3000"]


@pytest.mark.parametrize("text", OFFSET_CASES)
def test_tokenize_keeps_offsets(text):
    tokens = tokenize(text)
    assert_offsets_kept(text, tokens)
    assert all(type(t) is Token for t in tokens)


@pytest.mark.parametrize("text", IDEOGRAPHIC_SPACE_CASES)
def test_tokenize_skips_ideographic_space(text):
    assert_offsets_kept(text, tokenize(text))


@pytest.mark.parametrize("text", OFFSET_CASES + IDEOGRAPHIC_SPACE_CASES)
def test_tokenize_chars_keeps_offsets(text):
    tokens = tokenize_chars(text)
    assert_offsets_kept(text, tokens)
    assert all(type(t) is Token for t in tokens)


# Properties over generated text. The pieces: letters, marks, emoji, joiners, right-to-left text,
# controls and NUL, CJK, whitespace of every kind (U+3000 included), lone surrogates (as a JSON body
# with \\ud800 escapes delivers them), and the tokens the tokenizer and the splitter treat specially.
PIECES = st.sampled_from(
    [
        *"aZé9 .,-'’$&_*#/:()\"我の。，Ａ!?)",
        "John",
        "Smith",
        "Berlin",
        "visited",
        "he",
        "'s",
        "n't",
        "U.S.",
        "Mr.",
        "e.g.",
        "1996-08-22",
        "1,000.50",
        "--",
        "...",
        "e\u0301",
        "\u0301",
        "\u0308",
        "\u05b0",
        "👍🏽",
        "\U0001f3fd",
        "👨\u200d👩\u200d👧",
        "\u200b",
        "\u200c",
        "\u200d",
        "\ufe0f",
        "\ufeff",
        "\u00ad",
        "Ham\u00adburg",
        "שלום",
        "مرحبا",
        "\u202e",
        "\x00",
        "\x07",
        "\x1b",
        "\x1c",
        "\x85",
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
        "你",
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
# The character tokenizer's pattern, as a reference: one visible character with its marks, or stray marks.
CHARACTER = re.compile(rf"{_FLAG}|{_JOINED}|(?![{INVISIBLE}])[{_MARKS}]+")


@given(TEXTS)
@settings(max_examples=400, deadline=None)
def test_tokenizers_keep_offsets_on_any_text(text: str) -> None:
    assert_offsets_kept(text, tokenize(text))
    assert_offsets_kept(text, tokenize_chars(text))


@given(TEXTS)
@settings(max_examples=400, deadline=None)
# The end of the text, which random texts seldom reach: a pattern looking ahead at the space after the last
# token, and invisible characters after it.
@example("He met A. ")
@example("Items:\n2. ")
@example("Hamburg\u00ad\u00ad")
@example("x\u200b\u200b ")
@example("> a\n >> b > c\r>d\u2028 > e")
def test_tokenizers_give_their_patterns_matches_one_by_one(text: str) -> None:
    """The tokenizers build tokens from running sums of lengths; the reference takes each regex match (but
    an e-mail quote's marks)."""
    words = _ONE_CASE_TOKEN if text.islower() or text.isupper() else _TOKEN
    marks = {i for m in QUOTE_MARKS.finditer(text) for i in range(*m.span())}
    for tokens, pattern in ((tokenize(text), words), (tokenize_chars(text), CHARACTER)):
        matches = [m for m in pattern.finditer(text) if m.start() not in marks or m.group().strip(">")]
        assert tokens == [Token(m.group(), *m.span()) for m in matches]
        assert all(type(t) is Token for t in tokens)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("U.S.", ["U.S."]),
        ("the U.S. economy", ["the", "U.S.", "economy"]),
        ("U.N. troops", ["U.N.", "troops"]),
        ("1996-08-22", ["1996-08-22"]),
        ("on 1996-08-22 .", ["on", "1996-08-22", "."]),
        ("one-day", ["one-day"]),
        ("a one-day match", ["a", "one-day", "match"]),
        ("20-year-old", ["20-year-old"]),
        ("Germany's", ["Germany", "'s"]),
        ("Germany’s", ["Germany", "’s"]),
        ("don't", ["do", "n't"]),
        ("DON'T", ["DO", "N'T"]),
        ("can't", ["ca", "n't"]),
        ("they're", ["they", "'re"]),
        ("I'm", ["I", "'m"]),
        ("O'Neill", ["O'Neill"]),
        ("$1,000.50", ["$", "1,000.50"]),
        ("Mr. Smith", ["Mr.", "Smith"]),
        ("Mrs. Smith and Dr. Jones", ["Mrs.", "Smith", "and", "Dr.", "Jones"]),
        ("He went to Washington.", ["He", "went", "to", "Washington", "."]),
        ("Washington.", ["Washington", "."]),
        ("Wait...", ["Wait", "..."]),
        ("...", ["..."]),
        ("--", ["--"]),
        ("a -- b ... c", ["a", "--", "b", "...", "c"]),
        ("Hello, world!", ["Hello", ",", "world", "!"]),
        ('"Yes," he said (twice).', ['"', "Yes", ",", '"', "he", "said", "(", "twice", ")", "."]),
        ("C$ 10", ["C$", "10"]),
        ("10:30", ["10:30"]),
        ("-0.5 +44", ["-0.5", "+44"]),
        ("AT&T", ["AT&T"]),
        ("E-mail: derivatives@reuters.com.", ["E-mail", ":", "derivatives@reuters.com", "."]),  # as CoNLL has it
        ("jeffrey.hodgson@reuters.com", ["jeffrey.hodgson@reuters.com"]),
        ("3/1/90 @ 6.14900", ["3/1/90", "@", "6.14900"]),
        ("@john_doe loves #BlackFriday", ["@john_doe", "loves", "#BlackFriday"]),
        ("(@NASA) ranked #1", ["(", "@NASA", ")", "ranked", "#1"]),
        ("C# and user@ host", ["C", "#", "and", "user", "@", "host"]),
    ],
)
def test_tokenize_conll_style(text, expected):
    assert texts(tokenize(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("l'Europe et d'Italie", ["l'", "Europe", "et", "d'", "Italie"]),  # French corpora split elisions
        ("L'Oréal qu'il jusqu'à", ["L'", "Oréal", "qu'", "il", "jusqu'", "à"]),
        ("c’est l’Union", ["c’", "est", "l’", "Union"]),
        ("dell'Italia all'estero quest'anno", ["dell'", "Italia", "all'", "estero", "quest'", "anno"]),
        ("O'Neill D'Alema N'Golo M'Baye", ["O'Neill", "D'Alema", "N'Golo", "M'Baye"]),  # a capital starts a name
        ("don't rock'n'roll y'all", ["do", "n't", "rock'n'roll", "y'all"]),
        ("l' 2'", ["l", "'", "2", "'"]),  # nothing to join
        # Dutch names that start with 's-, and Turkish case endings after a number as after a name
        ("in 's-Hertogenbosch, John's-style", ["in", "'s-Hertogenbosch", ",", "John", "'s", "-", "style"]),
        ("1923'te Ankara'da, the 1990's", ["1923'te", "Ankara'da", ",", "the", "1990", "'s"]),
    ],
)
def test_tokenize_splits_french_and_italian_elisions(text, expected):
    assert texts(tokenize(text)) == expected


@pytest.mark.parametrize("compound", ["3,000-strong", "31.8-percent", "65-80-litre"])
def test_tokenize_keeps_number_word_compounds_whole(compound):
    assert texts(tokenize(compound)) == [compound]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a version was cut inside (v12 . 0.1: two entities of a product's release); a sentence's point stays its own
        ("Acme released v12.0.1, then R2.1.", ["Acme", "released", "v12.0.1", ",", "then", "R2.1", "."]),
        ("room B12. The", ["room", "B12", ".", "The"]),
        # a decade as Penn Treebank's corpora write it ('90s), with either apostrophe; a quote's mark stays apart
        ("the ’90s and '80s", ["the", "’90s", "and", "'80s"]),
        ("'99 problems'", ["'", "99", "problems", "'"]),
    ],
)
def test_tokenize_keeps_versions_and_decades_whole(text, expected):
    assert texts(tokenize(text)) == expected


@pytest.mark.parametrize(
    "text",
    ["He paid Rs. 500 for it.", "It was built c. 1990 by Acme.", "See pp. 12-14 and Fig. 3.", "Read p. 11 now."],
)
def test_an_abbreviation_before_a_number_ends_no_sentence(text):
    """Rs. 500 was cut into two sentences, the amount and its currency read apart."""
    assert len(split_sentences(text, tokenize(text))) == 1


@pytest.mark.parametrize(
    "text",
    ["He paid 5 p. 10 people came.", "It weighs 10 oz. 5 of them broke.", "HE TOOK VITAMIN C. 10 PEOPLE DID TOO."],
)
def test_a_unit_or_a_letter_before_a_number_still_ends_a_sentence(text):
    assert len(split_sentences(text, tokenize(text))) == 2


def test_tokenize_hyphen_abbreviation_compound():
    assert texts(tokenize("then-U.S.")) == ["then-U.S."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我在Google工作", ["我", "在", "Google", "工", "作"]),
        ("北京欢迎你。", ["北", "京", "欢", "迎", "你", "。"]),
        ("東京タワー", ["東", "京", "タ", "ワ", "ー"]),
        ("ひらがな", ["ひ", "ら", "が", "な"]),
        ("你好，世界！", ["你", "好", "，", "世", "界", "！"]),
        ("iPhone手机", ["iPhone", "手", "机"]),
        ("2024年", ["2024", "年"]),
    ],
)
def test_tokenize_cjk_one_token_per_character(text, expected):
    tokens = tokenize(text)
    assert texts(tokens) == expected
    assert_offsets_kept(text, tokens)


def test_tokenize_attaches_marks_and_skin_tones():
    assert texts(tokenize("e\u0301te\u0301")) == ["e\u0301te\u0301"]
    assert texts(tokenize("👍🏽 ok")) == ["👍🏽", "ok"]
    # A zero-width joiner never starts a token of its own.
    for token in tokenize("👨\u200d👩\u200d👧 x\u200d"):
        assert not token.text.startswith("\u200d")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("नरेंद्र मोदी दिल्ली में हैं।", ["नरेंद्र", "मोदी", "दिल्ली", "में", "हैं", "।"]),  # Devanagari signs, viramas
        ("தமிழ்நாடு அரசு", ["தமிழ்நாடு", "அரசு"]),  # Tamil
        ("কলকাতা শহর", ["কলকাতা", "শহর"]),  # Bengali
        ("สมชาย ไปเชียงใหม่", ["สมชาย", "ไปเชียงใหม่"]),  # Thai vowels and tone marks
        ("ສະບາຍດີ", ["ສະບາຍດີ"]),  # Lao
        ("مُحَمَّد في القاهرة", ["مُحَمَّد", "في", "القاهرة"]),  # Arabic harakat
        ("שָׁלוֹם", ["שָׁלוֹם"]),  # Hebrew points
        ("か\u3099くせい 李\u0301明", ["か\u3099", "く", "せ", "い", "李\u0301", "明"]),  # kana and CJK keep marks too
    ],
)
def test_tokenize_keeps_the_words_of_scripts_with_combining_signs_whole(text, expected):
    """Every combining mark (Unicode categories Mn, Mc, Me) stays with the letter before it, so a
    Hindi or Thai word is one token, as in the corpora such models are trained on."""
    tokens = tokenize(text)
    assert texts(tokens) == expected
    assert_offsets_kept(text, tokens)


def test_tokenize_chars_one_token_per_character():
    text = "我在 Google\t工作。"
    tokens = tokenize_chars(text)
    assert texts(tokens) == ["我", "在", "G", "o", "o", "g", "l", "e", "工", "作", "。"]
    expected = [(0, 1), (1, 2), (3, 4), (4, 5), (5, 6), (6, 7), (7, 8), (8, 9), (10, 11), (11, 12), (12, 13)]
    assert [(t.start, t.end) for t in tokens] == expected


def test_tokenize_chars_attaches_marks():
    text = "e\u0301 a\u0308\u0301 👍🏽x"
    tokens = tokenize_chars(text)
    assert texts(tokens) == ["e\u0301", "a\u0308\u0301", "👍🏽", "x"]
    assert_offsets_kept(text, tokens)
    assert tokenize_chars("") == []
    assert tokenize_chars(" \t\n") == []


def test_tokenize_chars_keeps_joined_emoji_and_flags_whole_as_words_do():
    """A character model's entity ended inside 🏃🏻‍♀️ or a family emoji (王芳🏃🏻‍ as PER), and a flag was two tokens."""
    text = "王芳🏃🏻\u200d♀\ufe0f跑，👨\u200d👩\u200d👧中国🇨🇳"
    tokens = tokenize_chars(text)
    assert texts(tokens) == ["王", "芳", "🏃🏻\u200d♀\ufe0f", "跑", "，", "👨\u200d👩\u200d👧", "中", "国", "🇨🇳"]
    assert_offsets_kept(text, tokens)


def sentences_of(text: str, **kwargs) -> list[list[str]]:
    tokens = tokenize(text)
    sentences = split_sentences(text, tokens, **kwargs)
    assert [t for s in sentences for t in s] == tokens, "tokens lost, duplicated or reordered"
    assert all(sentences), "empty sentence"
    return [texts(s) for s in sentences]


def test_split_sentences_not_after_title_abbreviation():
    assert sentences_of("Mr. Smith went to Paris. He left.") == [
        ["Mr.", "Smith", "went", "to", "Paris", "."],
        ["He", "left", "."],
    ]


def test_split_sentences_on_chinese_full_stop():
    assert sentences_of("我爱北京。你呢？好的") == [
        ["我", "爱", "北", "京", "。"],
        ["你", "呢", "？"],
        ["好", "的"],
    ]


@pytest.mark.parametrize("gap", ["\n\n", "\n \t\n", "\r\n\r\n", "\n\n\n\n"])
def test_split_sentences_at_paragraph_breaks(gap):
    assert sentences_of(f"First paragraph without a stop{gap}Second one") == [
        ["First", "paragraph", "without", "a", "stop"],
        ["Second", "one"],
    ]


@pytest.mark.parametrize("tab", ["\t", " \t ", "\t\t"])
def test_a_tab_between_cells_ends_a_sentence(tab):
    """A spreadsheet's row pasted as text: read as one sentence, John Smith Google London was one ORG."""
    text = f"John Smith{tab}Google{tab}London\n\tMary Jones"
    assert sentences_of(text) == [["John", "Smith"], ["Google"], ["London"], ["Mary", "Jones"]]
    assert sentences_of("\tIndented paragraph\n\tgoes on here") == [["Indented", "paragraph", "goes", "on", "here"]]
    assert sentences_of("中国\t北京") == [["中", "国"], ["北", "京"]]


@pytest.mark.parametrize("end", ["\r", "\x85", "\r\n", "\u2028"])
def test_every_kind_of_line_end_ends_a_short_line(end):
    """A lone CR (classic Mac OS) or NEL was no line's end: a list of names was one PER; and with CRLF a
    heading of 39 characters was counted 40 (its CR) and glued to the next line."""
    names = end.join(["Attendees:", "John Smith", "Maria Garcia", "Wang Wei"])
    assert sentences_of(names) == [["Attendees", ":"], ["John", "Smith"], ["Maria", "Garcia"], ["Wang", "Wei"]]
    heading = "A HEADING OF THIRTY-NINE CHARACTERS OK"
    assert len(heading) == SHORT_LINE - 2 and len(sentences_of(f"{heading}X{end}Next line here")) == 2
    assert sentences_of(f"First one{end}{end}second one") == [["First", "one"], ["second", "one"]]
    assert sentences_of(f"He said{end}and left") == [["He", "said", "and", "left"]]


@pytest.mark.parametrize("end", ["\r\r\n", "\n\r"])
def test_crs_about_a_line_feed_are_one_line_end(end):
    """A CRLF file written again in text mode (\\r\\r\\n) read as a blank line a line: Angela | Merkel."""
    assert len(sentences_of(f"attended by Chancellor Angela{end}Merkel and by the chief of Deutsche{end}Bank.")) == 1
    assert len(sentences_of(f"One.{end}{end}two")) == 2


def test_a_pipe_between_cells_ends_a_sentence():
    assert sentences_of("John Smith|Google | London") == [["John", "Smith", "|"], ["Google", "|"], ["London"]]
    assert sentences_of("see https://x.org/a|b now") == [["see", "https://x.org/a|b", "now"]]  # inside a token


def test_a_list_item_starts_a_sentence():
    """Items without points were one sentence: Tim Cook of Apple was one ORG."""
    items = "Notes:\n{0} Peter Müller of BASF\n{0} Sarah Jones at Goldman Sachs\n  {0} Tim Cook of Apple"
    for bullet in "•▪–*-":
        sentences = sentences_of(items.format(bullet))
        assert [s[1:3] for s in sentences[1:]] == [["Peter", "Müller"], ["Sarah", "Jones"], ["Tim", "Cook"]]
    assert len(sentences_of("The board met, he said\n- and left at noon")) == 1  # one dash: prose wrapped there
    assert len(sentences_of("- one item\n- and another")) == 2
    # dashes that start lines of prose wrapped before them, after a line that goes on
    russian = (
        "Москва — столица России, по словам Владимира Путина,\n— культурная столица. Он добавил, что Екатеринбург\n"
        "— крупнейший город Урала."
    )
    assert len(sentences_of(russian)) == 2


def test_a_heading_above_its_paragraph_is_a_sentence_of_its_own():
    """A heading in title case whose line the next word would have fit on was glued to the paragraph:
    Siemens Healthineers\nRoland Busch was one ORG."""
    paragraph = "Roland Busch expects sales in China to recover strongly this year, he said."
    for heading in ("Outlook for Siemens Healthineers", "The Annual Results of Siemens Healthineers and Its Rivals"):
        assert len(sentences_of(f"{heading}\n{paragraph}")) == 2
        assert len(sentences_of(f"It rose.\n{heading}\n{paragraph}")) == 3
    assert len(sentences_of(f"Sales rose, said\nthe Outlook for Siemens Healthineers\n{paragraph}")) == 1  # no start
    assert len(sentences_of("Officials of the United Nations Security\nCouncil met on Monday.")) == 1  # wrapped
    bracket = "10 equal .\nUnited States I ( Jim Herberich , Garrett\nHines ) 1:46.34 ( 53.14 / 53.20 )"
    assert len(sentences_of(bracket)) == 2  # an open bracket goes on
    german = (
        "Der Präsident der Deutschen Bundesbank Joachim\nNagel sagte am Montag in Frankfurt, die Inflation\nsei hoch."
    )
    assert len(sentences_of(german)) == 1  # German capitalizes its nouns; a PDF's line falls a word short


def test_chinese_wrapped_before_a_number_or_a_latin_word_is_one_sentence():
    assert sentences_of("他毕业于北京市第\n101中学") == [[*"他毕业于北京市第", "101", *"中学"]]
    assert len(sentences_of("就职于总部位于北京的中国\nIBM公司研发中心")) == 1
    assert len(sentences_of("北京\n上海")) == 1 and len(sentences_of("北京。\n2023年")) == 2


def test_an_email_quotes_marks_are_no_tokens():
    """> before each quoted line was read as a word: Klaus\n> Weber was an ORG with the > in it."""
    quoted = "> Siemens will send Klaus\n>   > Weber to Munich.\n>\n> Thanks, Mary"
    assert sentences_of(quoted) == [
        ["Siemens", "will", "send", "Klaus", "Weber", "to", "Munich", "."],
        ["Thanks", ",", "Mary"],
    ]
    assert texts(tokenize("x > y\n>> z")) == ["x", ">", "y", "z"]
    assert texts(tokenize_chars("> 李明\n> 在北京")) == [*"李明在北京"]
    assert_offsets_kept(quoted, tokenize(quoted))


def test_a_word_hyphenated_across_a_lines_end_is_one_token_read_as_the_word():
    """PDF text: Euro-\npean Commission in Brus-\nsels gave Euro (MISC), Commission and Brus; before a
    capital a hyphen more often ends a line's last word (a rating: AA-\nCONFIRMED)."""
    text = "The meeting of the Euro-\npean Commission in Brus\u00ad\r\nsels and Saint-\nGermain, rated AA-\nCONFIRMED."
    tokens = tokenize(text)
    assert [model_form(t) for t in texts(tokens)] == [
        *["The", "meeting", "of", "the", "European", "Commission", "in", "Brussels", "and", "Saint", "-"],
        *["Germain", ",", "rated", "AA", "-", "CONFIRMED", "."],
    ]
    assert sentences_of(text) == [texts(tokens)]  # the short line's end inside a word ends nothing
    assert_offsets_kept(text, tokens)
    assert texts(tokenize("a - \nb and c-\n\nd and e- \n f")) == ["a", "-", "b", "and", "c", "-", "d", "and", "e- \n f"]
    # not before a capital of any script, nor in one without case, nor after a digit; a word's own hyphen kept
    for two in (
        "Gdańsk-\nŚródmieście",
        "Ρίο-\nΆντιρριο",
        "Kadıköy-\nİstanbul",
        "תל-\nאביב",
        "भारत-\nपाकिस्तान",
        "2019-\npresent",
    ):
        assert len(tokenize(two)) == 3, two
    assert [model_form(t) for t in texts(tokenize("Stratford-\nupon-Avon über-\nall"))] == [
        "Stratford-upon-Avon",
        "überall",
    ]


@pytest.mark.parametrize("quote", ["> ", ">> ", "> > "])
def test_quoted_headings_list_items_and_hyphenated_words_read_as_unquoted(quote):
    lines = ["Dinner with Angela Merkel", "John Smith said on Monday that the talks in Berlin had gone well.", "Notes:"]
    lines += ["- Peter of BASF", "- Sarah Jones at IBM", "The Euro-", "pean Commission met."]
    plain, quoted = "\n".join(lines), "\n".join(quote + line for line in lines)

    def read(text: str) -> list[list[str]]:
        return [[model_form(token) for token in sentence] for sentence in sentences_of(text)]

    assert read(quoted) == read(plain)
    assert [s[:2] for s in read(plain)] == [
        ["Dinner", "with"],
        ["John", "Smith"],
        ["Notes", ":"],
        ["-", "Peter"],
        ["-", "Sarah"],
    ]
    assert "European" in read(plain)[-1]


def test_the_model_reads_ligatures_as_letters_and_no_joiner_inside_a_latin_word():
    assert model_form("o\ufb03ce") == "office" and model_form("Euro\u200cpean") == "European"
    assert model_form("15\u202fmai") == "15\u202fmai"  # a corpus's token with a no-break space keeps it
    assert model_form("\U0001f468\u200d\U0001f469") == "\U0001f468\u200d\U0001f469"  # an emoji's joiner stays
    assert (
        model_form("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645")
        == "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    )  # Persian


def test_split_sentences_single_newline_is_not_a_break():
    assert sentences_of("Line one\nline two") == [["Line", "one", "line", "two"]]


@pytest.mark.parametrize("casing", [str.lower, str.upper])
def test_text_in_one_case_is_cut_into_sentences_as_if_capitalized(casing) -> None:
    """Chat and transcripts have no capitals to tell where a sentence starts, nor which ``mr.`` or ``j.`` is
    an abbreviation's point; read as written, a lowercased text was one sentence and ``mr. smith`` two."""
    text = casing("Mr. Smith met George W. Bush at Acme Inc. near Paris. He left.\nLondon 1996-08-30\nSay no. He went.")
    written = ["Mr. Smith met George W. Bush at Acme Inc. near Paris .", "He left .", "London 1996-08-30"]
    assert sentences_of(text) == [casing(sentence).split() for sentence in [*written, "Say no.", "He went ."]]
    assert sentences_of(casing("It costs US$ 5 at Sr.de now.")) == [casing("It costs US$ 5 at Sr . de now .").split()]
    # Where nothing is capitalized, "and" or "in" after an abbreviation more often goes on with the sentence.
    for going_on in ("Yesterday Mr. and Mrs. Smith flew.", "Shares of Acme Inc. and IBM rose.", "Pears etc. in bulk."):
        assert len(sentences_of(casing(going_on))) == 1, going_on
    assert sentences_of(casing("Line one\nline two")) == [
        [casing("Line"), casing("one")],
        [casing("line"), casing("two")],
    ]


@pytest.mark.parametrize(
    "text",
    [
        "It costs approx. five dollars today.",
        "See e.g. lowercase continuation here.",
        "He waited... and then left.",
        "Really? yes, really.",
    ],
)
def test_split_sentences_not_before_lowercase(text):
    assert len(sentences_of(text)) == 1


def test_split_sentences_keeps_closing_quotes_and_brackets():
    assert sentences_of('He said "Go." Then he left.') == [
        ["He", "said", '"', "Go", ".", '"'],
        ["Then", "he", "left", "."],
    ]
    assert sentences_of("It ended (finally.) Next one.") == [
        ["It", "ended", "(", "finally", ".", ")"],
        ["Next", "one", "."],
    ]


def test_split_sentences_question_and_exclamation():
    assert sentences_of("Wait... what? No! Yes.") == [["Wait", "...", "what", "?"], ["No", "!"], ["Yes", "."]]


def test_split_sentences_cuts_long_sentences():
    text = " ".join(f"w{i}" for i in range(23))
    result = sentences_of(text, max_tokens=5)
    assert [len(s) for s in result] == [5, 5, 5, 5, 3]


def test_split_sentences_cut_prefers_a_comma_near_the_limit():
    assert sentences_of("a b c , d e f g h i j", max_tokens=5) == [
        ["a", "b", "c", ","],
        ["d", "e", "f", "g", "h"],
        ["i", "j"],
    ]
    # A comma in the first half is too early to cut at.
    assert sentences_of("a , b c d e f", max_tokens=5) == [["a", ",", "b", "c", "d"], ["e", "f"]]
    # Chinese commas count too.
    assert sentences_of("一二三，四五六七八", max_tokens=5) == [
        ["一", "二", "三", "，"],
        ["四", "五", "六", "七", "八"],
    ]


def test_split_sentences_max_tokens_one():
    assert sentences_of("a b c", max_tokens=1) == [["a"], ["b"], ["c"]]


def test_split_sentences_empty():
    assert split_sentences("", []) == []
    assert split_sentences("   \n\n ", tokenize("   \n\n ")) == []


@given(TEXTS, st.integers(min_value=1, max_value=20))
@settings(max_examples=300, deadline=None)
def test_split_sentences_never_loses_tokens(text: str, max_tokens: int) -> None:
    tokens = tokenize(text)
    sentences = split_sentences(text, tokens, max_tokens)
    assert [t for s in sentences for t in s] == tokens
    assert all(0 < len(s) <= max_tokens for s in sentences)


def _read_conll_sentences(path: Path) -> list[list[str]]:
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        columns = line.split()
        if not columns:
            if current:
                sentences.append(current)
                current = []
        elif columns[0] != "-DOCSTART-":
            current.append(columns[0])
    if current:
        sentences.append(current)
    return sentences


def test_tokenize_reproduces_conll2003_tokens():
    sentences = _read_conll_sentences(shared_data("conll2003_en", "eng.testb"))
    assert len(sentences) > 3000
    same = sum(texts(tokenize(" ".join(tokens))) == tokens for tokens in sentences)
    assert same / len(sentences) >= 0.99


@pytest.mark.parametrize(
    ("text", "ratio"),
    [
        ("", 0.0),
        (" \n\t", 0.0),
        ("abc", 0.0),
        ("北京", 1.0),
        ("北京 ab", 0.5),  # the space does not count
        ("。ｶa", 2 / 3),  # CJK punctuation and halfwidth forms count as CJK
        ("\u3000北", 1.0),  # the ideographic space is a space
    ],
)
def test_cjk_ratio_counts_visible_characters(text: str, ratio: float) -> None:
    assert cjk_ratio(text) == pytest.approx(ratio)


def test_cut_points_prefers_sentence_ends_then_clauses_in_the_second_half() -> None:
    tokens = ["a", "b", "c", ".", "d", "e", ",", "f", "g", "h", "i", "j"]
    assert cut_points(tokens, 100) == [(0, 12)]
    # At most 7 a piece: the full stop (index 3) is in the first half, too early; the comma (6) is not.
    assert cut_points(tokens, 7) == [(0, 7), (7, 12)]
    # At most 5: the full stop ends the first piece; the second finds nothing in its second half.
    assert cut_points(tokens, 5) == [(0, 4), (4, 9), (9, 12)]
    # Nothing to cut at: pieces of exactly the limit.
    assert cut_points(list("abcdefgh"), 3) == [(0, 3), (3, 6), (6, 8)]


@pytest.mark.parametrize(
    ("text", "ratio"),
    [
        ("", 0.0),
        ("Bangkok", 0.0),
        ("北京", 1.0),
        ("กรุงเทพ ab", 7 / 9),  # Thai (its vowel and tone marks count too); the space does not
        ("ວຽງຈັນ", 1.0),  # Lao
        ("ភ្នំពេញ", 1.0),  # Khmer
        ("ရန်ကုန်", 1.0),  # Myanmar
        ("ལྷ་ས", 1.0),  # Tibetan
        ("서울", 0.0),  # Korean puts spaces between words
    ],
)
def test_unspaced_ratio_counts_the_scripts_written_without_spaces_between_words(text: str, ratio: float) -> None:
    assert unspaced_ratio(text) == pytest.approx(ratio)


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("", None),
        ("John Smith visited Berlin.", None),
        ("東京タワーに行きました。", "cjk"),
        ("สมชายไปเชียงใหม่ John", "thai"),
        ("ວຽງຈັນ", "lao"),
        ("ភ្នំពេញ", "khmer"),
        ("ရန်ကုန်", "myanmar"),
        ("ལྷ་ས", "tibetan"),
        ("北京 กรุง ab cd", None),  # most of it without spaces, but no one script holds more than half
        ("李明在Microsoft工作。", "cjk"),  # a word of English counts once, not once per letter
        ("马云创办了Alibaba Group。", "cjk"),
        ("Li Ming (李明) visited Beijing.", None),
    ],
)
def test_unspaced_script_is_the_script_of_most_of_the_text(text: str, script: str | None) -> None:
    assert unspaced_script(text) == script


def test_cut_points_prefers_a_space_to_the_limit_when_no_punctuation_is_near() -> None:
    tokens = list("abcdefghij")
    spaced = [i == 5 for i in range(len(tokens) - 1)]  # a space after "f"
    assert cut_points(tokens, 8, spaced) == [(0, 6), (6, 10)]
    assert cut_points(tokens, 8) == [(0, 8), (8, 10)]
    assert cut_points([*"abc,efghij"], 8, spaced) == [(0, 6), (6, 10)]  # the comma is in the first half
    assert cut_points([*"abcde,ghij"], 8, spaced) == [(0, 6), (6, 10)]
    assert cut_points([*"abcdef,hij"], 8, spaced) == [(0, 7), (7, 10)]  # a comma wins over the space


def test_a_long_thai_text_is_cut_between_phrases_for_a_character_model() -> None:
    """Thai has no sentence-final punctuation: a text longer than the limit is cut where a space
    separates two phrases, not inside a word."""
    phrase = "สมชายเดินทางไปเชียงใหม่"
    text = " ".join([phrase] * 12)
    pieces = split_sentences(text, tokenize_chars(text), max_tokens=100)
    assert len(pieces) > 1
    for piece in pieces:
        assert text[piece[0].start : piece[-1].end] in {" ".join([phrase] * n) for n in range(1, 13)}


def test_cut_points_pieces_cover_the_tokens_in_order_within_the_limit() -> None:
    import random

    rng = random.Random(3)
    for _ in range(300):
        tokens = [rng.choice(["w", "w", "w", ",", "。", "；", "!"]) for _ in range(rng.randint(1, 60))]
        limit = rng.randint(1, 12)
        pieces = cut_points(tokens, limit)
        assert pieces[0][0] == 0 and pieces[-1][1] == len(tokens)
        assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:]))
        assert all(0 < end - start <= limit for start, end in pieces)


@pytest.mark.parametrize(
    "text", ["서울에서 회의가 열렸다", "#Zoë and @José met", "李明和김민수去了北京。", "がぎ Hello big World"]
)
def test_decomposed_text_is_cut_and_routed_as_composed_text_is(text: str) -> None:
    """Written decomposed (NFD), Hangul's syllables fell into jamo under a character model, a hashtag ended
    before its last accent, and kana's sound marks counted as characters of their own when routing."""
    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != text
    for cut in (tokenize, tokenize_chars):
        assert [model_form(t.text) for t in cut(decomposed)] == [t.text for t in cut(text)]
    assert unspaced_script(decomposed) == unspaced_script(text)


def test_a_short_line_is_counted_in_composed_characters() -> None:
    """A list of Vietnamese names, each line 36 characters composed and 48 decomposed, was one sentence."""
    text = "Nguyễn Thị Thuỷ Tiên, Đặng Hữu Phước\nHoàng Văn Nam, Trần Thị Lan\n"
    for form in ("NFC", "NFD"):
        written = unicodedata.normalize(form, text)
        assert len(split_sentences(written, tokenize(written))) == 2, form


def test_long_runs_of_word_characters_or_space_tokenize_in_linear_time():
    """An e-mail address or a host name is looked for only where a run of its characters starts: before,
    each token of ____ or a.b.c scanned the rest of the run again (40,000 underscores: 25 s)."""
    runs = (("_" * 20_000, 20_000), ("a_" * 10_000, 20_000), ("ab." * 5_000 + "1", 10_001), ("+1" * 5_000, 9_999))
    for run, count in runs:
        tokens = tokenize(run + " mail me@example.com")
        assert len(tokens) == count + 2 and tokens[-1].text == "me@example.com"
    # a text ending in a long run of space: findall found no token there, from each of its characters
    for end in (" " * 20_000, "\n" * 20_000, " " + "\u200b" * 20_000):
        assert tokenize("Paris" + end) == [Token("Paris", 0, 5)]
        assert tokenize_chars("巴黎" + end) == [Token("巴", 0, 1), Token("黎", 1, 2)]
    # invisible characters right after a last token that does not take them in (4,000 after "...": 6.9 s),
    # or a text of nothing else; a last word still takes them in
    for last in ("...", "U.S.", "a@b.com", "#tag", "--"):
        assert tokenize("Paris " + last + "\u200b" * 20_000)[-1] == Token(last, 6, 6 + len(last))
    assert tokenize("\u00ad" * 20_000 + " ") == tokenize_chars("\u200b" * 20_000) == []
    assert tokenize("Obama" + "\u200b" * 20_000) == [Token("Obama" + "\u200b" * 20_000, 0, 20_005)]


def test_a_text_in_many_parts_is_searched_for_line_ends_part_by_part():
    """Routing splits each script run's part of a text into sentences: the text's line ends were searched
    whole once per part (a 13,000-character text of one-sentence lines in two scripts: 3.5 s)."""
    text = "中。Ab।\n" * 20_000
    tokens = tokenize(text)
    parts = [split_sentences(text, tokens[i : i + 4]) for i in range(0, len(tokens), 4)]  # a line each
    assert len(parts) == 20_000 and all([len(s) for s in sentences] == [2, 2] for sentences in parts)
    # the breaks a part meets are those inside it: a short line's end, a paragraph break
    text = "Acme Corp\nBerlin is big.\n\nThe end"
    tokens = tokenize(text)
    assert [[t.text for t in s] for s in split_sentences(text, tokens[1:])] == [
        ["Corp"],
        ["Berlin", "is", "big", "."],
        ["The", "end"],
    ]


def test_invisible_characters_stay_inside_words_and_the_model_reads_words_without_them():
    """Soft hyphens and zero-width spaces come with text copied from web pages and PDFs."""
    assert texts(tokenize("Ham\u00adburg ist schön")) == ["Ham\u00adburg", "ist", "schön"]
    assert texts(tokenize("Micro\u200bsoft and Barack Obama\u200b visited")) == [
        "Micro\u200bsoft",
        "and",
        "Barack",
        "Obama\u200b",
        "visited",
    ]
    assert tokenize("\ufeffJohn Smith \u200b")[:1] == [Token("John", 1, 5)]  # passed over like a space
    assert texts(tokenize_chars("北\u200b京")) == ["北\u200b", "京"]
    assert [model_form(t) for t in ("Ham\u00adburg", "北\u200b", "Paris")] == ["Hamburg", "北", "Paris"]
    assert model_form("Zoe\u0308") == "Zo\u00eb"  # composed, as it is written far more often


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("यह किताब है। वह दिल्ली गया।", [["यह", "किताब", "है", "।"], ["वह", "दिल्ली", "गया", "।"]]),
        ("هل ذهبت إلى القاهرة؟ نعم ذهبت.", [["هل", "ذهبت", "إلى", "القاهرة", "؟"], ["نعم", "ذهبت", "."]]),
        ("北京很好｡上海也好｡", [["北", "京", "很", "好", "｡"], ["上", "海", "也", "好", "｡"]]),
        ("Wow!!! Apple released it.", [["Wow", "!", "!", "!"], ["Apple", "released", "it", "."]]),
        ('He said "Wow!!" Then left.', [["He", "said", '"', "Wow", "!", "!", '"'], ["Then", "left", "."]]),
        # A Chinese mark ends its sentence before a word in lower case too (both went to one model by script).
        ("我用IBM。iPhone很好", [["我", "用", "IBM", "。"], ["iPhone", "很", "好"]]),
        ("李明在北京。i met john.", [["李", "明", "在", "北", "京", "。"], ["i", "met", "john", "."]]),
        # ... but not a 。 typed for a point between Latin words, nor a full-width mark in Latin text
        ("访问www。baidu。com吧", [["访", "问", "www", "。", "baidu", "。", "com", "吧"]]),
        ("看readme。txt文件", [["看", "readme", "。", "txt", "文", "件"]]),
        ("Wow！ that is cool.", [["Wow", "！", "that", "is", "cool", "."]]),
        # A Latin mark before another script ends its sentence with no space after it (code-switching) ...
        ("See you!陈大文好。", [["See", "you", "!"], ["陈", "大", "文", "好", "。"]]),
        # ... but not between two words of one script, nor a brand's mark, nor one inside Chinese or before quotes
        ("他说……我不知道。", [["他", "说", "…", "…", "我", "不", "知", "道", "。"]]),
        *(
            (text, [texts(tokenize(text))])
            for text in ["Yahoo!ニュース", "我用ASP.NET和.NET Core", "买了iPhone!２０２３年"]
        ),
        *((text, [texts(tokenize(text))]) for text in ["他说“Hi John!”然后", "雅虎(Yahoo!)的股价"]),
        # Greek asks with a semicolon (U+037E, or U+003B as NFC writes it); other text does not
        ("Πού είναι; Ο Νίκος μίλησε.", [["Πού", "είναι", ";"], ["Ο", "Νίκος", "μίλησε", "."]]),
        ("Πού είναι\u037e Ο Νίκος μίλησε.", [["Πού", "είναι", "\u037e"], ["Ο", "Νίκος", "μίλησε", "."]]),
        ("He came; She left.", [["He", "came", ";", "She", "left", "."]]),
    ],
)
def test_split_sentences_after_the_marks_of_other_scripts_and_after_a_run_of_marks(text, sentences):
    assert sentences_of(text) == sentences


@pytest.mark.parametrize(
    "text",
    [
        "ASP.NET is great.",
        "Visit Amazon.Com today.",
        "He met St.Louis Cardinals fans.",
        "Mass. General Hospital is big.",
        "He met Maj. Gen. Smith.",
        "Rev. Martin Luther King spoke.",
        "See Fig. 3 for details.",
        "А. С. Пушкин родился в Москве.",  # initials of other scripts with capitals
        "Κ. Καραμανλής είπε ότι θα έρθει.",
        "É. Macron visited Berlin.",
    ],
)
def test_split_sentences_not_inside_a_name_nor_after_an_abbreviation(text):
    assert len(sentences_of(text)) == 1


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("He moved to the U.S. The next day he left.", [5, 6]),
        ("Apple Inc. It said so.", [2, 4]),
        ("at 5 p.m. He left.", [3, 3]),
        ("The U.S. President spoke.", [5]),
        ("Smith Inc. Chairman John Doe.", [6]),
    ],
)
def test_an_abbreviation_ends_a_sentence_only_before_a_word_that_starts_one(text, sentences):
    assert [len(sentence) for sentence in sentences_of(text)] == sentences


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        # a legal citation's v. and sections, which were cut into two sentences, the name with them
        ("The court followed Roe v. Wade in that case.", ["The court followed Roe v. Wade in that case ."]),
        (
            "Under Art. 5 and Sec. 10(b), and in 2d Cir. 1997, it held.",
            ["Under Art. 5 and Sec. 10 ( b ) , and in 2d Cir. 1997 , it held ."],
        ),
        ("It is art. The end.", ["It is art .", "The end ."]),  # only before a number
        # a name's last capital before a new sentence is no initial: hepatitis B. was one PER token
        (
            "Chronic hepatitis B. The others were seronegative.",
            ["Chronic hepatitis B .", "The others were seronegative ."],
        ),
        ("J. A. Smith and J. I. Jones met Malcolm X.", ["J. A. Smith and J. I. Jones met Malcolm X ."]),
        ("President F. W. de Klerk met Louis J. van Gaal.", ["President F. W. de Klerk met Louis J. van Gaal ."]),
        (
            "Named as Pietro T. (36), he cited Brown v. The Board.",
            ["Named as Pietro T. ( 36 ) , he cited Brown v. The Board ."],
        ),
        ("Patients lacked vitamin D. (This was expected.)", ["Patients lacked vitamin D .", "( This was expected . )"]),
        # other languages' titles only as written: in capitals, a name and a word before a sentence's end
        ("ORDERS ROSE AT ABB. SIEMENS GAINED.", ["ORDERS ROSE AT ABB .", "SIEMENS GAINED ."]),
        ("BASED IN SAN JOSE, CA. SHARES ROSE.", ["BASED IN SAN JOSE , CA .", "SHARES ROSE ."]),
        ("I saw my dr. He said so.", ["I saw my dr.", "He said so ."]),  # an abbreviation, not a title
        # German, Spanish, Dutch and Polish titles and abbreviations
        (
            "Er kam ca. 1900 mit Herrn Müller nach Nr. 5 in der Berliner Str. 3 an.",
            ["Er kam ca. 1900 mit Herrn Müller nach Nr. 5 in der Berliner Str. 3 an ."],
        ),
        (
            "La Sra. García vive en la Avda. Diagonal de Sta. Cruz.",
            ["La Sra. García vive en la Avda. Diagonal de Sta. Cruz ."],
        ),
        ("Mevr. Jansen zag prof. Jana op ul. Marszałkowska.", ["Mevr. Jansen zag prof. Jana op ul. Marszałkowska ."]),
        # French and German quotes close a sentence: « ... ! » and „...“
        ("« Bonjour ! » dit Jean Dupont.", ["« Bonjour ! » dit Jean Dupont ."]),
        ("Er sagte: „Schröder kommt.“ Dann ging er.", ["Er sagte : „ Schröder kommt . “", "Dann ging er ."]),
        ("»Ja!« sagte Anna.", ["» Ja ! « sagte Anna ."]),
        ("He left. “Hello,” she said.", ["He left .", "“ Hello , ” she said ."]),  # “ opens an English quote
    ],
)
def test_sentences_of_legal_text_and_of_other_languages_keep_their_names(text, sentences):
    assert [" ".join(sentence) for sentence in sentences_of(text)] == sentences


def test_capitals_with_letters_that_have_no_capital_are_one_case() -> None:
    """ß (its capital is SS), º and ª stay lowercase in text in capitals: one of them read the whole text as
    written, GIEßEN's sentence lost its names."""
    assert one_case("DIE STRAßE IN GIEßEN") and one_case("EL 1º DE MAYO") and one_case("straße")
    assert not one_case("Die Straße") and not one_case("ß Straße") and not one_case("中文")


def test_a_text_without_a_spaced_pair_has_no_word_joins() -> None:
    """The quick check that spares most Chinese text a look at each character never misses a join."""
    import random

    from ner.text import has_spaced_words, word_joins

    rng = random.Random(1)
    alphabet = [*"ab1中文 é\u0301\u200bＡ９_-.", "\u0e01", "\u0e31"]
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        assert has_spaced_words(text) or not any(word_joins(tokenize_chars(text))), repr(text)
    assert has_spaced_words("在Linux上") and not has_spaced_words("1年2月，中文") and has_spaced_words("１９９８年")


def test_a_long_chinese_sentence_is_cut_between_words_not_inside_a_latin_one() -> None:
    """No punctuation or space near the limit: the cut falls before the Latin word that the limit would
    part (the 200th character is inside ``Microsoft``), and a word model's text is cut as before."""
    text = "微软公司" * 48 + "的Microsoft" + "系统" * 40
    pieces = split_sentences(text, tokenize_chars(text), max_tokens=200)
    assert [text[p[0].start : p[-1].end] for p in pieces] == [text[:193], text[193:]]
    words = " ".join(["word"] * 30)
    assert [len(p) for p in split_sentences(words, tokenize(words), max_tokens=20)] == [20, 10]
    # a word model's tokens with nothing between them go on with a word too: don't is not cut in two
    glued = "don't-" * 12
    pieces = split_sentences(glued, tokenize(glued), max_tokens=19)  # the limit falls after a "do"
    assert [p[-1].text for p in pieces] == ["-", "-"] and all(len(p) <= 19 for p in pieces)


def test_a_long_chinese_sentence_is_cut_at_a_comma_not_at_a_full_width_decimal_point():
    text = "增长" + "１９．５" * 37 + "，" + "百分点" * 30
    pieces = split_sentences(text, tokenize_chars(text), max_tokens=200)
    assert [piece[-1].text for piece in pieces] == ["，", "点"]
    assert len(sentences_of("３．旧货市场也在发展")) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # a URL keeps its brackets in pairs
            "https://en.wikipedia.org/wiki/Python_(programming_language) is",
            ["https://en.wikipedia.org/wiki/Python_(programming_language)", "is"],
        ),
        (
            "(see https://x.com/a) and https://x.com/b.",
            ["(", "see", "https://x.com/a", ")", "and", "https://x.com/b", "."],
        ),
        ("Visit www.google.com today.", ["Visit", "www.google.com", "today", "."]),
        ("See google.com/maps or Amazon.com.", ["See", "google.com/maps", "or", "Amazon.com", "."]),
        ("Read bbc.co.uk. Then", ["Read", "bbc.co.uk", ".", "Then"]),
        (
            "Read spiegel.de, lemonde.fr/a or Sina.com.cn.",
            ["Read", "spiegel.de", ",", "lemonde.fr/a", "or", "Sina.com.cn", "."],
        ),
        # what is no host name: a capital after the point, a word no domain ends with, an abbreviation
        ("in Paris.It was", ["in", "Paris", ".", "It", "was"]),
        ("ends here.and there", ["ends", "here", ".", "and", "there"]),
        ("got home.it was", ["got", "home", ".", "it", "was"]),  # a country's that is a word needs two steps
        ("el Sr.de la casa.il", ["el", "Sr", ".", "de", "la", "casa", ".", "il"]),  # not after an abbreviation
        ("at 5 p.m.in London", ["at", "5", "p.m.", "in", "London"]),
        ("end.\u200dStart", ["end", ".\u200d", "Start"]),  # a joiner joins emoji only
        ("i.e. the U.S.A. and z.B. so", ["i.e.", "the", "U.S.A.", "and", "z.B.", "so"]),
        ("At 2024-05-01T12:30:00Z it ran", ["At", "2024-05-01T12:30:00Z", "it", "ran"]),
        ("at 2024-05-01T12:30+02:00.", ["at", "2024-05-01T12:30+02:00", "."]),
        ("at 2024-05-01T12:30:00Zulu", ["at", "2024-05-01", "T12", ":", "30:00", "Zulu"]),  # a timestamp whole or not
        (
            "A family 👨\u200d👩\u200d👧 and 🇫🇷🇩🇪 flags",
            ["A", "family", "👨\u200d👩\u200d👧", "and", "🇫🇷", "🇩🇪", "flags"],
        ),
    ],
)
def test_urls_host_names_timestamps_and_joined_emoji_are_one_token(text, expected):
    assert texts(tokenize(text)) == expected


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Angela Merkel\nEmmanuel Macron\nBoris Johnson", [2, 2, 2]),  # a list of names, one a line
        ("Paris\u2028London\u2029Berlin", [1, 1, 1]),  # Unicode's line and paragraph separators
        ("John Smith\u2028Mary Jones\u2028Peter Brown", [2, 2, 2]),
        ("KINSHASA 1996-08-29\nA total of 116 delegates", [2, 5]),  # a dateline
        ("人民大\n会堂", [5]),  # Chinese wraps inside words
        ("The talks between President Joe\nBiden and Chancellor Olaf Scholz met.", [12]),  # a narrow column
        ("Police arrested Mr. A, 35, on Tuesday.", [10]),  # no end after a title
        ("1. Damon Hill 81 points\n2. Jacques Villeneuve 68 points", [5, 5]),  # a table's rows
        ("Shares of Bank of\nAmerica fell.", [7]),  # a line that ends in a joining word goes on
        ("Dear John,\nThanks for the note.", [3, 5]),
        ("He met Angela Merkel and\nother leaders in Berlin.", [10]),  # a lower-case word goes on
        ("The meeting between the two leaders in the German capital\nBerlin lasted for hours.", [15]),  # wrapped
        # a line in another script starts a sentence whatever its line before ends with (李明 has no capital)
        ("Meeting with Tan Ah Kow at DBS tomorrow\n李明在北京大学工作", [8, 9]),
        ("Angela Merkel visited Paris\n李明在北京大学工作", [4, 9]),
        ("The board of the bank met in the city on a Monday morning\n李明在北京大学工作", [13, 9]),
        ("李明在北京大学工作\nok i am going home now", [9, 6]),
        ("我在\n北京工作", [6]),
        ("我用iPhone和MacBook Pro\n写代码，李明也是。", [15]),  # a line in no script by a clear majority
        ("Иван Петров работает в Москве\nJohn Smith lives in London", [5, 5]),  # two scripts with spaces
        ("Он сказал, что\nпридёт завтра утром.", [8]),
        # ... but not a sentence wrapped at a name of the other script (both lines hold words of both)
        ("Партнёрство с корпорацией Google\nCloud Platform и Microsoft Azure.", [10]),
        ("Officials including Сергей\nЛавров and Юрий Ушаков said so.", [10]),
    ],
)
def test_a_short_line_ends_its_sentence(text, sentences):
    assert [len(sentence) for sentence in sentences_of(text)] == sentences


@given(
    st.text(
        alphabet=st.sampled_from(
            ["a", "é", " ", "\n", "\r", "\u200b", "\u00ad", "\ufeff", "日", "\u2060", "-", ">", "\x1b", "[", "m", "]"]
        ),
        max_size=40,
    )
)
@settings(max_examples=500, deadline=None)
def test_the_early_token_count_is_a_lower_bound_at_either_level(text: str) -> None:
    """Quote marks and words hyphenated across a line's end are runs between spaces that are no token, and
    terminal escapes are space."""
    if not set(text) & {"-", ">", "\u00ad", "\x1b"}:
        assert min_tokens(text) == sum(1 for run in text.split() if model_form(run))
    assert min_tokens(text) <= min(len(tokenize(text)), len(tokenize_chars(text)))


def test_word_joins_mark_the_characters_that_go_on_with_a_word_of_a_spaced_script() -> None:
    from ner.text import word_joins

    text = "在Linux 2系统x_y用ＯｐｅｎＡＩ"  # full-width Latin as Chinese input methods write it, too
    joins = word_joins(tokenize_chars(text))
    assert [c for c, joined in zip(text.replace(" ", ""), joins) if joined] == [*"inux", *"ｐｅｎＡＩ"]


def test_full_width_latin_letters_make_a_word_and_full_width_digits_a_number() -> None:
    """Chinese and Japanese input methods write Latin full-width: a word of English, not characters of CJK."""
    text = "I work at Ｇｏｏｇｌｅ in Ｓｉｎｇａｐｏｒｅ. ｉＰｈｏｎｅ１５ ２００８年"
    assert [t.text for t in tokenize(text)] == [
        *["I", "work", "at", "Ｇｏｏｇｌｅ", "in", "Ｓｉｎｇａｐｏｒｅ"],
        ".",
        "ｉＰｈｏｎｅ１５",
        "２００８",
        "年",
    ]
    assert unspaced_script("I work at Ｇｏｏｇｌｅ in Ｓｉｎｇａｐｏｒｅ.") is None
    assert unspaced_script("我在Ｇｏｏｇｌｅ工作") == "cjk"
    assert unspaced_script("１９９７年７月１日") == "cjk"  # full-width digits stay with the Chinese they are in


def test_a_text_is_in_the_script_of_most_of_its_words() -> None:
    """Letters were counted: 11 Latin ones outnumbered 8 Hangul syllables, and a Korean sentence with two
    brands went to the English model."""
    from ner.text import script_words, spaced_script

    assert script_words("김철수는 Apple의 iPhone을 샀다.") == {"hangul": 4, None: 2}
    assert spaced_script("김철수는 Apple의 iPhone을 샀다.", ["hangul", "cyrillic"]) == "hangul"
    assert spaced_script("I met Иван Петров at the office today", ["cyrillic"]) is None
    assert spaced_script("राहुल शर्मा दिल्ली में काम करते हैं", ["devanagari"]) == "devanagari"  # marks in words
    assert spaced_script("ᲡᲐᲥᲐᲠᲗᲕᲔᲚᲝᲡ ᲞᲠᲔᲖᲘᲓᲔᲜᲢᲘ", ["georgian"]) == "georgian"  # its capitals (Mtavruli)
    assert spaced_script("ﾺﾻﾼ ﾡﾢ", ["hangul"]) == "hangul"  # half-width Hangul


def test_terminal_escape_sequences_are_read_as_space():
    """A coloured log glued its colour's code to the name it coloured (\x1b[1mMaria: 1mMaria): no name found."""
    text = "\x1b[33mWARN\x1b[0m Login by \x1b[1mMaria Garcia\x1b[22m from \x1b]8;;http://x\x07Madrid\x1b]8;;\x07\x1b[0m"
    tokens = tokenize(text)
    assert texts(tokens) == ["WARN", "Login", "by", "Maria", "Garcia", "from", "Madrid"]
    assert all(text[t.start : t.end] == t.text for t in tokens)
    assert texts(tokenize_chars("\x1b[31m张伟\x1b[0m")) == ["张", "伟"]
    assert texts(tokenize("a\x1bb \x1b")) == ["a", "\x1b", "b", "\x1b"]  # no sequence: kept as it was
    # tput sgr0's reset (a character set, then a colour); a title never ended keeps the text after it
    assert texts(tokenize("User \x1b[1mSmith\x1b(B\x1b[m from Berlin")) == ["User", "Smith", "from", "Berlin"]
    assert texts(tokenize("\x1b]0;title John Smith\nAnna Lee"))[-4:] == ["John", "Smith", "Anna", "Lee"]
    coloured = "John \x1b[0m " * 5 + "\x1b[1m \x1b[0m " * 10  # a request's count before tokenizing, as after
    assert min_tokens(coloured) == len(tokenize(coloured)) == 5


@pytest.mark.parametrize(
    "second",
    ["ERROR 2024-05-01 12:30:01 Database timed out", "[WARN] Database timed out", "2024-05-01T12:30:01Z db timed out",
     "May  1 12:30:01 db01 timed out", "    at com.acme.Db.open(Db.java:42)", '  File "db.py", line 3, in open',
     "Maria: thanks", "Agent (Maria Lopez): thanks", "[10:33] Maria: sure", "12/03/2024, 10:33 - Maria: ok",
     "Maria Lopez [10:33 AM]\nthanks"],
)  # fmt: skip
def test_a_line_that_starts_as_a_log_record_or_a_chat_turn_starts_a_sentence(second):
    """Each record of a log, each turn of a chat is a sentence: one record's name ran into the next (John
    Smith\nERROR, an ORG; Smith\nMaria, a person)."""
    text = "12:30:00 INFO reset requested by John Smith\n" + second
    sentences = split_sentences(text, tokenize(text))
    assert len(sentences) == 2 and sentences[0][-1].text == "Smith"


def test_wrapped_prose_is_no_chat_turn():
    text = "The minister said in a long statement that John\nSmith would come to the talks at the usual\n10:30 hour"
    assert len(split_sentences(text, tokenize(text))) == 1
    wrapped = [
        "The weather service has issued a\nSEVERE THUNDERSTORM WARNING for Berlin",
        "the service writes its messages at the levels such as\nINFO and DEBUG",
    ]
    for text in wrapped:  # one line that starts as a record does: prose wrapped there
        assert len(split_sentences(text, tokenize(text))) == 1
