"""Users' dictionaries: phrases forced to a label (or kept from being an entity) at tagging time.

A :class:`Dictionary` maps phrases to labels; the label ``O`` blocks a phrase:
none of its tokens belongs to an entity. Its phrases are matched in each
sentence longest first and left to right, without overlaps, on token
boundaries (a word model's tokens, a character model's characters, but never inside a word of a
script written with spaces: ``AI`` is not in ``OpenAI``), read as
the model reads them (a soft hyphen or zero-width space inside a word does not
stop a match), case sensitive unless ``ignore_case``. Each match becomes a
constraint on the CRF decode: the tokens of a phrase forced to ``X`` must read
``S-X`` or ``B-X I-X ... E-X``, those of a blocked phrase ``O``. The tags
around a match stay a valid, most probable sequence, and entity scores and
n-best are those of the paths that satisfy every constraint
(:func:`ner.crf.constrain`).

Phrases are matched within a sentence, and sentences are never split inside a
phrase (:meth:`ner.tagger.Tagger.analyze`); a phrase is tokenized as the model
tokenizes text, so ``New York`` matches the tokens ``New``, ``York``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import orjson

from ner.text import model_form

BLOCK = "O"
NODE_BYTES = 270  # a trie node's memory, at most: a dict and its key in its parent's
ENTRY_BYTES = 100  # an entry's beyond its two strings: its slot and hash in the mapping
MAX_PHRASE_CHARS = 1_000  # of a phrase in a dictionary file
log = logging.getLogger("ner")


class DictionaryError(ValueError):
    """A dictionary that cannot be used: an unknown label, an empty phrase, a bad file line."""


class DictionaryTooLarge(DictionaryError):
    """A dictionary whose phrases make more trie nodes than it may hold (``max_nodes``)."""


def entries_bytes(entries: Mapping[str, str]) -> int:
    """About what ``entries`` hold in memory: their strings as Python stores them (4 bytes a character in
    one that holds a character beyond the Basic Multilingual Plane) and each entry's slot."""
    return sum(sys.getsizeof(phrase) + sys.getsizeof(label) + ENTRY_BYTES for phrase, label in entries.items())


def _quoted(text: str, most: int = 40) -> str:
    """``text`` as a log line may quote it: escaped (no line break or terminal control), cut short."""
    return repr(text[:most]) + ("..." if len(text) > most else "")


def check_labels(entries: Mapping[str, str], labels: Iterable[str], holder: str = "the model") -> None:
    """Raise :class:`DictionaryError` naming every label of ``entries`` that ``labels`` (those of ``holder``)
    lack."""
    labels = set(labels)
    if unknown := sorted(set(entries.values()) - {BLOCK} - labels):
        raise DictionaryError(f"labels not in {holder}: {unknown}; known: {sorted(labels)} (and O)")


def entries_for(entries: Mapping[str, str], labels: Iterable[str]) -> dict[str, str]:
    """The entries of ``labels`` among ``entries``, and every blocked phrase: what a model of those labels
    takes of a dictionary made for several."""
    labels = set(labels)
    return {phrase: label for phrase, label in entries.items() if label == BLOCK or label in labels}


_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}  # ！ to ～: ! to ~


