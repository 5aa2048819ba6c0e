"""Corpus files as text: UTF-8, or the legacy encoding their bytes read best in (for Latin text, the code page
of its language)."""

from __future__ import annotations

import codecs
import gzip
import io
import logging
import unicodedata
import zlib
from pathlib import Path

from ner.corpus.notes import note
from ner.corpus.sentence import CorpusError

# The legacy encodings annotated corpora come in: Western European (a superset of Latin-1), Cyrillic, Greek,
# Hebrew, Arabic, Thai, Simplified and Traditional Chinese, Japanese, Korean. Windows' other Latin code pages
# (Central European, Turkish, Baltic) and KOI8-R are tried when none of those reads a file, or when the text's
# language is written in them (:data:`LANGUAGE_CODE_PAGES`): their bytes read as plausibly as Western European
# text's, so that Spanish read as Central European turns ñ into ń.
LEGACY_ENCODINGS = ("cp1252", "cp1251", "cp1253", "cp1255", "cp1256", "cp874", "gb18030", "big5", "shift_jis", "euc_kr")
GZIP_MAGIC = b"\x1f\x8b"
GZIP_RATIO = 100  # a gzip file may inflate to this many times its size, or to MIN_GZIP_LIMIT bytes
MIN_GZIP_LIMIT = 64_000_000
FALLBACK_ENCODINGS = ("cp1250", "koi8_r", "cp1257", "cp1254")
# A reading in which more of the non-ASCII words than this mix two alphabets (Müller read as Cyrillic: Mьller)
# is the wrong one.
MAX_MIXED_ALPHABET_WORDS = 0.05
# The share of a file's words (tags included) that must be non-ASCII for them to be read on their own.
MIN_FOREIGN_WORDS = 0.1
# The languages of Central Europe, Turkey, the Baltic and a few of Western Europe, each with its letters beyond
# ASCII (lower case) and the code pages it was written in: Windows' and ISO's (Unix-era Czech and Polish corpora
# are ISO-8859-2, which puts š where Windows-1250 has ą). Such text often reads in Western European too, wrongly
# (Předseda as Pøedseda, yaşayan as yaþayan); py3langid tells its language even so, and the reading that gives
# most of its characters beyond ASCII as the language's own letters is the right one. ISO-8859-15 is Latin-1
# with œ, š, ž, Ÿ and € where Latin-1 has ½, ¨, ¸, ¾ and ¤: French, Finnish and Estonian text in it reads as
# Western European but for those letters.
_CENTRAL, _TURKISH, _BALTIC = ("cp1250", "iso8859_2"), ("cp1254", "iso8859_9"), ("cp1257", "iso8859_13")
_LATIN_9 = ("iso8859_15",)
LANGUAGE_CODE_PAGES = {
    "cs": ("áčďéěíňóřšťúůýž", _CENTRAL),
    "sk": ("áäčďéíĺľňóôŕšťúýž", _CENTRAL),
    "pl": ("ąćęłńóśźż", _CENTRAL),
    "hu": ("áéíóöőúüű", _CENTRAL),
    "sl": ("čšž", _CENTRAL),
    "hr": ("čćđšž", _CENTRAL),
    "bs": ("čćđšž", _CENTRAL),
    "ro": ("ăâîşţșț", _CENTRAL),
    "tr": ("çğıİöşü", _TURKISH),
    "az": ("çəğıİöşü", _TURKISH),
    "lt": ("ąčęėįšųūž", _BALTIC),
    "lv": ("āčēģīķļņšūž", _BALTIC),
    "et": ("äõöüšž", _BALTIC + _LATIN_9),
    "fi": ("äåöšž", _LATIN_9),
    "fr": ("àâæçéèêëîïôœùûüÿ", _LATIN_9),
}
# Byte-order marks of UTF-32 and UTF-16 (Windows PowerShell's > writes UTF-16), UTF-32's first: it starts as UTF-16's.
_UNICODE_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SYMBOLS = frozenset({"Sm", "So", "Sk", "No"})
_ALPHABETS = frozenset({"LATIN", "CYRILLIC", "GREEK", "HEBREW", "ARABIC", "THAI"})


