"""Text to tokens: a tokenizer that keeps character offsets, and a sentence splitter.

English is split into words and punctuation the way CoNLL-2003 is tokenized
(``U.S.``, ``1996-08-22``, ``one-day``, e-mail addresses, URLs, host names
such as ``Amazon.com``, ISO timestamps and emoji joined by zero-width joiners
stay whole; ``'s``
and ``n't`` are split off, and so are French, Italian and Catalan elisions, ``l'`` of
``l'Europe``; a social-media ``@handle`` or ``#hashtag`` is one token).
Chinese and Japanese characters are one token each. A combining mark (an
accent, an Indic vowel sign or virama, a Thai tone) stays with the letter
before it, so words of every script stay whole, and so does a character that
shows nothing (a soft hyphen, a zero-width space: :data:`INVISIBLE`), which the
model does not read (:func:`model_form`). Offsets are indices of Python code
points into the original string, end exclusive, so
``text[token.start:token.end] == token.text`` always holds.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import NamedTuple

# Hiragana, Katakana, CJK ideographs (with extensions), CJK compatibility ideographs,
# CJK symbols and punctuation, and the fullwidth and halfwidth forms but full-width Latin letters
# (ＯｐｅｎＡＩ, as Chinese and Japanese input methods write them, is a Latin word) and half-width Hangul:
# one token per character.
_CJK = (
    "\u3001-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\uff00-\uff20\uff3b-\uff40\uff5b-\uff9f\uffe0-\uffef\U00020000-\U0002fa1f"
)
# Scripts written without spaces between words, by name: a space in them ends a phrase or a sentence, not a
# word. Myanmar with its extensions, Khmer with its symbols.
UNSPACED_SCRIPTS = {
    "cjk": _CJK,
    "thai": "\u0e00-\u0e7f",
    "lao": "\u0e80-\u0eff",
    "tibetan": "\u0f00-\u0fff",
    "myanmar": "\u1000-\u109f\ua9e0-\ua9ff\uaa60-\uaa7f",
    "khmer": "\u1780-\u17ff\u19e0-\u19ff",
}
# The languages written without spaces between words, by script (UNSPACED_SCRIPTS); a model of
# any other language reads the scripts with spaces.
LANGUAGE_SCRIPTS = {
    "zh": "cjk",
    "ja": "cjk",
    "th": "thai",
    "lo": "lao",
    "bo": "tibetan",
    "my": "myanmar",
    "km": "khmer",
}
# Scripts written with spaces between words besides Latin, and their languages: under lang auto, a run of
# sentences mostly in one goes to a model for one of its languages (text in Hindi to a Hindi model, not to
# the English one); languages also written in Latin (Serbian, Azerbaijani) are left out.
SPACED_SCRIPTS = {
    "cyrillic": "\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f",
    "greek": "\u0370-\u03ff\u1f00-\u1fff",
    "armenian": "\u0530-\u058f",
    "hebrew": "\u0590-\u05ff\ufb1d-\ufb4f",
    "arabic": "\u0600-\u06ff\u0750-\u077f\u0870-\u089f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "devanagari": "\u0900-\u097f\ua8e0-\ua8ff",
    "bengali": "\u0980-\u09ff",
    "gurmukhi": "\u0a00-\u0a7f",
    "gujarati": "\u0a80-\u0aff",
    "oriya": "\u0b00-\u0b7f",
    "tamil": "\u0b80-\u0bff",
    "telugu": "\u0c00-\u0c7f",
    "kannada": "\u0c80-\u0cff",
    "malayalam": "\u0d00-\u0d7f",
    "sinhala": "\u0d80-\u0dff",
    "georgian": "\u10a0-\u10ff\u1c90-\u1cbf\u2d00-\u2d2f",
    "ethiopic": "\u1200-\u139f\u2d80-\u2ddf\uab00-\uab2f",
    "hangul": "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff\uffa0-\uffdc",
}
SPACED_LANGUAGE_SCRIPTS = {
    **dict.fromkeys(["ru", "uk", "be", "bg", "mk", "kk", "ky", "mn", "tg", "tt", "ba", "cv"], "cyrillic"),
    "el": "greek",
    "hy": "armenian",
    **dict.fromkeys(["he", "yi"], "hebrew"),
    **dict.fromkeys(["ar", "fa", "ur", "ps", "ug", "sd", "ckb"], "arabic"),
    **dict.fromkeys(["hi", "mr", "ne", "sa", "mai", "bho"], "devanagari"),
    **dict.fromkeys(["bn", "as"], "bengali"),
    "pa": "gurmukhi",
    "gu": "gujarati",
    "or": "oriya",
    "ta": "tamil",
    "te": "telugu",
    "kn": "kannada",
    "ml": "malayalam",
    "si": "sinhala",
    "ka": "georgian",
    **dict.fromkeys(["am", "ti"], "ethiopic"),
    "ko": "hangul",
}
_SPACED_SCRIPT_CHARS = {name: re.compile(f"[{ranges}]") for name, ranges in SPACED_SCRIPTS.items()}
_SCRIPT_CHARS = {name: re.compile(f"[{ranges}]") for name, ranges in UNSPACED_SCRIPTS.items()}
_CJK_CHAR = _SCRIPT_CHARS["cjk"]
_UNSPACED_CHAR = re.compile(f"[{''.join(UNSPACED_SCRIPTS.values())}]")
_SPACED_RUN = re.compile(f"[^\\s{''.join(UNSPACED_SCRIPTS.values())}]+")


def _ranges(codes: Iterable[int], wanted: Callable[[str], bool]) -> str:
    """A regex character class body of the characters of ``codes`` that are ``wanted``, as ranges."""
    ranges: list[tuple[int, int]] = []
    for code in codes:
        if wanted(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "") for a, b in ranges)


def _combining_marks() -> str:
    """A regex character class body of every combining mark (Unicode categories Mn, Mc, Me: accents,
    Indic vowel signs and viramas, Thai and Lao vowels and tones, Hebrew and Arabic points, variation
    selectors), found by scanning the planes that have them (about 20 ms)."""
    return _ranges(
        itertools.chain(range(0x300, 0x1F000), range(0xE0100, 0xE01F0)), lambda c: unicodedata.category(c)[0] == "M"
    )


# Capital letters of every script with case (A, É, А, Α, Ա): an initial's (M. Smith, А. С. Пушкин); and small
# ones (none of a script without case: भारत, תל).
_CAPITALS = _ranges(range(0x41, 0x10000), str.isupper)
_SMALL = _ranges(range(0x61, 0x10000), str.islower)


# Characters that show nothing and are no letter: the soft hyphen, the Arabic letter mark, zero-width space,
# direction marks, embeddings and isolates, the word joiner, invisible operators and the byte-order mark. Text
# copied from web pages and PDFs has them inside words (Ham\xadburg); they stay in the token they fall in, are
# passed over like spaces between tokens, and the model reads tokens without them.
INVISIBLE = "\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
_INVISIBLE_CHARS = re.compile(f"[{INVISIBLE}]")
# Marks that belong to the preceding character never start a token of their own; nor do joiners,
# emoji skin tones and invisible characters.
_COMBINING = _combining_marks()
_MARKS = _COMBINING + "\u200c\u200d\U0001f3fb-\U0001f3ff" + INVISIBLE
_LETTER = rf"(?:(?:(?![{_CJK}])[^\W_]|[０-９])[{_MARKS}]*)"  # full-width digits too: ｉＰｈｏｎｅ１５
# A token no corpus's entity holds as a rule: a lone # or @ (half or full width), or an emoji (a flag, a ZWJ
# sequence, a skin tone); the decode keeps it out of entities unless the model's corpus put one in.
SYMBOL = re.compile("[#@＃＠]|[\U0001f000-\U0001faff\u2600-\u27bf][\U0001f000-\U0001faff\u2600-\u27bf\u200d\ufe0f]*")
# Marks that end a sentence, which start or end no entity as a rule (Angela Merkel! was a person with its !), though
# one may stand inside one (Yahoo! Japan).
END_MARKS = re.compile(r"[!?！？]+|\.{2,}|…")
# A line ends at LF, CRLF, a lone CR (as classic Mac OS wrote text), NEL or Unicode's separators.
_LINE_ENDS = "\n\r\x85\u2028\u2029"
# (A CR or a few before or after a LF are one line end with it, taken whole: \r\r\n is a CRLF file written
# again in text mode; a lone CR ends a line of classic Mac OS text.)
_NEWLINE = r"(?>\r{0,3}\n\r?|\r|[\x85\u2028])"
# A word hyphenated across a line's end (Euro-\npean; Brus\xad\nsels with a soft hyphen, as word processors
# write one) is one token, read as the word (model_form); not before a capital, where a hyphen more often
# ends a line's last word than parts one (a rating, AA-\nCONFIRMED; a heading, FORECAST-\nTODAY).
_QUOTED = rf"(?:[^\S{_LINE_ENDS}]*>)*[^\S{_LINE_ENDS}]*"  # an e-mail's quote marks at a line's start, if any
_LINE_HYPHEN = rf"(?:(?<=[^\W\d_])-|(?<=\xad))[^\S{_LINE_ENDS}]*{_NEWLINE}{_QUOTED}(?=[{_SMALL}])"
_LINE_HYPHENS = re.compile(_LINE_HYPHEN)
_CLITIC = r"(?i:['’](?:s|re|ve|ll|m|d)|n['’]t)(?![^\W_])"
# French, Italian and Catalan elided articles, pronouns and prepositions, split off the word they join as
# corpora of those languages write them (l'Europe: l' Europe; dell'Italia: dell' Italia); a capital D', M', N',
# O', S' or T' starts a name instead (D'Alema, N'Golo, O'Neill), and n't stays English.
_FRENCH_ELIDED = ["qu", "jusqu", "lorsqu", "puisqu", "quoiqu", "presqu"]  # besides l' d' j' m' n' s' t' c'
_ITALIAN_ELIDED = ["dell", "nell", "sull", "dall", "all", "coll", "quell", "quest", "un"]
_ELIDED = "|".join(f"[{w[0]}{w[0].upper()}]{w[1:]}" for w in _FRENCH_ELIDED + _ITALIAN_ELIDED)  # [qQ]u|...
_ELISION = rf"(?<![^\W_])(?:[lLjJcCmnstd]|{_ELIDED})['’](?=[^\W\d_])(?!t(?![^\W_]))"
# Abbreviations with their point: those a name or a number always follows (a title, No., Fig.), which never end
# a sentence, and the others.
_TITLES = frozenset(
    (  # noqa: SIM905 (a list of words reads better as one string)
        "Mr Mrs Ms Messrs Mme Mlle Dr Prof Rev Hon Pres St Gen Gov Sen Rep Col Lt Maj Brig Adm Sgt Cpl Pvt Capt"
        " Supt Det Mt Ft No Fig Figs Vol Vols vs"
    ).split()
)
_ABBREVIATIONS = "|".join(
    [
        *sorted(_TITLES),
        *(  # noqa: SIM905
            "Jr Sr Inc Corp Co Ltd Bros Dept Univ Ave Blvd etc approx"
            " Calif Mass Conn Fla Ariz Colo Mich Minn Tenn Tex Wis Okla Penn"
            " Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec"
        ).split(),
    ]
)
# Titles and abbreviations of other languages, v. (Roe v. The State) and dr. and prof. in lower case, read only
# as written, in any text: in text in capitals ABB. and CA. are a name and a state before a sentence's end.
_CASED_TITLES = frozenset("v Nr Abb Sra Srta Dña Sta Sto Avda Mevr Dhr św ul".split())  # noqa: SIM905
_CASED_ABBREVIATIONS = "|".join(
    [*sorted(_CASED_TITLES), *"dr prof ca bzw vgl usw evtl ggf inkl zzgl Jh Str".split()]  # noqa: SIM905
)

# What follows the start of a URL: brackets in it only in pairs (Wikipedia's Python_(programming_language)), and
# no punctuation at its end.
_URL_REST = r"(?:\([^\s<>\"()]*\)|[^\s<>\"()])*(?:\([^\s<>\"()]*\)|[^\s<>\".,;:!?()\]])"
_GENERIC_DOMAINS = "com|org|net|edu|gov|mil|int|info|biz|io|ai|app|dev"
# Countries' domains read in one step (spiegel.de): common ones, but none that is a common word in a language
# written with spaces (not .it, .in, .me; .il, .au, .se, .eu, ...), a space missed after a point
_COUNTRY_DOMAINS = "de|uk|fr|nl|ru|cn|jp|kr|tw|hk|sg|nz|br|mx|cl|ch|pl|cz|dk|fi|hu|gr|pt|ro|ua|za|ie|vn"
_LABEL = r"[^\W_](?:[^\W_]|-)+"  # a part of a host name: two characters or more
_EMOJI = "\U0001f000-\U0001faff\u2600-\u27bf"  # what a zero-width joiner joins into one emoji
_FLAG = "[\U0001f1e6-\U0001f1ff]{2}"  # two regional indicators
# any other visible character with its marks, and emoji joined into one by zero-width joiners (a family)
_JOINED = rf"[^\s{_MARKS}][{_MARKS}]*(?:(?<=\u200d)[{_EMOJI}][{_MARKS}]*)*"

# An abbreviation's point ends a sentence only when one of these words, which seldom follow an abbreviation
# inside a sentence, comes next; never after a title (_TITLES), which a name follows (Mr. A, 35, was arrested;
# Mr. An Cheol-soo).
_SENTENCE_STARTS = frozenset(
    (  # noqa: SIM905 (a list of words reads better as one string)
        "The A An It He She They We I This That These Those There Its His Her Their But And In On At"
        " For As If When While After Before However Meanwhile"
    ).split()
)
_STARTS = "|".join(sorted(_SENTENCE_STARTS))
# The words in lower case inside names (F. W. de Klerk, Louis J. van Gaal).
_PARTICLES = "(?:van|von|de|der|den|del|della|di|du|da|das|dos|ten|ter|le|la|al|bin|ibn)"


def _token_pattern(in_one_case: bool) -> re.Pattern[str]:
    """The word tokenizer's pattern; for text written all in one case, with abbreviations and initials read
    in either case (``mr.``, ``INC.``, ``j. smith``), since no capital tells them there."""
    cased = "(?i:" if in_one_case else "(?:"
    return re.compile(
        "|".join(
            [
                # Fast paths for the commonest tokens, first so that most positions match at once: a plain
                # ASCII word or number that nothing else could extend, and punctuation that starts nothing else.
                rf"[A-Za-z]+(?![\w.'’&$:@{_MARKS}-])",
                rf"[0-9]+(?![\w.,:/=$@'’{_MARKS}-])",
                rf"[,;!?()\[\]{{}}\"](?![{_MARKS}])",
                r"[０-９]+",  # a full-width number (２００８年)
                rf"[{_CJK}][{_MARKS}]*",  # one CJK character, with its combining marks (か\u3099)
                rf"https?://{_URL_REST}",  # a URL
                # an e-mail address, tried only where a run of its characters starts (else each token of a long
                # run of them, ___ or a.b.c, would scan the rest of the run again)
                r"(?<![\w.+-])[\w.+-]*[^\W_]@[^\W_][\w-]*(?:\.[\w-]*[^\W_])+",
                # a host name without its scheme, also tried only where a run starts: www.anything, a name of two
                # letters or more under a generic top-level domain (Amazon.com, google.com/maps) or a common
                # country's (spiegel.de; not after an abbreviation, Sr.de), or under any country's in two steps
                # (bbc.co.uk); not p.m.in or home.it, a space missed after a point
                rf"(?<![\w.-])(?:www\.(?:{_LABEL}\.)+[a-z]{{2,}}|{_LABEL}(?:\.{_LABEL})*\.(?:{_GENERIC_DOMAINS})"
                rf"|(?!{cased}{_ABBREVIATIONS})\.){_LABEL}(?:\.{_LABEL})*\.(?:{_COUNTRY_DOMAINS})"
                rf"|{_LABEL}(?:\.{_LABEL})+\.[a-z]{{2}})(?![\w@-]|\.[^\W_])(?:/{_URL_REST})?",
                # an ISO 8601 timestamp, whole or not: 2024-05-01T12:30:00Z
                r"(?>\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:Z|[+-]\d\d(?::?\d\d)?)?)(?![^\W_])",
                # a social-media @handle or #hashtag, its letters' combining marks (typed apart, NFD) in it
                rf"(?<![^\s(\[{{\"'“‘])[@#][\w{_COMBINING}]*[^\W_][{_COMBINING}]*",
                r"(?:[A-Za-z]\.){2,}",  # U.S., a.m., U.N.
                rf"{cased}{_ABBREVIATIONS})\.(?![^\W_])",  # Mr., Inc., vs.
                rf"(?:{_CASED_ABBREVIATIONS})\.(?![^\W_])",  # Nr., Sra., z., v.
                # before a number: Art. 5, Sec. 10(b), 2d Cir. 1997, Rs. 500, pp. 12-14, Fig. 3; c. 1990 and p. 10 in
                # lower case and not after a number (5 p. 10 people came: pence, then a sentence)
                rf"{cased}Arts?|Secs?|Paras?|Nos|Cir|Stat|Abs|Rs|pp|[Ff]igs?|[Vv]ols?|[Cc]h)\.(?=\s+\d)",
                r"(?<!\d\s)(?:c|ca|p|est|approx)\.(?=\s+\d)",
                # an initial before a name (M. Smith, А. С. Пушкин), a comma or an age (Pietro T. (36)), not a
                # name's last letter before a sentence that starts with a word no name is (hepatitis B. The ...)
                rf"{cased}[{_CAPITALS}])\.(?=\s+(?:,|\(\d|(?!{cased}{_STARTS})(?![^\W_]|\.))(?:{_PARTICLES}\s+)*"
                + (r"[^\W\d_]))" if in_one_case else rf"[{_CAPITALS}]))"),
                rf"{cased}[A-Z]{{1,2}})\$",  # C$, US$
                r"\d+=(?=\s|$)",  # a tied rank in sports results: 10=
                r"(?<![^\W_])[A-Za-z]{1,3}\d+(?:\.\d+)+(?![^\W_]|\.\d)",  # a version: v2.0.1, R2.1
                r"(?<![^\W_])['’]\d0s(?![^\W_])",  # a decade as Penn Treebank writes it: '90s
                # 1996-08-22, 1,000.50, 1/2, 3,000-strong, 1,250M
                rf"\d+(?:[.,:/-]\d+)+(?:-{_LETTER}+|[Ms](?![^\W_]))*",
                r"(?<![^\s(])(?:[+-]\d+(?:[.,:/-]\d+)*|\.\d+)",  # +44, -0.5, .500, +44-171-542
                r"(?m:^)\d{1,2}\.(?=\s)",  # a numbered list item: 2.
                rf"{_LETTER}+?(?=(?i:n['’]t)(?![^\W_]))",  # "do" of "don't"
                rf"(?<![^\W_])['’]s-{_LETTER}+",  # Dutch 's-Hertogenbosch, 's-Gravenhage
                _CLITIC,  # 's 're n't
                _ELISION,  # l' d' qu' dell' before a word
                # a word: letters and digits, with inner hyphens, ampersands and apostrophes
                rf"{_LETTER}+(?:-(?:[A-Za-z]\.){{2,}}|(?:[-&]|['’](?!(?i:s|re|ve|ll|m|d)(?![^\W_]))|{_LINE_HYPHEN})"
                rf"(?={_LETTER}){_LETTER}+)*",
                r"-{2,}|\.{2,}",  # -- --- ...
                _FLAG,
                _JOINED,
                rf"(?![{INVISIBLE}])[{_MARKS}]+",  # stray marks at the start of the text
            ]
        )
    )


_TOKEN, _ONE_CASE_TOKEN = _token_pattern(in_one_case=False), _token_pattern(in_one_case=True)

# A sentence ends after one of these tokens (Latin, CJK, Devanagari's danda, Arabic's and Urdu's marks, Armenian,
# Myanmar, Ethiopic), or a run of them. Not the full-width point: Chinese text writes decimals (１９．５) and list
# numbers (３．) with it ...
_SENTENCE_END = frozenset(
    {".", "!", "?", "…", "...", "‼", "⁇", "⁈", "⁉", "。", "！", "？", "；", "｡"} | {"।", "॥", "؟", "۔", "։", "။", "።"}
)
_ABBREVIATION = "abbreviation."  # the end a sentence has after an abbreviation's point (U.S., Inc.)
# ... those of them, and an abbreviation's point, that end a sentence only when a space follows (ASP.NET,
# Yahoo!Japan) ...
_SPACED_END = frozenset({".", "!", "?", "...", "…", _ABBREVIATION})
# ... and in Greek the question mark, written as a semicolon (U+037E, or U+003B as NFC makes it), ...
_GREEK_QUESTION = frozenset({";", "\u037e"})
_GREEK_LETTER = _SPACED_SCRIPT_CHARS["greek"]
# ... followed by any of these, which stay with the sentence that ended (French « Bonjour ! », German »Ja!«), and
# by a quote that opens an English one but closes a German one („Ja.“) where it touches the mark.
_CLOSERS = frozenset({'"', "'", ")", "]", "”", "’", "」", "』", "）", "》", "»", "«", "›", "‹"})
_TOUCHING_CLOSERS = frozenset({"“", "‘"})
# In text written in one case, where ``inc. and`` as often goes on, only these start a sentence after an
# abbreviation, and only ``no.`` of the titles may end one (a short line ends before any word: text in one case
# more often holds an utterance or a headline a line than a name wrapped across two).
_ONE_CASE_STARTS = _SENTENCE_STARTS - set("And But In On At For As A An If When While After Before".split())  # noqa: SIM905
_ONE_CASE_TITLES = {title.capitalize() for title in _TITLES} - {"No"}  # as the words are read there
_ALL_TITLES = _TITLES | _CASED_TITLES
# A paragraph ends at a line of nothing but space (or an e-mail quote's marks: > between two quoted
# paragraphs) or U+2029.
_PARAGRAPH_BREAK = re.compile(rf"{_NEWLINE}(?:[^\S{_LINE_ENDS}]|>)*{_NEWLINE}|\u2029")
# A tab or a pipe after something on its line parts two cells of a table (a spreadsheet's row pasted as text,
# John Smith | Google): never one sentence, so no entity runs from one cell into the next.
_CELL_BREAK = re.compile(rf"(?<=[^\s])[^\S{_LINE_ENDS}]*[\t|]")
# A line this short ends its sentence where the next line starts with a capital or a digit (Chinese, which
# wraps inside words, has no capitals: a short line that ends in it ends no sentence), if no word of it is in
# lower case (a list of names, an address, a dateline) or its last word could not go on into a name on the next
# line (a table's row: 81 points); prose wrapped by hand runs 60 to 80 characters a line, and a narrow
# column's lines hold words in lower case.
SHORT_LINE = 40
_JOINING = frozenset("of and the a an in on at for to with by from de del der di du la le van von y".split())  # noqa: SIM905
_LINE_BREAK = re.compile(f"[{_LINE_ENDS}]")
_LINE = re.compile(f"[^{_LINE_ENDS}]+")
_LINE_START = rf"(?:\A|(?<=[{_LINE_ENDS}]))"
# Lines looked at as short ones: up to this many characters as written (a decomposed letter is two or more),
# then counted composed.
_WRITTEN_LINE = 3 * SHORT_LINE
_SHORT_LINE_END = re.compile(rf"{_LINE_START}[^{_LINE_ENDS}]{{0,{_WRITTEN_LINE - 1}}}{_NEWLINE}")
# An e-mail quote's marks before a line's text are no token: a quoted paragraph reads as the paragraph
# (Klaus\n> Weber was an ORG with the > in it).
_QUOTE_MARKS = re.compile(rf"{_LINE_START}[^\S{_LINE_ENDS}]*>(?:[^\S{_LINE_ENDS}]*>)*")
# A list's item starts a sentence: a line that starts with a bullet, or with a dash, star or plus in a run of
# such lines (:func:`_items`; one line that starts with a dash may be prose wrapped before a dash).
_BULLETS = "•◦‣▪▫●○■□►▸➢➤✓✔∙·"
_ITEM_START = rf"[^\S{_LINE_ENDS}]*(?:[{_BULLETS}]|(?P<dash>[-*+–—]))[^\S{_LINE_ENDS}]"
_ITEM, _ITEM_AFTER_BREAK = re.compile(_ITEM_START), re.compile(f"[{_LINE_ENDS}]{_ITEM_START}")
# Where a sentence too long for the model is best cut.
_CLAUSE_END = frozenset({",", "，", "、", ";", "；", ":", "："})


class Token(NamedTuple):
    """One token: its text and its ``[start, end)`` character offsets in the source."""

    text: str
    start: int
    end: int


# A terminal's escape sequence (a colour, \x1b[1m; a window title or link, \x1b]...\x07, ended on its line; tput
# sgr0's character set, \x1b(B; saving the cursor, \x1b7), as coloured logs hold them: read as space, not glued to
# the name it colours (\x1b[1mMaria Garcia: 1mMaria).
_ESCAPE = r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b\n]*(?:\x07|\x1b\\)|[()*+][0-9A-Za-z]|[78=>c])"
_SPACE = rf"[\s{INVISIBLE}]*(?:{_ESCAPE}[\s{INVISIBLE}]*)*"
_TRAILING_ESCAPE = re.compile(rf"{_ESCAPE}[\s{INVISIBLE}]*\Z")
_ESCAPES = re.compile(_ESCAPE)


def _with_space(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """``pattern`` (which matches at every visible character) preceded by the whitespace (and invisible
    characters, and terminal escape sequences) before it: its ``findall`` gives ``(space, token)`` pairs
    that cover the text up to its trailing space."""
    return re.compile(rf"({_SPACE})({pattern.pattern})")


def _tokens(spaced: re.Pattern[str], text: str) -> list[Token]:
    """The tokens of ``text`` from a pattern made by :func:`_with_space`, without Python code per token:
    the offsets are running sums of the pairs' lengths, and ``tuple.__new__`` builds each Token in C
    (``Token(...)`` would run Python code). The text's trailing space is cut to one character first
    (what the patterns look ahead at): there ``findall`` finds no token, and would scan the rest of the
    space again from each of its characters (a text ending in 8,000 spaces took 25 s). Invisible
    characters right after the last visible one may belong to the last token: that one token is matched
    again over them, rather than ``findall`` scanning them from each (4,000 after ``...``: 6.9 s). Escape
    sequences after the last token are cut too, where the text ends for the patterns."""
    end = len(text)
    while end and (text[end - 1].isspace() or _INVISIBLE_CHARS.match(text[end - 1])):
        end -= 1
    while (escape := text.rfind("\x1b", 0, end)) >= 0 and _TRAILING_ESCAPE.match(text, escape, end):
        end = escape  # a colour reset after the last word
        while end and (text[end - 1].isspace() or _INVISIBLE_CHARS.match(text[end - 1])):
            end -= 1
    found = spaced.findall(text, 0, end if text[end : end + 1] == "\x1b" else min(end + 1, len(text)))
    tail = end
    while tail < len(text) and _INVISIBLE_CHARS.match(text[tail]):
        tail += 1
    if found and tail > end:
        start = sum(map(len, itertools.chain.from_iterable(found[:-1])))  # of the last pair
        found[-1] = spaced.match(text, start, min(tail + 1, len(text))).groups()  # type: ignore[union-attr]
    bounds = list(itertools.accumulate(map(len, itertools.chain.from_iterable(found))))
    return list(map(tuple.__new__, itertools.repeat(Token), zip(map(_SECOND, found), bounds[::2], bounds[1::2])))


_SECOND = operator.itemgetter(1)
_SPACED_TOKEN, _ONE_CASE_SPACED_TOKEN = _with_space(_TOKEN), _with_space(_ONE_CASE_TOKEN)
# A Hangul syllable written as the conjoining jamo NFC composes (a leading consonant, a vowel, maybe a trailing
# consonant), as NFD writes it: one character of a character model, as the syllable it composes into.
_JAMO_SYLLABLE = rf"[\u1100-\u1112][\u1161-\u1175][\u11a8-\u11c2]?[{_MARKS}]*"
_CHARACTER = _with_space(re.compile(rf"{_FLAG}|{_JAMO_SYLLABLE}|{_JOINED}|(?![{INVISIBLE}])[{_MARKS}]+"))


def model_form(token: str) -> str:
    """``token`` as a model reads it: without :data:`INVISIBLE` characters (``Ham\\xadburg``: ``Hamburg``), its
    letters composed (NFC: ``Zoe`` and a combining diaeresis, as macOS writes file names, is ``Zoë``), a word
    hyphenated across a line's end as the word (``Euro-\\npean``: ``European``), ligatures as their letters
    (``oﬃce``: ``office``) and without joiners between Latin letters, which only a word processor puts there."""
    if token.isascii():
        return token if token.isprintable() else _joined_across_lines(token)
    token = _INVISIBLE_CHARS.sub("", token).translate(_LIGATURES)
    if not token.isprintable():  # a line's end, or a joiner (which emoji hold too)
        token = _LATIN_JOINER.sub("", _joined_across_lines(token))
    return composed(token)


_LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})
_LATIN = "A-Za-z\u00c0-\u024f\u1e00-\u1eff"
_LATIN_JOINER = re.compile(f"(?<=[{_LATIN}])[\u200c\u200d]+(?=[{_LATIN}])")
_HYPHENATED = re.compile(rf"-?[^\S{_LINE_ENDS}]*{_NEWLINE}{_QUOTED}")  # a line's end, not a space


def _joined_across_lines(token: str) -> str:
    """A token hyphenated across a line's end (before a small letter) as one word; its hyphen kept where
    the word holds another (Stratford-\\nupon-Avon)."""
    joined = _HYPHENATED.sub("", token)
    return _HYPHENATED.sub("-", token) if "-" in joined else joined


def composed(text: str) -> str:
    """``text`` in NFC: letters and the marks typed apart after them (NFD) as one character each."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