class Dictionary:
    """Phrases (as token sequences) with labels, in a trie for longest-first matching.

    Instances compare by identity, so they can sit in the (hashable) tagging options.
    """

    def __init__(
        self,
        entries: Mapping[str, str],
        tokenize: Callable[[str], list[str]],
        ignore_case: bool = False,
        other_cuts: Callable[[str], list[list[str]]] | None = None,
        over: Dictionary | None = None,
        max_nodes: int | None = None,
        characters: bool = False,
    ) -> None:
        """``tokenize`` cuts a phrase as at the start of a text; ``other_cuts`` (when given) gives the other
        ways text may cut it (in the middle of a text, ``2. Bundesliga`` is ``2``, ``.``, not a list item's
        number; before a point, ``Acme Corp`` is ``Acme``, ``Corp.``); a phrase matches cut any of these ways.

        ``over`` is a dictionary these entries are laid over (a configured file's, under a request's): its
        phrases match too, as if its entries and these were one mapping with these winning, but it is not
        built again; a phrase of these also wins over one of its phrases that reads alike (``ignore_case``)
        and over its other cuts as long. Its ``ignore_case`` must be this one's.

        ``max_nodes`` bounds the trie (its memory, about 160 to 270 bytes a node: a node per phrase token,
        but those a phrase shares with the start of one before it, and per token of its other cuts):
        :class:`DictionaryTooLarge` is raised as soon as one more node than that is needed.

        ``characters``: ``tokenize`` cuts characters (a character model's), so that where case is ignored a
        character that folds into several (``ß``: ``ss``) matches them as characters (``SS``)."""
        if over is not None and (over.ignore_case, over.spelt_out) != (ignore_case, ignore_case and characters):
            raise ValueError("a dictionary laid over another ignores case, and reads characters, as that one does")
        self.ignore_case = ignore_case
        self.spelt_out = ignore_case and characters
        self.entries = dict(entries)  # this dictionary's own, not those of the one it is over
        self.over = over
        self._trie: dict = {}
        self._ends: dict[tuple[str, bool], tuple[str, bool]] = {}  # (label, exact) as stored, one tuple each
        self._longest = 0
        self.nodes = 0  # of the trie, one per distinct phrase prefix: its memory, about 160 to 270 bytes each
        self.max_nodes = max_nodes
        self.made_for: str | None = None  # the model whose tokens it was cut into, by Tagger.dictionary
        self.superseded = False  # a configured file's no longer pinned (read again), by Tagger.dictionary
        written: dict[tuple[str, ...], str] = {}  # the phrase each token sequence was last written as
        self.clashes: list[tuple[str, str]] = []  # (earlier, later) phrases read alike, with other labels
        for phrase, label in self.entries.items():
            if not label or (label != BLOCK and not label.strip()):
                raise DictionaryError(f"phrase {phrase!r} has an empty label")
            exact = tuple(self._keys(tokenize(phrase))[0])
            if not exact:
                raise DictionaryError(f"phrase {phrase!r} has no tokens")
            if (earlier := written.get(exact)) is not None and self.entries[earlier] != label:
                self.clashes.append((earlier, phrase))
            written[exact] = phrase
            self._insert(exact, label, exact=True)
            for cut in {tuple(self._keys(cut)[0]) for cut in (other_cuts(phrase) if other_cuts else [])}:
                if cut and cut != exact:
                    self._insert(cut, label, exact=False)
        if self.clashes:
            shown = "; ".join(
                f"{_quoted(a)} ({_quoted(self.entries[a])}) then {_quoted(b)} ({_quoted(self.entries[b])})"
                for a, b in self.clashes[:3]
            )
            log.warning(
                "dictionary: %d phrases read as an earlier one%s with another label, the later label wins: %s%s",
                len(self.clashes),
                " (case ignored)" if ignore_case else "",
                shown,
                "; ..." if len(self.clashes) > 3 else "",
            )
        self.held_bytes = self.nodes * NODE_BYTES + entries_bytes(self.entries)  # its own, not the one's it is over

    def _insert(self, tokens: tuple[str, ...], label: str, exact: bool) -> None:
        """Put a phrase's cut in the trie; another cut never takes the place of a phrase as it is written."""
        node = self._trie
        for token in tokens:
            child = node.get(token)
            if child is None:
                if self.nodes == self.max_nodes:
                    raise DictionaryTooLarge(
                        f"the dictionary's phrases make over {self.max_nodes:,} trie nodes (a node for each "
                        "token, but those a phrase shares with the start of another, and for their other cuts)"
                    )
                child = node[token] = {}
                self.nodes += 1
            node = child
        if exact or None not in node:  # the key None marks the end of a phrase: (label, exact)
            node[None] = self._ends.setdefault((label, exact), (label, exact))
        self._longest = max(self._longest, len(tokens))

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:
        """Whether it holds any phrase, its own or those of the one it is over."""
        return bool(self.entries) or bool(self.over)

    def _key(self, token: str) -> str:
        """A token as phrases and text are compared: as the model reads it (Micro\u200bsoft is Microsoft),
        composed (an accent typed apart is the accented letter), full-width forms as ASCII (ＡＢＣ is ABC, as
        Chinese and Japanese input methods type it), and folded when case is ignored (STRASSE is Straße;
        İstanbul is istanbul; IĞDIR is Iğdır, Turkish dotless ı read as i)."""
        token = model_form(token)  # composed too
        if not token.isascii():
            token = token.translate(_HALF_WIDTH)
        return token.casefold().replace("i\u0307", "i").replace("ı", "i") if self.ignore_case else token

    def _keys(self, tokens: Sequence[str]) -> tuple[list[str], list[int] | None]:
        """The keys of ``tokens``, and, where :attr:`spelt_out` and a character folds into several (``ß``,
        ``ss`` folded, as ``SS`` is two characters; ``ǰ``, a ``j`` and a caron), one key per folded character,
        with the index of the token each comes from (else None: a key per token)."""
        keys = [self._key(token) for token in tokens]
        if not self.spelt_out or all(len(key) == 1 for key in keys):
            return keys, None
        spelt: list[str] = []
        owner: list[int] = []
        for i, key in enumerate(keys):
            spelt += key
            owner += [i] * len(key)
        return spelt, owner

    @property
    def labels(self) -> set[str]:
        return set(self.entries.values()) - {BLOCK}

    def matches(self, tokens: Sequence[str], joins: Sequence[bool] | None = None) -> list[tuple[int, int, str]]:
        """``(start, end, label)`` of the phrases in ``tokens`` (this dictionary's and those of the one it is
        over): longest first, left to right, no overlaps. Of two phrases as long, one as written wins over
        another cut of a phrase, then this dictionary's over the other's. ``joins`` (a character model's,
        :func:`ner.text.word_joins`, one flag per token and, where known, one more for the token after) marks the
        tokens that go on with the word of the one before: no phrase starts or ends inside a word (``Li``
        is not in ``Linux``), also where the text was cut into sentences or pieces."""
        keys, owner = self._keys(tokens)
        if owner is not None:  # a folded character spelt out: its keys after the first go on with it
            flags = list(joins or [])
            spelt = [(i > 0 and owner[i - 1] == t) or (t < len(flags) and flags[t]) for i, t in enumerate(owner)]
            spans = self._matches(keys, [*spelt, len(flags) > len(tokens) and flags[len(tokens)]])
            return [(owner[start], owner[end - 1] + 1, label) for start, end, label in spans]
        return self._matches(keys, joins)

    def _matches(self, keys: Sequence[str], joins: Sequence[bool] | None) -> list[tuple[int, int, str]]:
        """:meth:`matches` over the keys of tokens, ``joins`` one flag per key (and one more, where known)."""
        layers = [self._trie] if self.over is None else [self._trie, self.over._trie]
        longest = max(self._longest, self.over._longest if self.over is not None else 0)
        found = []
        start = 0
        while start < len(keys):
            if joins is not None and joins[start]:
                start += 1
                continue
            best: tuple[int, bool, int, str] | None = None  # end, exact, layer (0 for this one), label
            for layer, trie in enumerate(layers):
                node = trie
                for end in range(start, min(len(keys), start + longest)):
                    node = node.get(keys[end])
                    if node is None:
                        break
                    if None in node and (joins is None or end + 1 == len(joins) or not joins[end + 1]):
                        label, exact = node[None]
                        if best is None or (end + 1, exact, -layer) > (best[0], best[1], -best[2]):
                            best = (end + 1, exact, layer, label)
            if best is None:
                start += 1
            else:
                found.append((start, best[0], best[3]))
                start = best[0]
        return found

    def allowed(
        self,
        sentences: Sequence[Sequence[str]],
        width: int,
        tags: Sequence[str],
        joins: Sequence[Sequence[bool]] | None = None,
    ) -> np.ndarray | None:
        """Which tags each token may take, ``(B, width, K)`` bool, or None when nothing matches; ``joins``
        as :meth:`matches` takes them, one list per sentence."""
        index = {t: i for i, t in enumerate(tags)}
        allowed = None
        for row, sentence in enumerate(sentences):
            for start, end, label in self.matches(sentence, joins[row] if joins is not None else None):
                if allowed is None:
                    allowed = np.ones((len(sentences), width, len(tags)), dtype=bool)
                allowed[row, start:end] = False
                if label == BLOCK:
                    allowed[row, start:end, index["O"]] = True
                elif end - start == 1:
                    allowed[row, start, index[f"S-{label}"]] = True
                else:
                    allowed[row, start, index[f"B-{label}"]] = True
                    allowed[row, start + 1 : end - 1, index[f"I-{label}"]] = True
                    allowed[row, end - 1, index[f"E-{label}"]] = True
        return allowed


