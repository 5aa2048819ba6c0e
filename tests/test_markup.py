"""HTML and Markdown read as the text a reader sees, and offsets taken back into the source."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ner.markup import PlainText, read_markup
from ner.tagger import Alternative, Analysis, Entity, TaggedToken
from ner.text import split_sentences, tokenize


def words_of(plain: PlainText) -> list[list[str]]:
    """The sentences of ``plain``'s tokens, as the tagger cuts them."""
    return [[t.text for t in s] for s in split_sentences(plain.text, tokenize(plain.text))]


def test_html_is_read_as_a_browser_shows_it() -> None:
    page = (
        "<!DOCTYPE html><html><head><title>Reuters</title><style>p { color: red }</style>"
        "<script>var s = '<p>Paris</p>';</script></head><body><!-- Tony Blair -->"
        '<p class="lead">Barack\n  Obama met <b>Angela</b> <a href="/m?a=1&amp;b=2" title="x > y">Merkel</a>'
        "<br>in Berlin.</p><ul><li>AT&amp;T</li><li>Jos&eacute; Garc&#237;a &#x2014; x &bogus; y</li></ul>"
        "<table><tr><th>John Smith</th><td>Google</td></tr></table><p>a < b and c > d</p></body></html>"
    )
    plain = read_markup(page, "html")
    assert words_of(plain) == [
        ["Reuters"],
        ["Barack", "Obama", "met", "Angela", "Merkel", "in", "Berlin", "."],
        ["AT&T"],
        ["José", "García", "—", "x", "&", "bogus", ";", "y"],
        ["John", "Smith"],
        ["Google"],
        ["a", "<", "b", "and", "c", ">", "d"],
    ]
    assert "Barack   Obama met Angela Merkel\nin Berlin." in plain.text  # a wrap in the source; <br>
    for word in ("Obama", "Merkel", "AT&T", "José"):
        start = plain.text.index(word)
        source_start, source_end = plain.source_span(start, start + len(word))
        assert read_markup(page[source_start:source_end], "html").text == word
    assert page[slice(*plain.source_span(plain.text.index("AT&T"), plain.text.index("AT&T") + 4))] == "AT&amp;T"


@pytest.mark.parametrize(
    ("page", "read"),
    [
        ("Angela <script>Merkel", "Angela "),  # never closed: to the end
        ("Angela <!-- Merkel", "Angela "),
        ("Angela <b Merkel", "Angela <b Merkel"),  # no tag: its < starts another before it closes
        ("Angela <b <i>Merkel", "Angela <b Merkel"),
        ("x < y and y > x", "x < y and y > x"),
        ("x<y and y>x", "xx"),  # as a browser reads it: an element y
        ("<SCRIPT>a</script>Paris", "Paris"),
        ("<P>Paris</P>", "\n\nParis\n\n"),
    ],
)
def test_html_that_is_not_closed_or_not_markup(page: str, read: str) -> None:
    assert read_markup(page, "html").text == read


@pytest.mark.parametrize(
    ("markup", "source", "read"),
    [
        ("markdown", "I love C #\n# Title ##\n# C#", "I love C #\n\n\n Title\n\n\n C#"),  # only a heading's own
        ("markdown", "```\r\nx = 1\r\n```\r\nBarack Obama met.\r\n", "\n\n\nBarack Obama met.\r\n"),  # CR LF
        ("markdown", "Title\r\n=====\r\n***\r\nParis", "Title\r\n\n\n\n\n\n\nParis"),
        ("markdown", "Run it.\n```make```\nBarack Obama met.", "Run it.\nmake\nBarack Obama met."),  # no fence
        ("markdown", "<!--\n## Draft\nBarack Obama\n-->\nNew *text*.", "\nNew text."),  # hidden, whatever it holds
        ("markdown", "<script>var a='*x*';</script>Paris", "Paris"),
        ("markdown", "[Update]: Angela Merkel resigned.", "[Update]: Angela Merkel resigned."),  # no definition
        ("markdown", '[ref]: http://x.org "A title"\nNext', "\nNext"),
        ("markdown", "**Barack *Obama* met** Angela", "Barack Obama met Angela"),
        ("markdown", "**Barack\nObama** met", "Barack\nObama met"),
        ("markdown", "[Paris](https://en.wikipedia.org/wiki/Paris_(France)) is", "Paris is"),
        ("html", "<!-->Barack Obama met.", "Barack Obama met."),  # comments closed as browsers close them
        ("html", "Paris<!--->London<!-- x --!>!", "ParisLondon!"),
        ("html", "<img alt=Paul's src=a.png> Paul", " Paul"),  # a stray quote in a tag
        ("html", '<a href="x"">Paris</a>', "Paris"),
        ("html", "Barack&nbspObama &amp &#233 &notareference", "Barack\xa0Obama & é ¬areference"),  # as HTML reads them
        # a third reader's, on real documents: HTML written as code is text, not HTML
        ("markdown", "Add a `<script>` tag.\n\nBarack Obama met.", "Add a <script> tag.\n\nBarack Obama met."),
        ("markdown", "x `<!--` y\n```\n<!-- c -->\n```\nParis *b*", "x <!-- y\n\n\n\nParis b"),
        ("markdown", "`John<TAB>\\#MeToo *x*` &amp;", "John<TAB>\\#MeToo *x* &"),
        ("html", '<p>Menu</p><svg-icon name="m"></svg-icon><p>Obama met.</p>', "\n\nMenu\n\n\n\nObama met.\n\n"),
        ("html", "<p>Merkel in <st1:place w:st=on>Berlin</st1:place>.<o:p></o:p></p>", "\n\nMerkel in Berlin.\n\n"),
        ("markdown", "[![Microsoft Azure](a.svg)](https://azure.com) and [a](b)", "Microsoft Azure and a"),
    ],
)
def test_what_a_second_reader_found_read_as_a_browser_or_markdown_reads_it(markup: str, source: str, read: str) -> None:
    assert read_markup(source, markup).text == read  # type: ignore[arg-type]