_ONLY_MARKS = re.compile(f"[{_MARKS}]+")


def only_marks(token: str) -> bool:
    """Whether ``token`` is made only of marks that belong to the character before it (combining marks,
    joiners, invisible characters): a Thai vowel or a kana's sound mark on a line of its own in a corpus."""
    return _ONLY_MARKS.fullmatch(token) is not None


def min_tokens(text: str) -> int:
    """A lower bound on the tokens of ``text`` at either level, cheap enough to refuse a text far too long
    before tokenizing it: each run of characters between spaces (and terminal escapes) is one token at least,
    unless it shows nothing (which takes a character beyond ASCII), is an e-mail quote's marks or goes on
    with the next (a word hyphenated across a line's end)."""
    shown = text if text.isascii() else _INVISIBLE_CHARS.sub("", text)  # composing counts the same
    runs = (_ESCAPES.sub(" ", shown) if "\x1b" in shown else shown).split()
    count = len(runs)
    if ">" in text:
        count -= sum(not run.strip(">") for run in runs)
    if _LINE_BREAK.search(text):
        count -= len(_LINE_HYPHENS.findall(text))
    return max(count, 0)


def tokenize(text: str, in_one_case: bool | None = None) -> list[Token]:
    """Split ``text`` into tokens with character offsets; read as text written in one case (abbreviations
    and initials in either case) where ``in_one_case`` says so (None: where it is, :func:`one_case`)."""
    in_one_case = one_case(text) if in_one_case is None else in_one_case
    return _unquoted(text, _tokens(_ONE_CASE_SPACED_TOKEN if in_one_case else _SPACED_TOKEN, text))