class EntriesKey:
    """A mapping's entries as a cache key, cheap enough to build for every request, small enough to keep.

    Hashing ``frozenset(entries.items())`` hashes a new tuple per entry, and so does every comparison
    with a cached key; this serializes the entries once, in order, to JSON bytes with orjson (1,000
    entries: about 20 µs; entries orjson cannot encode, lone surrogates, are escaped by :mod:`json`) and
    keeps their BLAKE2 digest, 32 bytes however many the entries. Equal when the entries are equal in
    the same order (two digests of other entries alike: about one chance in 2^256).
    """

    __slots__ = ("_digest", "_hash", "_size")

    def __init__(self, entries: Mapping[str, str]) -> None:
        entries = entries if isinstance(entries, dict) else dict(entries)  # any Mapping
        try:
            content = orjson.dumps(entries)
        except orjson.JSONEncodeError:  # escaped by the standard library instead; values not yet checked
            content = json.dumps(entries, ensure_ascii=True).encode()
        self._digest = hashlib.blake2b(content, digest_size=32).digest()
        self._hash = hash(self._digest)
        self._size = len(content)

    def __hash__(self) -> int:
        return self._hash

    def __len__(self) -> int:
        """The entries' size as JSON, in bytes."""
        return self._size

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EntriesKey) and self._digest == other._digest