def read_text(path: str | Path, keep_line_ends: bool = False) -> str:
    """The text of a corpus file, read once: UTF-8 (a byte-order mark skipped), UTF-16 or UTF-32 with
    their byte-order mark, or, for a file that is none of them, the one of :data:`LEGACY_ENCODINGS` its
    bytes read best in (``charset-normalizer``) or, for Latin text, the code page of its language, said
    in the log; a file that reads in none of them is refused. Line ends become ``"\\n"`` unless kept."""
    data = read_bytes(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = _marked_text(path, data) or _legacy_text(path, data)
    if keep_line_ends or "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_bytes(path: str | Path) -> bytes:
    """The bytes of a corpus file, decompressed when it is gzip-compressed (whatever its name)."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise CorpusError(path, None, f"cannot open: {error.strerror}") from None
    if not data.startswith(GZIP_MAGIC):
        return data
    limit = max(MIN_GZIP_LIMIT, GZIP_RATIO * len(data))  # text inflates 3 to 10 times; a bomb a thousand
    parts, size = [], 0
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as compressed:
            while part := compressed.read(1 << 24):  # in parts: read(limit) would set aside the whole limit
                size += len(part)
                if size > limit:
                    message = f"a gzip file inflating past {limit:,} bytes, over {GZIP_RATIO} times its size"
                    raise CorpusError(path, None, message)
                parts.append(part)
    except (OSError, EOFError, zlib.error) as error:
        raise CorpusError(path, None, f"a damaged gzip file: {error}") from None
    note(logging.INFO, path, "read as gzip-compressed")
    return b"".join(parts)


def _marked_text(path: str | Path, data: bytes) -> str | None:
    """``data`` in the UTF-16 or UTF-32 its byte-order mark names, else ``None``."""
    encoding = next((encoding for mark, encoding in _UNICODE_MARKS if data.startswith(mark)), None)
    if encoding is None:
        return None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        reason = f"not {encoding.upper()} text as its byte-order mark says (invalid bytes at offset {error.start})"
        raise CorpusError(path, None, reason) from None
    note(logging.INFO, path, "read as %s, as its byte-order mark says", encoding.upper())
    return text.removeprefix("\ufeff")


def _legacy_text(path: str | Path, data: bytes) -> str:
    """``data`` in the first of ``charset-normalizer``'s readings among :data:`LEGACY_ENCODINGS`, best
    first, whose words keep to one alphabet each, or failing that among :data:`FALLBACK_ENCODINGS`. A
    corpus file's columns of ASCII tags beside each Cyrillic or Greek word read to it as noise, so when
    the whole file finds no reading, its non-ASCII words alone are read, if they are more than a few
    stray bytes."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        raise _not_utf8(path, data) from None
    for encodings, symbols_allowed in ((LEGACY_ENCODINGS, 1.0), (FALLBACK_ENCODINGS, MAX_MIXED_ALPHABET_WORDS)):
        matches = list(from_bytes(data, cp_isolation=list(encodings)))
        if not matches:
            words = data.split()
            foreign = [word for word in words if not word.isascii()]
            if len(foreign) >= MIN_FOREIGN_WORDS * len(words):  # not a few stray bytes
                matches = list(from_bytes(b" ".join(foreign), cp_isolation=list(encodings)))
        for match in matches:
            try:
                text = data.decode(match.encoding)
            except UnicodeDecodeError:  # a reading of the words alone that the whole file does not allow
                continue
            if _mixed_alphabet_share(text) <= MAX_MIXED_ALPHABET_WORDS and _symbol_share(text) <= symbols_allowed:
                return _language_reading(path, data, text, match.encoding)
    raise _not_utf8(path, data)


def _language_reading(path: str | Path, data: bytes, text: str, encoding: str) -> str:
    """``text``, ``data`` read in ``encoding``, or, when the text's language is one of
    :data:`LANGUAGE_CODE_PAGES`, ``data`` read in the code page of that language that gives more of its
    characters beyond ASCII as the language's letters (Polish in ISO-8859-2 reads best as Arabic)."""
    language = _language(text)
    letters, pages = LANGUAGE_CODE_PAGES.get(language, ("", ()))
    best, best_page, best_share = text, encoding, _letter_share(text, letters)
    for page in pages:
        if page == encoding:  # the reading already in hand
            continue
        try:
            reading = data.decode(page)
        except UnicodeDecodeError:  # a byte that code page lacks: not written in it
            continue
        share = _letter_share(reading, letters)
        if share > best_share:
            best, best_page, best_share = reading, page, share
    if best_page == encoding:
        note(logging.WARNING, path, "not UTF-8: read as %s, the encoding its bytes read best in", encoding)
    else:
        note(
            logging.WARNING,
            path,
            "not UTF-8: read as %s, a code page of its language (%s, identified by py3langid), in which more of "
            "its characters are that language's letters than in %s",
            *(best_page, language, encoding),
        )
    return best


def _letter_share(text: str, letters: str) -> float:
    """The share of ``text``'s characters beyond ASCII (spaces aside) that are among ``letters``, in either case."""
    foreign = [c for c in text if not c.isascii() and not c.isspace()]
    return sum(c in letters or c.lower() in letters for c in foreign) / len(foreign) if foreign else 0.0


def _language(text: str) -> str:
    """The language of ``text`` by py3langid, or ``""`` without it."""
    try:
        import py3langid
    except ImportError:
        return ""
    try:
        return py3langid.classify(text[:100_000])[0]
    except OSError:  # its model is unpacked into the temporary folder first, which may not be writable
        return ""


def _symbol_share(text: str) -> float:
    """The share of non-ASCII words holding a symbol (box drawing, ≤, ¹): KOI8-R reads any bytes, and
    bytes that are not KOI8-R read as such words."""
    words = [word for word in text.split() if not word.isascii()]
    marked = sum(any(unicodedata.category(c) in _SYMBOLS for c in word if not c.isascii()) for word in words)
    return marked / len(words) if words else 0.0


def _mixed_alphabet_share(text: str) -> float:
    """The share of non-ASCII words whose letters come from two or more of :data:`_ALPHABETS`."""
    words = [word for word in text.split() if not word.isascii()]
    mixed = sum(
        len({unicodedata.name(c, "").partition(" ")[0] for c in w if c.isalpha()} & _ALPHABETS) > 1 for w in words
    )
    return mixed / len(words) if words else 0.0


def _not_utf8(path: str | Path, data: bytes) -> CorpusError:
    """The error for a file that is not UTF-8, at the line and byte of the first bad byte."""
    try:
        data.decode("utf-8")
        offset = len(data)
    except UnicodeDecodeError as error:
        offset = error.start
    line = data.count(b"\n", 0, offset) + 1
    return CorpusError(
        path,
        line,
        f"not UTF-8 text (invalid byte at offset {offset}), nor {', '.join(LEGACY_ENCODINGS + FALLBACK_ENCODINGS)}; "
        "convert it, e.g. iconv -f latin1 -t utf-8",
    )