def _unquoted(text: str, tokens: list[Token]) -> list[Token]:
    """``tokens`` less an e-mail quote's marks (:data:`_QUOTE_MARKS`)."""
    if ">" not in text:
        return tokens
    marks = {i for m in _QUOTE_MARKS.finditer(text) for i in range(m.start(), m.end())}
    return [token for token in tokens if token.start not in marks or token.text.strip(">")]


# A letter or digit of a script written with spaces: not CJK, Thai...; full-width digits are (ｉＰｈｏｎｅ１５),
# though they sit among the CJK forms.
_SPACED_WORD_CHAR = re.compile(f"[^\\W_{''.join(UNSPACED_SCRIPTS.values())}]|[０-９]")


# Two letters or digits of a script written with spaces side by side (marks and invisible characters between):
# a text without such a pair has no character that goes on with a word (word_joins all False).
_SPACED_PAIR = re.compile(f"(?:{_SPACED_WORD_CHAR.pattern})[{_MARKS}]*(?:{_SPACED_WORD_CHAR.pattern})")


def has_spaced_words(text: str) -> bool:
    """Whether :func:`word_joins` of ``text``'s characters may hold a True: some word written with spaces
    of two characters or more."""
    return _SPACED_PAIR.search(text) is not None


def characters_join(characters: Sequence[str]) -> list[bool]:
    """:func:`word_joins` of characters without offsets (a corpus's, written without its spaces), as far as the
    characters tell: each letter or digit of a script written with spaces after another."""
    spaced = [bool(_SPACED_WORD_CHAR.match(c)) for c in characters]
    return [i > 0 and spaced[i] and spaced[i - 1] for i in range(len(characters))]