def read_tsv(text: str, source: str = "") -> dict[str, str]:
    """``phrase<TAB>LABEL`` lines (of the file ``source``, named in warnings) as a mapping; blank lines and
    ``#`` comments (an entry commented out too) are skipped. A phrase that starts with ``#`` is written
    ``\\#``: ``\\#MeToo<TAB>MISC``."""
    entries: dict[str, str] = {}
    line_of: dict[str, int] = {}
    relabelled: list[str] = []  # 'line N: ...' for each phrase given again with another label
    for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        row = line.removesuffix("\r").split("\t")
        if not "".join(row).strip() or line.startswith("#"):
            continue
        if len(row) != 2 or not model_form(row[0]).strip() or not row[1].strip():  # a phrase shows something
            raise DictionaryError(f"line {number}: expected 'phrase<TAB>LABEL', found {row!r}")
        phrase, label = row[0].strip(), row[1].strip()
        phrase = phrase.removeprefix("\\") if phrase.startswith("\\#") else phrase
        if len(phrase) > MAX_PHRASE_CHARS:  # no name runs so long; matching it would take memory for nothing
            raise DictionaryError(
                f"line {number}: a phrase of {len(phrase):,} characters (at most {MAX_PHRASE_CHARS:,})"
            )
        if phrase in entries and entries[phrase] != label:
            relabelled.append(f"line {number}: {phrase!r} again with another label, {label} ({entries[phrase]} on "
                              f"line {line_of[phrase]})")  # fmt: skip
        entries[phrase], line_of[phrase] = label, number
    if relabelled:
        more = f"; and {len(relabelled) - 3} more" if len(relabelled) > 3 else ""
        log.warning("%s%s%s: the later wins", f"{source}: " if source else "", "; ".join(relabelled[:3]), more)
    return entries


