"""A word lexicon for character-level models: SoftLexicon features (Ma et al. 2020).

For each character of a sentence, the dictionary words found in the text
around it fall into four sets: the words it Begins, those it is in the
Middle of, those it Ends, and the Single-character word it is itself. A
matched word is represented by its *class*: its part of speech in the
dictionary (person name, place name, organisation, noun, verb, ...) and its
length, so that a word never seen in training still says "a four-character
place name starts here". Within each set the classes are pooled with weights
``log(2 + frequency)``, normalised to sum to one; an empty set is the class
``NONE``.

The default lexicon is jieba's dictionary (about 350,000 words with
frequencies and parts of speech). A model keeps its own copy in its directory
(``lexicon.safetensors``), so it tags the same way wherever it runs.

With ``lexicon_words``, a model also learns an embedding for each dictionary
word seen in its training data, added to its class's (SoftLexicon's word
embeddings, learned here since no pretrained Chinese vectors are at hand).

For ``B`` sentences padded to ``T`` characters, :meth:`Lexicon.features` gives
class ids ``(B, T, 4, M)`` and weights ``(B, T, 4, M)``, ``M`` the largest
number of words in one set (at most ``max_per_set``);
:meth:`Lexicon.features_with_words` also the words' ids.
"""

from __future__ import annotations

import array
import itertools
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import marisa_trie
import numpy as np
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save as save_arrays

from ner.variants import simplified_forms, traditional_characters
from ner.vocab import Vocab

log = logging.getLogger("ner.train")
LEXICON_LINES = "jieba's or HanLP's dictionary format, or one word a line"  # what a lexicon file holds
MAX_TAGS, MAX_FREQUENCY = 255, 2**32 - 1  # of a lexicon's parts of speech (uint8 ids), of a word's count (uint32)

SETS = ("B", "M", "E", "S")
NONE = "<none>"
LONGEST_BUCKET = 5  # words of 5 or more characters share a length class
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # a code point no UTF-8 text holds (JSON can send one)