def word_joins(tokens: Sequence[Token]) -> list[bool]:
    """For each character token, whether it goes on with the word of the one before: both letters or digits
    of a script written with spaces, nothing between them (the ``i`` and ``n`` of ``Linux`` in
    ``我在Linux系统``, not ``在`` and ``L``). A character model's entities and dictionary phrases start
    and end on such a word's edges, as a word model's do."""
    joined = characters_join([token.text for token in tokens])
    return [joined[i] and tokens[i - 1].end == token.start for i, token in enumerate(tokens)]


def tokenize_chars(text: str) -> list[Token]:
    """Split ``text`` into characters (with their combining marks), skipping whitespace.

    The tokenizer of character-level (Chinese) models.
    """
    return _unquoted(text, _tokens(_CHARACTER, text))


def cjk_ratio(text: str) -> float:
    """The share of non-space characters that are CJK, in [0, 1] (0 for empty text)."""
    return _share(_CJK_CHAR, text)


def unspaced_script(text: str) -> str | None:
    """The script of :data:`UNSPACED_SCRIPTS` that more than half of ``text`` is in, counting its
    characters one by one and each run of other visible characters (a word of English) as one, or ``None``
    (a script with spaces between words, or no script in the majority): 李明在Microsoft工作 is Chinese."""
    found = _UNSPACED_CHAR.findall(text)
    if not found:  # the common case, one pass: a script with spaces
        return None
    if not unicodedata.is_normalized("NFC", text):  # a kana's sound mark typed apart is no character of its own
        text = composed(text)
        found = _UNSPACED_CHAR.findall(text)
    units = len(found) + len(_SPACED_RUN.findall(text))
    unspaced = "".join(found)
    return next((name for name, chars in _SCRIPT_CHARS.items() if 2 * len(chars.findall(unspaced)) > units), None)