class DictionaryFile:
    """A dictionary file that is read again when it changes (checked at most once a ``recheck_s``), once
    it has stayed unchanged that long (a file being written in place is not read half-written). A
    reading that fails keeps the last good one and is logged once: a bad line or a label not in
    ``labels`` is not read again until the file changes; a file that cannot be read (its permissions,
    no file handles left) is tried at each check. One reading at a time."""

    def __init__(self, path: str | Path, recheck_s: float = 1.0, labels: Iterable[str] | None = None) -> None:
        self.path = Path(path)
        self.recheck_s = recheck_s
        if isinstance(labels, str):  # "ORG" would be the labels O, R and G
            raise TypeError("labels: a list of labels, not one string")
        self.labels = None if labels is None else list(labels)  # the model's: a file with others is refused
        # (inode, modified ns, size, changed ns) of the reading served: a file renamed over it or a new mode is
        # looked at again, whatever its modification time says (cp -p, rsync -t keep it)
        self._stamp: tuple[int, ...] | None = None
        self._seen: object = None  # the stamp at the last check: a file changing still is read at the next
        self._failed: object = None  # what the last failed reading failed on: logged once; a stamp: not tried again
        self._checked = -math.inf
        self._reading = threading.Lock()
        self.latest: tuple[int, dict[str, str]] = (0, {})  # (readings so far, the last good one's entries)
        self.entries()  # a bad file is an error at once, not at the first request

    @property
    def version(self) -> int:
        """Counts the file's good readings."""
        return self.latest[0]

    def entries(self) -> dict[str, str]:
        """The file's entries as they are now (read again here when a check is due)."""
        if self._due():
            self._check()
        return self.latest[1]

    def check_soon(self) -> None:
        """Check the file in a thread when a check is due: a caller on an event loop goes on meanwhile
        with :attr:`latest` as it is."""
        if self._due() and not self._reading.locked():
            self._checked = time.monotonic()
            threading.Thread(target=self._check, name=f"dictionary {self.path.name}", daemon=True).start()

    def _due(self) -> bool:
        return time.monotonic() - self._checked >= self.recheck_s

    def _check(self) -> None:
        if not self._reading.acquire(blocking=False):  # another thread is reading it
            return
        try:
            self._checked = time.monotonic()
            try:
                status = self.path.stat()
            except OSError as error:
                self._fail(DictionaryError(f"{self.path}: {error}"), ("stat", error.errno))
                return
            stamp = (status.st_ino, status.st_mtime_ns, status.st_size, status.st_ctime_ns)
            if stamp == self._stamp:
                self._failed = None
                return
            settled = stamp == self._seen or time.time_ns() - status.st_mtime_ns >= self.recheck_s * 1e9
            self._seen = stamp
            if stamp == self._failed or (self._stamp is not None and not settled):
                return
            try:
                entries = self._read()
            except OSError as error:  # perhaps for now: tried again at the next check
                self._fail(DictionaryError(f"{self.path}: unreadable ({error})"), ("unreadable", stamp))
                return
            except DictionaryError as error:
                self._fail(error, stamp)
                return
            self.latest, self._stamp, self._failed = (self.version + 1, entries), stamp, None
            log.info("dictionary %s: %d entries", self.path, len(entries))
        finally:
            self._reading.release()

    def _read(self) -> dict[str, str]:
        entries = load_tsv(self.path)
        if self.labels is not None:
            try:
                check_labels(entries, self.labels)
            except DictionaryError as error:
                raise DictionaryError(f"{self.path}: {error}") from None
        return entries

    def _fail(self, error: DictionaryError, mark: object) -> None:
        """A failed reading: an error at the first, else logged once while the file stays as it is."""
        if self._stamp is None:
            raise error
        if mark != self._failed:
            log.warning("dictionary not reloaded, the last good one stays: %s", error)
        self._failed = mark


def load_tsv(path: str | Path) -> dict[str, str]:
    """The entries of a dictionary file (``phrase<TAB>LABEL`` lines); raises :class:`DictionaryError`
    for what it holds, :class:`OSError` when it cannot be read."""
    try:
        return read_tsv(Path(path).read_text(encoding="utf-8"), str(path))  # a byte-order mark is passed over
    except DictionaryError as error:
        raise DictionaryError(f"{path}: {error}") from None
    except UnicodeDecodeError as error:
        raise DictionaryError(f"{path}: unreadable ({error})") from None