def test_markdown_is_read_without_its_marks() -> None:
    document = (
        "# Obama visits Berlin #\n\n"
        '**Barack Obama** met [Angela Merkel](https://x.org/a_b "t") in *Berlin* and ~~Rome~~.\n'
        "![Tony Blair](tb.png) and <https://x.org> wrote snake_case_name, _Paris_ and \\*not\\*.\n\n"
        "- Shares of `Deutsche Bank` fell\n"
        "1. Tony Blair spoke\n\n"
        "> John Smith wrote that he\n> > will fly to London\n\n"
        "| Name | Company |\n|:-----|--------:|\n| John Smith | Google \\| IBM |\n\n"
        "```python\nprint('Paris')\n```\n"
        "Title\n=====\n"
        "[ref]: https://x.org\n"
        "Mary Jones<br>Acme &amp; Co\n"
    )
    plain = read_markup(document, "markdown")
    assert words_of(plain) == [
        ["Obama", "visits", "Berlin"],
        ["Barack", "Obama", "met", "Angela", "Merkel", "in", "Berlin", "and", "Rome", "."],
        [
            "Tony",
            "Blair",
            "and",
            "https://x.org",
            "wrote",
            "snake",
            "_",
            "case",
            "_",
            "name",
            ",",
            "Paris",
            "and",
            "*",
            "not",
            "*",
            ".",
        ],
        ["Shares", "of", "Deutsche", "Bank", "fell"],
        ["Tony", "Blair", "spoke"],
        ["John", "Smith", "wrote", "that", "he", "will", "fly", "to", "London"],
        ["Name"],
        ["Company"],
        ["John", "Smith"],
        ["Google", "|"],  # an escaped pipe is a pipe, which plain text reads as a cell's end too
        ["IBM"],
        ["Title"],
        ["Mary", "Jones"],
        ["Acme", "&", "Co"],
    ]
    start = plain.text.index("Angela Merkel")
    assert document[slice(*plain.source_span(start, start + 13))] == "Angela Merkel"
    start = plain.text.index("Paris")
    assert document[slice(*plain.source_span(start, start + 5))] == "Paris"


def test_text_is_read_as_it_is_and_other_markups_are_refused() -> None:
    plain = read_markup("<b>Paris</b> **x**", "text")
    assert plain.text == "<b>Paris</b> **x**" and plain.source_span(3, 8) == (3, 8)
    with pytest.raises(ValueError, match="markup must be one of text, html, markdown, not 'xml'"):
        read_markup("x", "xml")  # type: ignore[arg-type]


def test_analyses_come_back_with_offsets_into_the_source() -> None:
    page = "<p><b>Angela</b> Merkel &amp; Co</p>"
    plain = read_markup(page, "html")
    start = plain.text.index("Angela")
    entity = Entity(start, start + 13, "PER", "Angela Merkel", 0.9)
    tokens = [TaggedToken("&", plain.text.index("&"), plain.text.index("&") + 1, "O")]
    analysis = plain.source_analysis(Analysis([entity], tokens, [Alternative([entity], -0.1)]))
    assert analysis.entities == [Entity(6, 23, "PER", "Angela Merkel", 0.9)]
    assert analysis.alternatives[0].entities == analysis.entities
    assert analysis.alternatives[0].log_probability == -0.1
    assert analysis.tokens == [TaggedToken("&", 24, 29, "O")]
    assert plain.source_entities([entity]) == analysis.entities


FRAGMENTS = [
    "Paris", " ", "\n", "\n\n", "\t", "<b>", "</b>", "<p>", "<br/>", "<td>", "<!--", "-->", "<script>", "</script>",
    "&amp;", "&#233;", "&bogus;", "<", ">", "*", "**", "_", "~~", "`", "[", "](u)", "![", "# ", "- ", "1. ", "> ",
    "|", "\\*", "```\n", "---\n", "Ünïcödé", "😀", "&",
]  # fmt: skip


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=30), st.sampled_from(["html", "markdown"]))
def test_every_character_read_comes_from_its_place_in_the_source(fragments: list[str], markup: str) -> None:
    source = "".join(fragments)
    plain = read_markup(source, markup)  # type: ignore[arg-type]
    previous = (0, 0)
    for i, char in enumerate(plain.text):
        start, end = plain.source_span(i, i + 1)
        assert 0 <= start < end <= len(source) and previous <= (start, end)
        # a character kept, or a space, tab or break for markup; a reference's character stands for it whole
        assert source[start] == char or char.isspace() or source[start] in "&\\", (source, plain.text, i)
        previous = (start, end)
    if plain.text:
        assert plain.source_span(0, len(plain.text)) == (
            plain.source_span(0, 1)[0],
            plain.source_span(len(plain.text) - 1, len(plain.text))[1],
        )


@given(st.text(alphabet="Paris Lon dé\n.,'😀", max_size=50), st.sampled_from(["html", "markdown"]))
def test_text_without_markup_reads_as_it_is(text: str, markup: str) -> None:
    plain = read_markup(text, markup)  # type: ignore[arg-type]
    expected = text if markup == "markdown" else text.replace("\n", " ")
    assert plain.text == expected and all(plain.source_span(i, i + 1) == (i, i + 1) for i in range(len(text)))