def spaced_script(text: str, scripts: Collection[str]) -> str | None:
    """The script of ``scripts`` (names of :data:`SPACED_SCRIPTS`) that more than half of ``text``'s words are
    in (:func:`script_words`), or ``None`` (Latin, or no script in the majority)."""
    words = script_words(text)
    total = words.total()
    return next((s for s in scripts if 2 * words[s] > total), None)


def script_words(text: str) -> Counter[str | None]:
    """The words of ``text`` by script (:data:`SPACED_SCRIPTS`, ``None`` for any other): each run of letters
    of one script is a word (``Apple의`` is a word of Latin and one of Hangul; a word of English is one, as
    a word of Korean or Hindi)."""
    words: Counter[str | None] = Counter()
    for run in _LETTERS.findall(text):
        if run.isascii():
            words[None] += 1
            continue
        script = _script_of_letter(run[0])
        if script is not None and _SCRIPT_WORD[script].fullmatch(run):  # a word of one script (most)
            words[script] += 1
            continue
        before: object = _NO_LETTER
        for char in run:
            if not char.isalpha():  # a mark goes with its letter
                continue
            script = _script_of_letter(char)
            if script != before:
                words[script] += 1
                before = script
    return words


_LETTERS = re.compile(f"(?:[^\\W\\d_][{_MARKS}]*)+")
_NO_LETTER = object()
_SCRIPT_WORD = {name: re.compile(f"(?:[{ranges}][{_MARKS}]*)+") for name, ranges in SPACED_SCRIPTS.items()}
_SCRIPT_STARTS = sorted(
    (int(bounds[0]), int(bounds[-1]), name)
    for name, ranges in SPACED_SCRIPTS.items()
    for bounds in [[ord(c) for c in part] for part in re.findall(".-.", ranges)]
)