class Lexicon:
    """Dictionary words with frequencies and parts of speech, and their matches in text.

    The words live in a compact trie (``marisa-trie``) with one array entry per word (part of
    speech, frequency, class): jieba's 350,000 words take about 3 MB and load at once, where a
    Python dict of them would take 150 MB and two seconds.
    """

    def __init__(self, entries: Iterable[tuple[str, int, str]], max_per_set: int = 8) -> None:
        """``entries``: ``(word, frequency, part of speech)``; later duplicates of a word are ignored."""
        first: dict[str, tuple[int, str]] = {}
        for word, frequency, tag in entries:
            if word and not any(c.isspace() for c in word):
                first.setdefault(word, (frequency, tag))
        trie = marisa_trie.Trie(list(first))
        self.tags = sorted({tag for _, tag in first.values()})
        if len(self.tags) > MAX_TAGS:
            raise ValueError(f"{len(self.tags)} parts of speech, more than a lexicon holds ({MAX_TAGS})")
        self.tag_ids, self.frequencies = np.zeros(len(trie), dtype=np.uint8), np.zeros(len(trie), dtype=np.uint32)
        tag_index = {tag: i for i, tag in enumerate(self.tags)}
        names = [""] * len(trie)
        for word, (frequency, tag) in first.items():
            key = trie[word]
            self.tag_ids[key], self.frequencies[key] = tag_index[tag], min(frequency, MAX_FREQUENCY)
            names[key] = _class_name(tag, len(word))
        self.classes = Vocab(sorted(set(names)), specials=("<pad>", NONE))
        class_ids = np.array([self.classes.stoi[name] for name in names], dtype=np.uint16)
        self._setup(trie, class_ids, max_per_set, max(map(len, first), default=1))

    def _setup(self, trie: marisa_trie.Trie, class_ids: np.ndarray, max_per_set: int, longest: int) -> None:
        """What matching needs: the trie, and each word's class and weight in arrays indexed by its key."""
        self.trie, self.class_ids, self.max_per_set, self._longest = trie, class_ids, max_per_set, longest
        self._class_of = array.array("H", class_ids.astype(np.uint16).tobytes())
        self._weight_of = array.array(
            "f", np.log(2.0 + self.frequencies.astype(np.float64)).astype(np.float32).tobytes()
        )

    def __len__(self) -> int:
        return len(self.trie)

    @property
    def words(self) -> Mapping[str, tuple[int, str]]:
        """Each word's ``(frequency, part of speech)``."""
        return _Words(self)

    # -- reading and writing ------------------------------------------------------

    @classmethod
    def from_jieba(cls) -> Lexicon:
        """jieba's dictionary, from the installed ``jieba`` package."""
        try:
            import jieba
        except ImportError as error:
            raise RuntimeError("the Chinese lexicon needs jieba: pip install 'ner-service[train]'") from error
        return cls.from_text((Path(jieba.__file__).parent / "dict.txt").read_text(encoding="utf-8"))

    @classmethod
    def from_text(cls, text: str) -> Lexicon:
        """Lines of ``word [frequency] [part of speech]`` (jieba's dictionary and user dictionaries: either may
        be left out), ``word part-of-speech frequency ...`` (HanLP's: the first part of speech, the frequencies
        summed) or a word alone (a list of words); a word without a frequency counts once, one without a part
        of speech is ``x``. Other lines are skipped, and said."""
        entries, skipped = [], []
        for number, line in enumerate(text.splitlines(), 1):
            if not (fields := line.split()):
                continue
            if entry := _entry(fields):
                entries.append(entry)
            else:
                skipped.append(number)
        if skipped:
            log.warning(
                "%d lines of the lexicon are not 'word [frequency] [part of speech]' and are left out (line %d: %r)",
                len(skipped), skipped[0], text.splitlines()[skipped[0] - 1][:80],
            )  # fmt: skip
        return cls(entries)

    @classmethod
    def from_bytes(cls, data: bytes) -> Lexicon:
        """A lexicon written by :meth:`to_bytes` (safetensors: arrays and a trie, no pickled code)."""
        arrays = load_arrays(data)
        metadata = json.loads(_metadata(data)["lexicon"])
        lexicon = cls.__new__(cls)
        lexicon.tags, lexicon.tag_ids, lexicon.frequencies = metadata["tags"], arrays["tags"], arrays["frequencies"]
        lexicon.classes = Vocab(metadata["classes"], specials=())
        trie = marisa_trie.Trie().frombytes(arrays["trie"].tobytes())
        class_ids = arrays["classes"]
        stored = {"classes": class_ids.dtype, "tags": lexicon.tag_ids.dtype, "frequencies": lexicon.frequencies.dtype}
        if stored != {"classes": np.uint16, "tags": np.uint8, "frequencies": np.uint32}:  # as to_bytes writes them
            raise ValueError(f"arrays of other types than a lexicon's ({', '.join(map(str, stored.values()))})")
        if not len(class_ids) == len(lexicon.tag_ids) == len(lexicon.frequencies) == len(trie):
            raise ValueError(f"arrays of other lengths than its {len(trie)} words")
        if len(trie) and (class_ids.max() >= len(lexicon.classes) or lexicon.tag_ids.max() >= len(lexicon.tags)):
            raise ValueError("a word's class or part of speech out of range")
        lexicon._setup(trie, class_ids, metadata["max_per_set"], metadata["longest"])
        return lexicon

    def to_bytes(self) -> bytes:
        """The lexicon as safetensors: the trie's bytes and the per-word arrays; tag and class names as metadata."""
        about = {
            "tags": self.tags,
            "classes": self.classes.itos,
            "max_per_set": self.max_per_set,
            "longest": self._longest,
        }
        arrays = {
            "trie": np.frombuffer(self.trie.tobytes(), dtype=np.uint8),
            "tags": self.tag_ids,
            "frequencies": self.frequencies,
            "classes": self.class_ids,
        }
        metadata = {"lexicon": json.dumps(about, ensure_ascii=False)}
        return save_arrays(arrays, metadata=metadata)

    # -- matching --------------------------------------------------------------------

    def matches(self, chars: Sequence[str]) -> list[tuple[int, int, int, float]]:
        """``(start, end, class id, weight)`` of every dictionary word in ``chars`` (tokens of one or
        more code points: a character with its combining marks); in text with a character of traditional
        Chinese alone (:func:`ner.variants.traditional_characters`), also of those in the text read in
        simplified characters (a lexicon such as jieba's holds few traditional words: 中華人民共和國 matches as
        中华人民共和国), one word a span."""
        text = _LONE_SURROGATE.sub("\ufffd", "".join(chars))  # no word holds one; the trie cannot encode it
        found = self._matches(text, chars)
        if not traditional_characters().isdisjoint(text):
            simplified = text.translate(simplified_forms())
            spans = {(start, end) for start, end, _, _ in found}
            found += [match for match in self._matches(simplified, chars) if match[:2] not in spans]
            found.sort(key=lambda match: match[:2])
        return found

    def _matches(self, text: str, chars: Sequence[str]) -> list[tuple[int, int, int, float]]:
        """:meth:`matches` in ``text``, ``chars`` joined (or read otherwise, one character for one)."""
        if len(text) == len(chars):  # one code point per token: offsets are token positions
            ends = None
            offsets: Iterable[int] = range(len(chars))
        else:
            offsets = list(itertools.accumulate((len(c) for c in chars), initial=0))[:-1]
            ends = {offset + len(c): i + 1 for i, (offset, c) in enumerate(zip(offsets, chars))}
        found, class_of, weight_of, longest = [], self._class_of, self._weight_of, self._longest
        for start, offset in enumerate(offsets):
            for word, key in self.trie.iter_prefixes_with_ids(text[offset : offset + longest]):
                end = start + len(word) if ends is None else ends.get(offset + len(word))
                if end is not None:
                    found.append((start, end, class_of[key], weight_of[key]))
        return found

    def features(self, sentences: Sequence[Sequence[str]], width: int) -> tuple[np.ndarray, np.ndarray]:
        """Class ids ``(B, width, 4, M)`` (int64) and weights ``(B, width, 4, M)`` (float32).

        Each character's four sets hold its matches' classes with weights normalised per
        set (the heaviest ``max_per_set`` words of a set are kept); an empty set holds
        ``NONE`` with weight 1; padding positions hold only padding (id 0, weight 0).
        """
        ids, weights, _ = self._fill(sentences, width, None)
        return ids, weights

    def features_with_words(
        self, sentences: Sequence[Sequence[str]], width: int, words: Vocab
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As :meth:`features`, and the id in ``words`` of each pooled word ``(B, width, 4, M)``
        (``words.unk`` for a word outside it, 0 where there is none)."""
        ids, weights, word_ids = self._fill(sentences, width, words)
        assert word_ids is not None
        return ids, weights, word_ids

    def _fill(
        self, sentences: Sequence[Sequence[str]], width: int, words: Vocab | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        if any(len(sentence) > width for sentence in sentences):
            raise ValueError(f"a sentence is longer than the width {width}")
        # One landing per (match, character it covers): a match of length 1 lands in the character's S set;
        # a longer one in B at its first character, E at its last and M in between.
        found = [self.matches(sentence) for sentence in sentences]
        counts = np.array([len(f) for f in found], dtype=np.int64)
        flat = [m for f in found for m in f]
        starts = np.array([m[0] for m in flat], dtype=np.int64)
        lengths = np.array([m[1] for m in flat], dtype=np.int64) - starts
        kinds = np.array([m[2] for m in flat], dtype=np.int64)
        match_weights = np.array([m[3] for m in flat], dtype=np.float64)
        if words is not None:
            joined = ("".join(sentence[m[0] : m[1]]) for sentence, f in zip(sentences, found) for m in f)
            match_words = np.array([words.stoi.get(w, words.unk) for w in joined], dtype=np.int64)
        else:
            match_words = np.zeros(len(flat), dtype=np.int64)
        match = np.repeat(np.arange(len(flat)), lengths)  # the match of each landing, in match order
        offset = np.arange(len(match)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        length = lengths[match]
        kind_of_set = np.where(offset == 0, 0, np.where(offset == length - 1, 2, 1))
        set_index = np.where(length == 1, 3, kind_of_set)
        row = np.repeat(np.arange(len(sentences)), counts)[match]
        group = (row * width + starts[match] + offset) * len(SETS) + set_index  # (sentence, character, set)
        weight, kind, word = match_weights[match], kinds[match], match_words[match]

        # A set's words in the order they matched; a set with more than max_per_set words keeps the
        # heaviest (ties: the larger class id, then the larger word id).
        sizes = np.bincount(group, minlength=1)
        depth = max(1, min(int(sizes.max(initial=0)), self.max_per_set))
        crowded = sizes[group] > depth
        in_match_order = np.lexsort((match, group))
        heaviest_first = np.lexsort((-word, -kind, -weight, group))
        first_of_group = np.cumsum(sizes) - sizes
        slot = np.empty(len(group), dtype=np.int64)
        slot[in_match_order] = np.arange(len(group)) - first_of_group[group[in_match_order]]
        rank = np.empty(len(group), dtype=np.int64)
        rank[heaviest_first] = np.arange(len(group)) - first_of_group[group[heaviest_first]]
        slot = np.where(crowded, rank, slot)
        kept = slot < depth
        group, slot, weight, kind, word = group[kept], slot[kept], weight[kept], kind[kept], word[kept]
        total = np.bincount(group, weights=weight, minlength=1)

        shape = (len(sentences), width, len(SETS), depth)
        ids, weights = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.float32)
        real = np.arange(width)[None, :] < np.array([len(s) for s in sentences], dtype=np.int64)[:, None]
        ids[real, :, 0], weights[real, :, 0] = self.classes.stoi[NONE], 1.0  # an empty set: NONE
        flat_ids, flat_weights = ids.reshape(-1, depth), weights.reshape(-1, depth)
        flat_ids[group, slot], flat_weights[group, slot] = kind, weight / total[group]
        word_ids = None
        if words is not None:
            word_ids = np.zeros(shape, dtype=np.int64)
            word_ids.reshape(-1, depth)[group, slot] = word
        return ids, weights, word_ids

    def matched_words(self, sentences: Iterable[Sequence[str]]) -> Counter[str]:
        """How often each dictionary word matches in ``sentences``."""
        return Counter("".join(s[start:end]) for s in sentences for start, end, _, _ in self.matches(s))


def _class_name(tag: str, length: int) -> str:
    return f"{tag}:{min(length, LONGEST_BUCKET)}"


def _metadata(data: bytes) -> dict[str, str]:
    """The metadata of a safetensors file: its JSON header's ``__metadata__``."""
    size = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + size]).get("__metadata__", {})


