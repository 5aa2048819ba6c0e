"""Text without capitals: a word model's capitals restored before it tags.

A word model trained on newswire reads capitals as its strongest clue, and text whose letters are all of
one case (chat, search queries, transcripts, headlines) gives it none: read as written, the English model
finds 4.00 F1 of eng.testb lowercased (77.98 with its capitals restored). Before a word model tags such a
document, each token is written as the model's training corpus usually wrote it inside a sentence (``eu``
-> ``EU``, ``germany`` -> ``Germany``, ``said`` -> ``said``), a pair of words written together otherwise
than each alone as written together (``new york`` -> ``New York``), a word never seen there lowercased or
capitalized as chosen on dev, and the first word of each sentence capitalized: truecasing by the most
frequent form (Lita et al. 2003).
Only the tokens the network reads change; entities keep the text's offsets and spelling.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal, TypeVar, get_args

from ner.text import one_case

if TYPE_CHECKING:
    from ner.corpus import Sentence
    from ner.tagger import Tagger

T = TypeVar("T")

# How a word the training corpus never wrote inside a sentence is written: names are what a corpus most
# often lacks, common words what a small one lacks; dev decides (fit).
UNKNOWN_WORDS = ("lowercase", "capitalized")
# The most frequent words and pairs of words a truecaser keeps (about 3 MB and 2 MB of vocab.json at most).
MOST_WORDS, MOST_PAIRS = 200_000, 50_000
# How often two words must be seen together for their usual pair of forms to count (once is chance).
PAIR_MIN_COUNT = 2
# When a model restores capitals (ner.tagger.TagOptions): in a document written in one case, in every text, never.
Capitals = Literal["auto", "restore", "as_written"]
CAPITALS: tuple[Capitals, ...] = get_args(Capitals)


def mixes_cases(text: str) -> bool:
    """True when ``text`` has both lowercase and uppercase letters."""
    return text != text.lower() and text != text.upper()


def capitalized(word: str) -> str:
    return word[:1].title() + word[1:]


@dataclass(frozen=True)
class Truecaser:
    """The usual form of each word of a training corpus, keyed by the lowercased word; a token whose
    lowercased form is unknown is looked up case-folded and without accents (``STRASSE``: ``straße``;
    Greek and French capitals, written without their accents: ``ΚΡΗΤΗ``: ``κρήτη``, ``ECOLE``: ``école``).

    ``forms`` holds the words usually written with capitals, ``lowercase`` those usually written without,
    ``pairs`` the pairs of words usually written together otherwise than each alone (``("new", "york")``:
    ``("New", "York")``); ``unknown`` (:data:`UNKNOWN_WORDS`) says how to write any other word.
    """

    forms: dict[str, str]
    lowercase: frozenset[str]
    pairs: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    unknown: str = "lowercase"
    _folded: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.unknown not in UNKNOWN_WORDS:
            raise ValueError(f"unknown words are written {' or '.join(UNKNOWN_WORDS)}, not {self.unknown!r}")
        folded: dict[str, str] = {}  # the words folding changes; of two alike (πότε, ποτέ), the first in order
        for word in sorted((*self.forms, *self.lowercase)):
            if (key := _folded(word)) != word:
                folded.setdefault(key, word)
        object.__setattr__(self, "_folded", folded)

    @classmethod
    def learn(
        cls, sentences: Iterable[Sequence[str]], older: Truecaser | None = None, most: int = MOST_WORDS
    ) -> Truecaser | None:
        """The usual forms of the words of ``sentences`` written in mixed case, their first tokens aside
        (capitalized wherever a sentence starts), over ``older``'s (a fine-tuned model's over its parent's:
        the words and pairs these sentences show are theirs); ``older`` when no sentence mixes cases (a
        corpus without capitals, or of a script without them)."""
        mixed = [tokens[1:] for tokens in sentences if mixes_cases("".join(tokens))]
        seen: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for tokens in mixed:
            for token in tokens:
                seen[token.lower()][token] += 1
        if not seen:
            return older
        usual = {word: _usual(seen[word]) for word in _most_frequent(seen, most)}
        forms = {word: form for word, form in usual.items() if form != word}
        lowercase = {word for word, form in usual.items() if form == word}
        # Only a word seen in several forms can make a pair's forms differ from its words' (or an older pair).
        varied = {word for word, spellings in seen.items() if len(spellings) > 1}
        older_pairs = older.pairs if older is not None else {}
        seen_together: defaultdict[tuple[str, str], Counter[tuple[str, str]]] = defaultdict(Counter)
        for tokens in mixed:
            for pair in zip(tokens, tokens[1:]):
                words = (pair[0].lower(), pair[1].lower())
                if words[0] in varied or words[1] in varied or words in older_pairs:
                    seen_together[words][pair] += 1
        decided = {words: counts for words, counts in seen_together.items() if counts.total() >= PAIR_MIN_COUNT}
        usual_pairs = {words: _usual(counts) for words, counts in decided.items()}
        alone = {words: tuple(forms.get(word, word) for word in words) for words in usual_pairs}  # each as usual
        differing = {words: form for words, form in usual_pairs.items() if form != alone[words]}
        pairs = {words: differing[words] for words in _most_frequent({w: decided[w] for w in differing}, MOST_PAIRS)}
        if older is not None:
            forms = {word: form for word, form in older.forms.items() if word not in usual} | forms
            lowercase |= older.lowercase - usual.keys()
            # An older pair stays unless these sentences show its words together often enough to decide.
            pairs = {words: form for words, form in older.pairs.items() if words not in decided} | pairs
        return cls(forms, frozenset(lowercase), pairs, older.unknown if older is not None else "lowercase")

    def recase(self, tokens: Sequence[str]) -> list[str]:
        """``tokens`` of one sentence written as the training corpus would: ``["eu", "rejects"]`` ->
        ``["EU", "rejects"]``."""
        words = list(map(self._word, tokens))
        out = []
        for word in words:
            form = self.forms.get(word)
            if form is None:
                form = capitalized(word) if self.unknown == "capitalized" and word not in self.lowercase else word
            out.append(form)
        for i, pair in enumerate(zip(words, words[1:])):
            if (together := self.pairs.get(pair)) is not None:
                out[i : i + 2] = together
        if out and out[0] == out[0].lower():  # a sentence's first word, unless its usual form has capitals
            out[0] = capitalized(out[0])
        return out

    def _word(self, token: str) -> str:
        """The key of ``token``: lowercased, or the word it folds to where that is unknown (``STRASSE``)."""
        word = token.lower()
        if word in self.forms or word in self.lowercase:
            return word
        return self._folded.get(_folded(word), word)

    def recased(
        self, sentences: Sequence[Sequence[str]], documents: Sequence[int] | None = None
    ) -> Sequence[Sequence[str]]:
        """``sentences`` with those of each document written in one case (:func:`one_case`) recased; a
        document mixing cases keeps its tokens. ``documents``: one id per sentence (None: each its own).
        Where no document is in one case, ``sentences`` itself comes back (the tagger checks for it)."""
        caseless = one_case_documents(sentences, documents)
        if not caseless:
            return sentences
        owners = documents if documents is not None else range(len(sentences))
        return [self.recase(tokens) if owner in caseless else tokens for owner, tokens in zip(owners, sentences)]

    def to_json(self) -> dict:
        pairs = [[*words, *forms] for words, forms in self.pairs.items()]
        return {"forms": self.forms, "lowercase": sorted(self.lowercase), "pairs": pairs, "unknown": self.unknown}

    @classmethod
    def from_json(cls, data: dict) -> Truecaser:
        forms, lowercase = data["forms"], data["lowercase"]
        if not isinstance(forms, dict) or not all(isinstance(x, str) and x for pair in forms.items() for x in pair):
            raise ValueError("a truecaser's forms map words to words")
        if not isinstance(lowercase, list) or not all(isinstance(word, str) for word in lowercase):
            raise ValueError("a truecaser's lowercase words are a list of words")
        pairs = data.get("pairs", [])
        if not isinstance(pairs, list) or not all(
            isinstance(row, list) and len(row) == 4 and all(isinstance(word, str) and word for word in row)
            for row in pairs
        ):
            raise ValueError("a truecaser's pairs are lists of two words and their two forms")
        return cls(forms, frozenset(lowercase), {(a, b): (c, d) for a, b, c, d in pairs}, data["unknown"])


def one_case_documents(sentences: Sequence[Sequence[str]], documents: Sequence[int] | None = None) -> set[int]:
    """The ids of the documents whose tokens are written in one case (``documents``: one id per sentence;
    None: each sentence its own, numbered from 0), but those of machine text (:data:`MACHINE_SHARE`)."""
    owners = documents if documents is not None else range(len(sentences))
    texts: defaultdict[int, list[str]] = defaultdict(list)
    marks: Counter[int] = Counter()
    for owner, tokens in zip(owners, sentences):
        texts[owner].extend(tokens)
        marks[owner] += sum(token in _MACHINE_MARKS for token in tokens) + tokens[:-1].count(".")
    return {
        owner
        for owner, tokens in texts.items()
        if one_case("".join(tokens)) and marks[owner] < MACHINE_SHARE * len(tokens)
    }


# Text without capitals that is machine-made (a log line, a path, a stack frame, a user agent), where restoring
# capitals makes a name of every identifier (java.lang.thread.run: LOC lang): that share of its tokens or more
# are these marks, or a point inside a sentence. Brackets and colons, which news tables are full of, are not
# counted (eng.testb lowercased: 77.64 as text either way; with them, 77.29).
MACHINE_SHARE = 0.2
_MACHINE_MARKS = frozenset(["/", "\\", "=", "_", "[", "]", "{", "}", "|", ";"])  # not chat's --, *waves*, ~, <3


def has_one_case_documents(sentences: Sequence[Sentence]) -> bool:
    """True when a document of the annotated ``sentences`` is written in one case."""
    return bool(one_case_documents([s.tokens for s in sentences], [s.document for s in sentences]))


def fit(
    tagger: Tagger, train: Sequence[Sentence], dev: Sequence[Sentence] | None, older: Truecaser | None = None
) -> tuple[Truecaser | None, dict]:
    """The truecaser of a word model trained on ``train`` (over ``older``: a fine-tuned model's parent's, or
    the one the model has), and what it
    scored: entity F1 on ``dev`` lowercased without restoring capitals (``none``) and with each way of
    writing unknown words. The best is kept; none when restoring capitals does not beat leaving them out.
    Without ``dev``, or where every way scores 0 (no entity of dev found lowercased: nothing to choose by), unknown
    words are written as ``older``'s were (else lowercase), unmeasured. ``tagger`` is left as it was."""
    from ner.corpus import recased
    from ner.metrics import evaluate

    learned = Truecaser.learn((s.tokens for s in train), older) if tagger.vocab.level == "word" else None
    if learned is None:
        return None, {}
    unmeasured = {"unknown_words": learned.unknown, **_sizes(learned), "dev_f1_lowercased": None}
    if not dev:
        return learned, unmeasured
    lowered = recased(dev)
    before = tagger.vocab.truecaser
    scores = {}
    try:
        for rule in (None, *UNKNOWN_WORDS):
            tagger.vocab.truecaser = replace(learned, unknown=rule) if rule else None
            scores[rule or "none"] = round(evaluate(tagger, lowered)["f1"], 2)
    finally:
        tagger.vocab.truecaser = before
    if not any(scores.values()):
        return learned, unmeasured
    best = max(scores, key=scores.__getitem__)
    chosen = replace(learned, unknown=best) if best != "none" else None
    return chosen, {"unknown_words": chosen and chosen.unknown, **_sizes(learned), "dev_f1_lowercased": scores}


def _folded(word: str) -> str:
    """``word`` case-folded, without its accents (combining marks once decomposed) where it is not ASCII, and
    Turkish dotless ı as i (IŞIK is Işık; ``"I".lower()`` is ``i``)."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFD", word.casefold().replace("ı", "i"))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _usual(forms: Counter[T]) -> T:
    return forms.most_common(1)[0][0]


def _most_frequent(seen: dict[T, Counter], most: int) -> list[T]:
    """The ``most`` keys of ``seen`` (each a :class:`Counter` of forms) seen most often."""
    return sorted(seen, key=lambda key: -seen[key].total())[:most]


def _sizes(truecaser: Truecaser) -> dict[str, int]:
    return {"words": len(truecaser.forms) + len(truecaser.lowercase), "pairs": len(truecaser.pairs)}