def _script_of_letter(char: str) -> str | None:
    """The script of :data:`SPACED_SCRIPTS` ``char`` is in, or ``None``."""
    code = ord(char)
    index = bisect.bisect_right(_SCRIPT_STARTS, (code, 0x110000)) - 1
    return _SCRIPT_STARTS[index][2] if index >= 0 and _SCRIPT_STARTS[index][1] >= code else None


def unspaced_ratio(text: str) -> float:
    """The share of non-space characters in a script written without spaces between words (CJK, Thai,
    Lao, Tibetan, Myanmar, Khmer), in [0, 1] (0 for empty text)."""
    return _share(_UNSPACED_CHAR, text)


def _share(characters: re.Pattern[str], text: str) -> float:
    text = composed(text)  # characters as they are read
    visible = len(text) - sum(c.isspace() for c in text)
    return len(characters.findall(text)) / visible if visible else 0.0


def _ends_a_line(words: list[str]) -> bool:
    """Whether a short line of these words may end its sentence (:data:`SHORT_LINE`)."""
    if not words or _UNSPACED_CHAR.match(words[-1][-1]):  # Chinese wrapped before a number: 北京市第\n101中学
        return not words
    if not any(word[0].islower() for word in words):
        return True
    return not words[-1][0].isupper() and words[-1].lower() not in _JOINING