class _Words(Mapping[str, tuple[int, str]]):
    """A lexicon's words as a read-only mapping to ``(frequency, part of speech)``."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon

    def __getitem__(self, word: str) -> tuple[int, str]:
        if not isinstance(word, str):
            raise KeyError(word)
        key = self.lexicon.trie.key_id(word)  # KeyError when not a word
        return int(self.lexicon.frequencies[key]), self.lexicon.tags[self.lexicon.tag_ids[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(self.lexicon.trie)

    def __len__(self) -> int:
        return len(self.lexicon.trie)


def _entry(fields: list[str]) -> tuple[str, int, str] | None:
    """A lexicon line's ``(word, frequency, part of speech)`` (:meth:`Lexicon.from_text`), or None: a count is
    written in digits 0-9, a part of speech is no number."""
    word, *rest = fields
    counts, names = rest[1::2], rest[0::2]
    if len(rest) <= 2 and (not rest or _count(rest[0])) and not (len(rest) == 2 and _number(rest[1])):
        return word, int(rest[0]) if rest else 1, rest[1] if len(rest) > 1 else "x"  # word [frequency [pos]]
    if len(rest) == 1 and not _number(rest[0]):  # word part-of-speech
        return word, 1, rest[0]
    if rest and len(rest) % 2 == 0 and all(map(_count, counts)) and not any(map(_number, names)):  # HanLP's
        return word, sum(map(int, counts)), names[0]
    return None


def _count(field: str) -> bool:
    return field.isascii() and field.isdigit()


def _number(field: str) -> bool:
    if field.isnumeric():  # ², 五
        return True
    try:
        float(field)
    except ValueError:
        return False
    return True
