"""Chinese characters written in the other script: a character model reads one it does not know as the form
it knows.

A model trained on simplified Chinese (MSRA, Resume) has not seen most traditional characters (臺灣, 國, 學):
as unknown characters, they cost it half its F1 on text written in traditional characters. Each such
character has a form in the other script that the model may know (台湾, 国, 学). Before the network reads a
sentence, :meth:`KnownVariants.read` writes every character the model does not know, and knows in the other
script, in the form it knows: one character for one, so tokens, offsets and the text of entities stay as
written. A character the model knows is read as it is, so text in the model's own script reads as before.

The pairs of characters are OpenCC's tables (``TSCharacters``, traditional to simplified, and
``STCharacters``, simplified to traditional), as the ``opencc-python-reimplemented`` package ships them
(Apache-2.0); one character may have several forms in the other script (乾, 干), and the first the model
knows is taken.
"""

from __future__ import annotations

import functools
from collections.abc import Container, Sequence
from importlib import resources

TABLES = ("TSCharacters.txt", "STCharacters.txt")


@functools.cache
def other_forms() -> dict[str, tuple[str, ...]]:
    """Each character of OpenCC's tables -> its forms in the other script (a character of both scripts, such
    as 干, is in both tables: its forms in either)."""
    forms: dict[str, list[str]] = {}
    for table in TABLES:
        text = (resources.files("opencc") / "dictionary" / table).read_text(encoding="utf-8")
        for line in text.splitlines():
            character, _, written = line.partition("\t")
            if len(character) == 1 and written:
                forms.setdefault(character, []).extend(f for f in written.split() if len(f) == 1 and f != character)
    return {character: tuple(dict.fromkeys(found)) for character, found in forms.items() if found}


class KnownVariants:
    """The characters a model does not know but knows in the other script, and the form it knows."""

    def __init__(self, known: Container[str]) -> None:
        self.forms = {
            character: next(f for f in found if f in known)
            for character, found in other_forms().items()
            if character not in known and any(f in known for f in found)
        }

    def read(self, sentences: Sequence[Sequence[str]]) -> Sequence[Sequence[str]]:
        """``sentences`` of characters with each character of :attr:`forms` in the form the model knows;
        ``sentences`` itself where none has one."""
        known_in_other = self.forms.keys()
        if all(known_in_other.isdisjoint(sentence) for sentence in sentences):
            return sentences
        get = self.forms.get
        return [s if known_in_other.isdisjoint(s) else [get(c, c) for c in s] for s in sentences]
