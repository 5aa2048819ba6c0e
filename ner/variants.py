"""Characters written in another form (the other Chinese script, the other width): a character model reads
one it does not know as the form it knows.

A model trained on simplified Chinese (MSRA, Resume) has not seen most traditional characters (臺灣, 國, 學):
as unknown characters, they cost it half its F1 on text written in traditional characters. Each such
character has a form in the other script that the model may know (台湾, 国, 学). Before the network reads a
sentence, :meth:`KnownVariants.read` writes every character the model does not know, and knows in the other
script, in the form it knows: one character for one, so tokens, offsets and the text of entities stay as
written. A character the model knows is read as it is.

Some characters belong to both scripts, though the other writes them otherwise too (乾: 干 for "dry",
乾 in 乾隆 and in names; 於: 于, and 於 as a surname), and so do Hong Kong's and Taiwan's own forms (衞
for 衛, Taiwan's 著 for 着, 著 in 著名 everywhere): such a character is read in the form the model knows
only in a sentence that holds a character of the other script alone (任職於: 任职于; 刘乾坤 stays), so that
text in the model's own script reads as before.

Letters, digits and marks of ASCII and their full-width forms (１９９７年, ＩＢＭ, ，) are pairs too: MSRA
writes full-width digits and letters, ResumeNER and most text now ASCII ones; and so are the quotes and
brackets that Taiwan, Hong Kong, Japan and the web write where MSRA writes “” and （）: a model that has not
seen 「王芳」 read its 」 as part of the name.

The pairs of characters are OpenCC's tables (``TSCharacters``, traditional to simplified, and
``STCharacters``, simplified to traditional, after ``HKVariantsRev`` and ``TWVariantsRev``, Hong Kong's and
Taiwan's forms to OpenCC's traditional ones: 衞 as 衛, then 卫), as the ``opencc-python-reimplemented``
package ships them (Apache-2.0). One character may have several forms in the other script (发: 發, 髮): the
first the model knows is taken.
"""

from __future__ import annotations

import functools
from collections.abc import Container, Iterator, Mapping, Sequence
from importlib import resources

SCRIPTS = ("TSCharacters.txt", "STCharacters.txt")  # traditional -> simplified, simplified -> traditional
REGIONS = ("HKVariantsRev.txt", "TWVariantsRev.txt")  # Hong Kong's and Taiwan's forms -> OpenCC's traditional

Forms = dict[str, tuple[str, ...]]


def _pairs(table: str) -> Iterator[tuple[str, list[str]]]:
    """Each character of an OpenCC table and the characters it is written as."""
    text = (resources.files("opencc") / "dictionary" / table).read_text(encoding="utf-8")
    for line in text.splitlines():
        character, _, written = line.partition("\t")
        if len(character) == 1:
            yield character, [form for form in written.split() if len(form) == 1]


@functools.cache
def _regional() -> dict[str, str]:
    """Hong Kong's and Taiwan's own forms -> OpenCC's traditional one (one each in its tables)."""
    return {c: written[0] for table in REGIONS for c, written in _pairs(table) if written and written[0] != c}


@functools.cache
def other_forms() -> tuple[Forms, Forms]:
    """Characters of one script (or region) alone -> their forms in the other, in OpenCC's order; and
    characters of both scripts -> their other forms (乾: 干)."""
    written_as: dict[str, list[str]] = {}
    of_both = set()  # written as themselves too, in either table
    in_scripts = set()  # a character of one script or the other: its region writes it as it is written there
    for table in SCRIPTS:
        for character, written in _pairs(table):
            in_scripts.update(written)
            written_as.setdefault(character, []).extend(written)
            if character in written:
                of_both.add(character)
    alone = {c: found for c, found in written_as.items() if c not in of_both}
    both = {c: found for c, found in written_as.items() if c in of_both}
    for character, standard in _regional().items():
        if character in in_scripts:  # Taiwan's 台 is simplified too
            continue
        # A region's own form not in the tables of scripts is written alike in both (著 in 著名).
        kind = alone if character in alone else both
        kind.setdefault(character, []).extend([standard, *alone.get(standard, ())])

    def distinct(forms: dict[str, list[str]]) -> Forms:
        kept = {c: tuple(f for f in dict.fromkeys(found) if f != c) for c, found in forms.items()}
        return {c: found for c, found in kept.items() if found}

    return distinct(alone), distinct(both)