def paragraph_between(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` holds a paragraph break (a blank line, or Unicode's separator)."""
    return _PARAGRAPH_BREAK.search(text, start, end) is not None


def apart_between(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` parts what is on either side for good: a paragraph break, or a tab or pipe
    between two cells of a table (no dictionary phrase runs across one)."""
    return paragraph_between(text, start, end) or _CELL_BREAK.search(text, start, end) is not None


def line_start(text: str, position: int, since: int = 0) -> int:
    """Where the line that holds ``position`` starts, looked for from ``since`` on (else ``since``)."""
    return max(text.rfind(c, since, position) for c in _LINE_ENDS) + 1 or since


def past_quote_marks(text: str, position: int) -> int:
    """``position``, or where the e-mail quote's marks that hold it end (a span that starts on ``> ``)."""
    for marks in _QUOTE_MARKS.finditer(text, line_start(text, position), position + 1):
        if marks.start() <= position < marks.end():
            return marks.end()
    return position


def shown_between(text: str, start: int, end: int) -> str:
    """What ``text[start:end]`` shows but space, invisible characters and an e-mail's quote marks."""
    pieces, at = [], start
    for marks in _QUOTE_MARKS.finditer(text, start, end):
        pieces.append(text[at : marks.start()])
        at = marks.end()
    return model_form("".join([*pieces, text[at:end]])).strip()


def _unquoted_line(line: str) -> str:
    """A line without an e-mail quote's marks before its text."""
    return line.lstrip(" \t>") if line.lstrip(" \t").startswith(">") else line


def _breaks(text: str, first: int, last: int) -> list[tuple[int, bool]]:
    """(where, whether it ends a sentence whatever follows) of each tab between cells, paragraph break and
    short line's end that tokens starting from ``first`` to ``last`` meet: those that end after ``first``
    and by ``last``, looked for only there (a text routed in a thousand parts is not searched whole a
    thousand times)."""
    cells = [(m.end(), True) for m in _CELL_BREAK.finditer(text, first, last)] if _has_cells(text, first, last) else []
    if not _LINE_BREAK.search(text, first, last):
        return cells
    # A short line that ends past ``first`` starts after the line break before it, at most _WRITTEN_LINE
    # characters back as written (else it is no short line); a paragraph break is all space, so none runs
    # across ``first``.
    line = line_start(text, first, since=max(0, first - _WRITTEN_LINE))
    short_lines = (m for m in _SHORT_LINE_END.finditer(text, line, last) if _short(m.group().rstrip(_LINE_ENDS)))
    end = _LINE_BREAK.search(text, last)
    lines = list(_LINE.finditer(text, line, end.end() if end else len(text)))  # and the line after last's
    records = [line.start() for line in lines if _RECORD_START.match(text, line.start())]
    return sorted(
        cells
        + [(m.end(), True) for m in _PARAGRAPH_BREAK.finditer(text, first, last)]
        + [(m.end(), False) for m in short_lines if _ends_a_line(m.group().split())]
        + [(where, True) for where in _script_changes(text, line, last)]
        + [(where, True) for where in _items(text, lines)]
        + [(where, True) for where in _headings(text, lines)]
        + [(where, True) for where in (records if len(records) > 1 else ())]  # a log, a chat: not one wrapped line
    )


def _headings(text: str, lines: list[re.Match[str]]) -> list[int]:
    """Where each line after a heading, among ``lines``, starts: a heading is a line in title
    case (every word capitalized, but joining words: ``Outlook for Siemens Healthineers``) without a point,
    the first of its paragraph or after a sentence's end, whose next line starts with a capital that would
    have fit on it (the widest line of the paragraph the measure): a line cut short on purpose, not wrapped
    (``The United Nations Security`` wrapped before ``Council`` in a narrow column goes on)."""
    starts: list[int] = []
    for i, (heading, after) in enumerate(itertools.pairwise(lines)):
        line, next_line = _unquoted_line(heading.group()), _unquoted_line(after.group())
        if line.rstrip()[-1:] in _HEADING_NOT_ENDS:  # "" too: a blank line
            continue
        words, next_words = line.split(), next_line.split()
        if not next_words or not next_words[0][0].isupper():
            continue
        if i and not paragraph_between(text, lines[i - 1].end(), heading.start()):
            before = _unquoted_line(lines[i - 1].group()).split()
            if before and before[-1][-1] not in _SENTENCE_END and before[-1] not in _SENTENCE_END:
                continue
        titled = all(w[0].isupper() or not w[0].isalpha() or (j and w in _JOINING) for j, w in enumerate(words))
        titled = titled and line.count("(") == line.count(")")  # an open bracket goes on: ( Jim Herberich , Garrett
        widest = max(len(_unquoted_line(m.group()).rstrip()) for m in lines[i + 1 : i + 4])
        # the next line's first two words would have fit: a PDF's lines in a proportional font fall a word
        # short of the widest (Der Präsident der Deutschen Bundesbank Joachim\nNagel sagte ...)
        if titled and len(line.rstrip()) + 1 + len(" ".join(next_words[:2])) <= widest:
            starts.append(after.start())
    return starts


_HEADING_NOT_ENDS = frozenset(["", *".!?;:,-–—"])
# A line that starts as a log's record or a chat's turn does: a date or a time (syslog's May  1 12:30 too; a chat's
# [10:32] or WhatsApp's 12/03/2024, 10:32 -), a level in capitals, a stack trace's frame (Java's at ...(, Python's
# File "), an exception's cause, a speaker (Maria:, Agent (John):, Slack's John Smith [10:32 AM] on a line of its
# own): each is a sentence of its own where two lines or more start so (one record's or turn's name ran into the
# next's: John Smith\nERROR an ORG, Peter\nMaria a person; prose wrapped before SEVERE WEATHER goes on).
_NAME = r"(?:[A-Z][\w'.-]*[ \t]+){0,3}[A-Z][\w'.-]*"
_CLOCK = r"\[\d\d?:\d\d(?::\d\d)?(?:[ \t]?[AaPp][Mm])?\]"
_RECORD_START = re.compile(
    r"[ \t]*(?:\[?\d{4}-\d\d-\d\d(?=[T ])|\[?\d\d:\d\d:\d\d|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r" [ \d]\d \d\d:\d\d|\[?(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL|SEVERE)\b"
    r"|at [\w$.<>/]+\(|Caused by:|Traceback \(most|File \""
    rf"|{_CLOCK}|\[?\d\d?/\d\d?/\d\d(?:\d\d)?,? \d\d?:\d\d"
    rf"|{_NAME}(?:[ \t]*\([^()\n]{{1,40}}\))?:[ \t]|{_NAME}[ \t]+{_CLOCK}[ \t]*(?=[\r\n]|\Z))"
)


def _has_cells(text: str, first: int, last: int) -> bool:
    return text.find("\t", first, last) >= 0 or text.find("|", first, last) >= 0


def _items(text: str, lines: list[re.Match[str]]) -> list[int]:
    """Where each list item among ``lines`` starts (:data:`_ITEM`): one of a bullet,
    or of two or more lines in a row that start with the same dash, star or plus after a line that ends a
    sentence or a clause with ``:`` (a dash at a line's start after one that goes on is prose wrapped
    before a dash: ``por su parte\n— según el Banco``)."""
    start, stop = (lines[0].start(), lines[-1].end()) if lines else (0, 0)
    if not (
        _ITEM.match(text, start) or _ITEM_AFTER_BREAK.search(text, start, stop) or text.find(">", start, stop) >= 0
    ):
        return []
    starts: list[int] = []
    run: list[int] = []  # the lines of a run of dash items under way
    for i, current in enumerate(lines):
        item = _ITEM.match(_unquoted_line(current.group()))
        dash = item and item.group("dash")
        if item and not dash:
            starts.append(current.start())
            continue
        before = lines[i - 1] if i else None
        adjacent = before is not None and not paragraph_between(text, before.end(), current.start())
        if dash and run and adjacent and _unquoted_line(lines[run[-1]].group()).lstrip()[:1] == dash:
            run.append(i)
            continue
        if len(run) > 1:
            starts += [lines[j].start() for j in run]
        opens = not adjacent or _unquoted_line(before.group()).rstrip()[-1:] in _ITEMS_AFTER  # type: ignore[union-attr]
        run = [i] if dash and opens else []
    if len(run) > 1:
        starts += [lines[j].start() for j in run]
    return starts


_ITEMS_AFTER = frozenset(":.!?;")


def _script_changes(text: str, line: int, last: int) -> list[int]:
    """Where each line that starts after ``line`` and by ``last`` starts whose script is clearly not that of
    the line before (:func:`_line_script`): an English line without a point and a Chinese one are two
    sentences, whatever the next line starts with (李明 has no capital)."""
    if text.isascii():
        return []
    end = last + 1
    meet = _UNSPACED_CHAR.search(text, line, end) or (
        _OTHER_SCRIPT_LETTER.search(text, line, end) and _LATIN_LETTER.search(text, line, end)
    )
    if not meet:  # Latin alone, or another script with spaces alone
        return []
    changes: list[int] = []
    before: object = _MIXED  # the script of the last line with something visible
    for match in _LINE.finditer(text, line):
        if match.start() > last:
            break
        if match.group().isspace():
            continue
        script = _line_script(match.group())
        if _MIXED not in (before, script) and script != before:
            changes.append(match.start())
        before = script
    return changes


_MIXED = object()  # a line in no script by a clear majority


def _line_script(line: str) -> object:
    """The script of ``line``: one of :data:`UNSPACED_SCRIPTS` that two thirds of it is in, counted as
    :func:`unspaced_script` counts (a word of English is one); else, where two thirds are in scripts with
    spaces, Latin (None) where all its letters are, or the one of :data:`SPACED_SCRIPTS` of its letters where
    none is; else :data:`_MIXED` (我用iPhone和MacBook Pro: a line of Chinese wrapped after English words;
    ``…с корпорацией Google``: a Russian sentence wrapped before an English name; a line without letters)."""
    unspaced = len(_UNSPACED_CHAR.findall(line))
    share = unspaced / (unspaced + len(_SPACED_RUN.findall(line)))
    if share >= 2 / 3:
        return unspaced_script(line)
    latin, other = _LATIN_LETTER.search(line), _OTHER_SCRIPT_LETTER.search(line)
    if share > 1 / 3 or (latin is None) == (other is None):
        return _MIXED
    return None if other is None else _script_of_letter(other.group())


def _short(line: str) -> bool:
    """Whether a line is shorter than :data:`SHORT_LINE` characters, counted composed (NFC)."""
    return len(composed(line)) < SHORT_LINE


def split_sentences(
    text: str,
    tokens: list[Token],
    max_tokens: int = 150,
    words: Callable[[list[str]], Iterable[int]] | None = None,
    in_one_case: bool | None = None,
) -> list[list[Token]]:
    """Group ``tokens`` (of ``text``) into sentences.

    A sentence ends at a paragraph break; at a tab between two cells of a table; at a line break between two lines each
    in one script by two thirds (an English line, a Chinese one); at the end of a
    line shorter than :data:`SHORT_LINE` characters that reads as a list's item
    or a table's row, before a capital or a digit; or after sentence-final
    punctuation (a run of it, plus closing quotes and brackets; in Greek text its
    question mark, ``;``) when the next token does not start in lower case (in
    text written all in one case, whatever its case; after ``。`` or another
    script's mark in a sentence with a letter of a script other than Latin,
    whatever it starts with, but never after a ``。`` typed for a point between
    Latin words: ``www。baidu。com``), and, after Latin punctuation, only where a
    space comes first (ASP.NET) or where a sentence of two words or more in a
    script with spaces meets one without (``Place!陈大文``, not ``Yahoo!ニュース``);
    after an abbreviation or an initial (``U.S.``, ``А.``) only before a word that seldom
    follows one inside a sentence (``The``). Sentences longer than ``max_tokens``
    are cut into pieces, at a comma or a space where one is near the limit, and
    never between two tokens of one word (``Microsoft`` in Chinese text read in
    characters; ``do`` and ``n't``; where ``words`` says a word of a dictionary goes on: the indices of
    the tokens that go on with the one before) where another cut can be had. ``in_one_case``: whether the
    text is read as written in one case (None: where its tokens' stretch of it is, :func:`one_case`).
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, not {max_tokens}")
    sentences: list[list[Token]] = []
    current: list[Token] = []
    ended = ""  # the sentence-final mark the tokens so far end with, if they do
    breaks = _breaks(text, tokens[0].start, tokens[-1].start) if tokens else []
    next_break = 0
    # Text in one case (chat, transcripts) says nothing by its capitals: its words are read as capitalized
    # where these rules look for a capital (``he`` as ``He``), with fewer words that start a sentence.
    if in_one_case is None:
        in_one_case = bool(tokens) and one_case(text[tokens[0].start : tokens[-1].end])
    starts, titles = (_ONE_CASE_STARTS, _ONE_CASE_TITLES) if in_one_case else (_SENTENCE_STARTS, _ALL_TITLES)
    greek = bool(tokens) and not text.isascii() and _GREEK_LETTER.search(text, tokens[0].start, tokens[-1].end)
    for token in tokens:
        word = token.text.capitalize() if in_one_case else token.text
        closes = token.text in _CLOSERS or (
            token.text in _TOUCHING_CLOSERS and bool(current) and token.start == current[-1].end
        )
        paragraph = False
        while next_break < len(breaks) and breaks[next_break][0] <= token.start:
            inside = bool(current) and breaks[next_break][0] < current[-1].end  # Euro-\npean, a URL's |
            paragraph = paragraph or (not inside and (breaks[next_break][1] or word[0].isupper() or word[0].isdigit()))
            next_break += 1
        follows = (
            ended
            and not closes
            and token.text not in _SENTENCE_END
            # after 。 (or another script's mark) a word in lower case starts a sentence too: 李明在北京。i met john
            and (not word[0].islower() or (ended not in _SPACED_END and _other_script_in(text, current)))
            and not (ended in _TYPED_POINTS and _typed_point(text, current, token))
            and (ended not in _SPACED_END or token.start > current[-1].end or _script_changes_at(text, current, token))
            and (ended != _ABBREVIATION or word in starts)
        )
        if current and (paragraph or follows):
            sentences.append(current)
            current = []
            ended = ""
        current.append(token)
        if token.text in _SENTENCE_END:
            ended = token.text
        elif greek and token.text in _GREEK_QUESTION and _GREEK_LETTER.search(text, current[0].start, token.start):
            ended = "?"  # Greek writes its question mark as a semicolon
        elif token.text[-1] == "." and token.text[0].isalpha() and word[:-1] not in titles:  # U.S., Inc.
            ended = _ABBREVIATION
        elif ended and not closes:
            ended = ""
    if current:
        sentences.append(current)
    return [piece for sentence in sentences for piece in cut_sentence(sentence, max_tokens, words)]


_LATIN_LETTER = re.compile(f"[{_LATIN}]")
# A letter of a script other than Latin (full-width Latin counts as Latin).
_OTHER_SCRIPT_LETTER = re.compile(r"[^\W\d_\u0000-\u024f\u1e00-\u1eff\uff21-\uff3a\uff41-\uff5a]")
# What follows a 。 typed for a point between Latin words (www。baidu。com, Node。js, li。ming@ibm。com).
_TYPED_POINTS = frozenset({"。", "｡"})
_TYPED_POINT_AFTER = re.compile(
    rf"[a-z0-9]+[。｡@]|(?:{_GENERIC_DOMAINS}|{_COUNTRY_DOMAINS}|js|txt|html?|py|md|pdf|docx?|xlsx?|csv|json|zip)(?![a-z0-9])"
)


def _other_script_in(text: str, sentence: list[Token]) -> bool:
    """Whether ``sentence`` holds a letter of another script than Latin (in Latin text ！ and ； are ! and ;)."""
    return bool(_OTHER_SCRIPT_LETTER.search(text, sentence[0].start, sentence[-1].end))


def _script_changes_at(text: str, sentence: list[Token], token: Token) -> bool:
    """Whether a Latin mark that ends ``sentence``, right before ``token``, ends a sentence in a script with
    spaces, of two words or more, and ``token`` starts one written without (``Place!陈大文``): not a brand's
    mark (``Yahoo!ニュース``), nor one inside Chinese (``他买了iPhone!２０２３年``, ``和.NET``)."""
    mark = sentence[-1]
    return (
        len(sentence) > 2
        and mark.text in _SPACED_END
        and _UNSPACED_CHAR.match(token.text) is not None
        and unspaced_script(text[sentence[0].start : mark.start]) is None
        and _UNSPACED_CHAR.match(sentence[-2].text) is None
    )


def _typed_point(text: str, sentence: list[Token], token: Token) -> bool:
    """Whether the 。 that ends ``sentence`` was typed for a point between Latin words, ``token`` the second
    (www。baidu。com, Node。js, li。ming@ibm。com: a Chinese input method's full stop)."""
    mark = sentence[-1]
    return (
        len(sentence) > 1
        and sentence[-2].end == mark.start == token.start - 1
        and text[mark.start - 1].isascii()
        and text[mark.start - 1].isalnum()
        and _TYPED_POINT_AFTER.match(text, token.start) is not None
    )


# Lowercase letters with no capital of their own (ß, whose capital is SS; º and ª; ﬁ), which text in capitals
# keeps: STRAßE, EL 1º DE MAYO.
_NO_CAPITAL = re.compile(
    f"[{_ranges(range(0x80, 0x10000), lambda c: c.islower() and not (len(c.upper()) == 1 and c.upper() != c))}]"
)


def one_case(text: str) -> bool:
    """Whether ``text`` has cased letters, all of them lowercase or all uppercase but for letters that have no
    capital (each check stops at the first letter of the other case)."""
    return (
        text.islower()
        or text.isupper()
        or (not text.isascii() and _NO_CAPITAL.search(text) is not None and _NO_CAPITAL.sub("", text).isupper())
    )


def cut_sentence(
    sentence: list[Token], max_tokens: int, words: Callable[[list[str]], Iterable[int]] | None = None
) -> list[list[Token]]:
    """``sentence`` in pieces of at most ``max_tokens`` tokens (:func:`cut_points`): at a comma or a space
    near the limit, never between two tokens of one word (or of one of ``words``' words) where another cut
    can be had."""
    if len(sentence) <= max_tokens:  # the common case: no need to look at the tokens
        return [sentence]
    spaced = [a.end < b.start for a, b in zip(sentence, sentence[1:])]
    inside_words = {i for i, joined in enumerate(word_joins(sentence)) if joined}  # Linux in 我在Linux系统
    if words is not None:  # 中国人民银行 in a run of Chinese without a comma
        inside_words.update(words([t.text for t in sentence]))
    cuts = cut_points([t.text for t in sentence], max_tokens, spaced, inside_words)
    return [sentence[start:end] for start, end in cuts]


def cut_points(
    tokens: Sequence[str], max_tokens: int, spaced: Sequence[bool] = (), keep: Collection[int] = ()
) -> list[tuple[int, int]]:
    """``[start, end)`` pieces of at most ``max_tokens`` tokens covering ``tokens`` in order.

    A piece ends after sentence-final punctuation where one lies in the second half of
    the allowed length, else after a comma or semicolon there, else after a token that
    ``spaced`` (``spaced[i]``: a space between tokens ``i`` and ``i + 1``) says a space
    follows (a character model's text in Thai or Khmer, whose phrases spaces separate),
    else at the limit; never before a token whose index is in ``keep`` (inside a
    dictionary's phrase) where another cut can be had.
    """
    pieces, start = [], 0
    while len(tokens) - start > max_tokens:
        window = [i for i in range(start + max_tokens - 1, start + max_tokens // 2, -1) if i + 1 not in keep]
        cut = next((i + 1 for i in window if tokens[i] in _SENTENCE_END), None)
        cut = cut or next((i + 1 for i in window if tokens[i] in _CLAUSE_END), None)
        cut = cut or next((i + 1 for i in window if i < len(spaced) and spaced[i]), None)
        cut = cut or next((c for c in range(start + max_tokens, start, -1) if c not in keep), start + max_tokens)
        pieces.append((start, cut))
        start = cut
    pieces.append((start, len(tokens)))
    return pieces


def offsets_in(text: str, unit: str) -> list[int] | None:
    """Where each code-point offset of ``text`` (0 to ``len(text)``) falls counted in ``unit``: ``utf16``
    code units (the indices of JavaScript, Java and C# strings) or ``utf8`` bytes (Go, Rust); None where
    they are the code points themselves (``code_points``, or ASCII text)."""
    if unit == "code_points" or text.isascii():
        return None
    if unit == "utf16":
        sizes = (1 if ord(char) < 0x10000 else 2 for char in text)
    else:  # a lone surrogate, which the service tags, is three bytes as Python writes it
        sizes = (len(char.encode("utf-8", "surrogatepass")) for char in text)
    return [0, *itertools.accumulate(sizes)]