@functools.cache
def other_widths() -> Forms:
    """ASCII's printable characters -> their full-width forms (U+FF01-U+FF5E), and back."""
    pairs = [(chr(code), chr(code + 0xFEE0)) for code in range(0x21, 0x7F)]
    return {**{half: (full,) for half, full in pairs}, **{full: (half,) for half, full in pairs}}


@functools.cache
def traditional_characters() -> frozenset[str]:
    """The characters of traditional Chinese alone (OpenCC's ``TSCharacters`` but those written as themselves
    in simplified text too, such as 乾)."""
    return frozenset(c for c, written in _pairs(SCRIPTS[0]) if written and c not in written)


@functools.cache
def simplified_forms() -> dict[int, str]:
    """A ``str.translate`` table from each character of :func:`traditional_characters` and of Hong Kong's and
    Taiwan's own forms (衞) to its simplified form, one character for one. Those own forms include characters
    of simplified text (Taiwan's 著 for 着): apply it to a text with a traditional character alone."""
    simplified = {c: written[0] for c, written in _pairs(SCRIPTS[0]) if c in traditional_characters()}
    for character, standard in _regional().items():
        simplified.setdefault(character, simplified.get(standard, standard))
    return {ord(character): form for character, form in simplified.items() if form != character}


# Quotes and brackets -> the forms a corpus of mainland text more likely writes, in order.
BRACKETS: Forms = {
    "「": ("“", '"'),
    "」": ("”", '"'),
    "『": ("‘", "“", "'"),
    "』": ("’", "”", "'"),
    "﹁": ("“", '"'),
    "﹂": ("”", '"'),
    "【": ("[", "（", "("),
    "】": ("]", "）", ")"),
    "〔": ("（", "("),
    "〕": ("）", ")"),
    "〖": ("[", "（", "("),
    "〗": ("]", "）", ")"),
    "〈": ("《", "<"),
    "〉": ("》", ">"),
}


def _known_form(forms: Mapping[str, tuple[str, ...]], known: Container[str]) -> dict[str, str]:
    """Each character of ``forms`` not in ``known`` with a form in it -> the first such form."""
    return {
        character: next(f for f in found if f in known)
        for character, found in forms.items()
        if character not in known and any(f in known for f in found)
    }


class KnownVariants:
    """The characters a model does not know but knows in another form, and the form it knows: those of one
    script alone (:attr:`forms`), those of both (:attr:`shared`), and those of the other width or another
    region's quotes and brackets (:attr:`widths`)."""

    def __init__(self, known: Container[str]) -> None:
        alone, both = other_forms()
        self.forms, self.shared = _known_form(alone, known), _known_form(both, known)
        self.widths = _known_form({**other_widths(), **BRACKETS}, known)
        self._always = {**self.widths, **self.forms}

    def read(self, sentences: Sequence[Sequence[str]]) -> Sequence[Sequence[str]]:
        """``sentences`` of characters with each character of :attr:`forms` and :attr:`widths` in the form the
        model knows, and in a sentence with one of :attr:`forms`, each of :attr:`shared` too; ``sentences``
        itself where none has one."""
        always, other_script, shared = self._always, self.forms.keys(), self.shared
        read: list[Sequence[str]] = []
        changed = False
        for sentence in sentences:
            if always.keys().isdisjoint(sentence):
                read.append(sentence)
                continue
            changed = True
            if other_script.isdisjoint(sentence):
                read.append([always.get(c, c) for c in sentence])
            else:
                read.append([always.get(c) or shared.get(c, c) for c in sentence])
        return read if changed else sentences


_NARROW = {ord(full): half for full, (half,) in other_widths().items() if ord(full) > 0x7F}


class KnownWidths:
    """A word model's tokens it does not know as written but holding full-width letters, digits or marks
    (Ｇｏｏｇｌｅ, ２００８, as Chinese and Japanese input methods write them): read in ASCII."""

    def __init__(self, known: Container[str]) -> None:
        self.known = known  # the model's words, lowercase

    def read(self, sentences: Sequence[Sequence[str]]) -> Sequence[Sequence[str]]:
        """``sentences`` of words with each such token in ASCII; ``sentences`` itself where none has one."""
        read: list[Sequence[str]] = []
        changed = False
        for sentence in sentences:
            if all(map(str.isascii, sentence)):
                read.append(sentence)
                continue
            narrowed = [self._narrow(token) for token in sentence]
            changed = changed or narrowed != sentence
            read.append(narrowed)
        return read if changed else sentences

    def _narrow(self, token: str) -> str:
        if token.isascii() or token.lower() in self.known:
            return token
        return token.translate(_NARROW)
