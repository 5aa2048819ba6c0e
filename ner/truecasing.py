"""Text without capitals: a word model's capitals restored before it tags.

A word model trained on newswire reads capitals as its strongest clue, and text whose letters are all of
one case (chat, search queries, transcripts, headlines) gives it none: the English model finds 4.00 F1
of eng.testb lowercased. Before a word model tags such a document, each token is written as the
model's training corpus usually wrote it inside a sentence (``eu`` -> ``EU``, ``germany`` -> ``Germany``,
``said`` -> ``said``), two words it wrote together otherwise than each alone as it wrote them together
(``new york`` -> ``New York``), a word it never saw there lowercased or capitalized as chosen on dev, and
the first word of each sentence capitalized: truecasing by the most frequent form (Lita et al. 2003).
Only the tokens the network reads change; entities keep the text's offsets and spelling.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ner.corpus import Sentence
    from ner.tagger import Tagger

T = TypeVar("T")

# How a word the training corpus never wrote inside a sentence is written: names are what a corpus most
# often lacks, common words what a small one lacks; dev decides (fit).
UNKNOWN_WORDS = ("lowercase", "capitalized")
# The most frequent words (and pairs of words) a truecaser keeps (200,000 words take about 3 MB of vocab.json).
MOST_WORDS = 200_000
# How often two words must be seen together for their usual pair of forms to count (once is chance).
PAIR_MIN_COUNT = 2


def one_case(text: str) -> bool:
    """True when ``text`` has cased letters and all of them are lowercase, or all uppercase."""
    return (text == text.lower()) != (text == text.upper())


def capitalized(word: str) -> str:
    return word[:1].upper() + word[1:]


@dataclass(frozen=True)
class Truecaser:
    """The usual form of each word of a training corpus, by its lowercased form.

    ``forms`` holds the words usually written with capitals, ``lowercase`` those usually written without,
    ``pairs`` the pairs of words usually written together otherwise than each alone (``("new", "york")``:
    ``("New", "York")``); ``unknown`` (:data:`UNKNOWN_WORDS`) says how to write any other word.
    """

    forms: dict[str, str]
    lowercase: frozenset[str]
    pairs: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    unknown: str = "lowercase"

    def __post_init__(self) -> None:
        if self.unknown not in UNKNOWN_WORDS:
            raise ValueError(f"unknown words are written {' or '.join(UNKNOWN_WORDS)}, not {self.unknown!r}")

    @classmethod
    def learn(cls, sentences: Iterable[Sequence[str]], most: int = MOST_WORDS) -> Truecaser | None:
        """The usual forms of the words of ``sentences`` written in mixed case, their first tokens aside
        (capitalized wherever a sentence starts); None when no sentence mixes cases (a corpus without
        capitals, or of a script without them)."""
        seen: defaultdict[str, Counter[str]] = defaultdict(Counter)
        seen_together: defaultdict[tuple[str, str], Counter[tuple[str, str]]] = defaultdict(Counter)
        for tokens in sentences:
            text = "".join(tokens)
            if text == text.lower() or text == text.upper():
                continue
            for token in tokens[1:]:
                seen[token.lower()][token] += 1
            for pair in zip(tokens[1:], tokens[2:]):
                seen_together[(pair[0].lower(), pair[1].lower())][pair] += 1
        if not seen:
            return None
        usual = {word: _usual(seen[word]) for word in _most_frequent(seen, most)}
        truecaser = cls(
            {word: form for word, form in usual.items() if form != word},
            frozenset(word for word, form in usual.items() if form == word),
        )
        pairs = {}
        for pair in _most_frequent(seen_together, most):
            if seen_together[pair].total() >= PAIR_MIN_COUNT:
                form = _usual(seen_together[pair])
                if form != (truecaser.forms.get(pair[0], pair[0]), truecaser.forms.get(pair[1], pair[1])):
                    pairs[pair] = form
        return replace(truecaser, pairs=pairs)

    def over(self, older: Truecaser | None) -> Truecaser:
        """These forms, and ``older``'s for the words these lack (a fine-tuned model's, over its parent's)."""
        if older is None:
            return self
        forms = {word: form for word, form in older.forms.items() if word not in self.lowercase} | self.forms
        lowercase = (older.lowercase - self.forms.keys()) | self.lowercase
        return replace(self, forms=forms, lowercase=lowercase, pairs=older.pairs | self.pairs)

    def recase(self, tokens: Sequence[str]) -> list[str]:
        """``tokens`` of one sentence written as the training corpus would: ``["eu", "rejects"]`` ->
        ``["EU", "rejects"]``."""
        words = [token.lower() for token in tokens]
        out = []
        for word in words:
            form = self.forms.get(word)
            if form is None:
                form = capitalized(word) if self.unknown == "capitalized" and word not in self.lowercase else word
            out.append(form)
        for i, pair in enumerate(zip(words, words[1:])):
            if (together := self.pairs.get(pair)) is not None:
                out[i : i + 2] = together
        if out:
            out[0] = capitalized(out[0])
        return out

    def recased(
        self, sentences: Sequence[Sequence[str]], documents: Sequence[int] | None = None
    ) -> Sequence[Sequence[str]]:
        """``sentences`` with those of each document written in one case (:func:`one_case`) recased; a
        document mixing cases keeps its tokens. ``documents``: one id per sentence (None: each its own)."""
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
        if not isinstance(forms, dict) or not all(isinstance(x, str) for pair in forms.items() for x in pair):
            raise ValueError("a truecaser's forms map words to words")
        if not isinstance(lowercase, list) or not all(isinstance(word, str) for word in lowercase):
            raise ValueError("a truecaser's lowercase words are a list of words")
        pairs = data.get("pairs", [])
        if not isinstance(pairs, list) or not all(
            isinstance(row, list) and len(row) == 4 and all(isinstance(word, str) for word in row) for row in pairs
        ):
            raise ValueError("a truecaser's pairs are lists of two words and their two forms")
        return cls(forms, frozenset(lowercase), {(a, b): (c, d) for a, b, c, d in pairs}, data["unknown"])


def one_case_documents(sentences: Sequence[Sequence[str]], documents: Sequence[int] | None = None) -> set[int]:
    """The ids of the documents whose tokens are written in one case (``documents``: one id per sentence;
    None: each sentence its own, numbered from 0)."""
    owners = documents if documents is not None else range(len(sentences))
    texts: defaultdict[int, list[str]] = defaultdict(list)
    for owner, tokens in zip(owners, sentences):
        texts[owner].extend(tokens)
    return {owner for owner, tokens in texts.items() if one_case("".join(tokens))}


def fit(
    tagger: Tagger, train: Sequence[Sentence], dev: Sequence[Sentence] | None, parent: Truecaser | None = None
) -> tuple[Truecaser | None, dict]:
    """The truecaser of a word model trained on ``train`` (over its ``parent``'s, fine-tuned), and what it
    scored: entity F1 on ``dev`` lowercased without restoring capitals (``none``) and with each way of
    writing unknown words. The best is kept; none when restoring capitals does not beat leaving them out.
    Without ``dev`` unknown words stay lowercase, unmeasured. ``tagger`` is left as it was."""
    from ner.metrics import evaluate

    learned = Truecaser.learn(s.tokens for s in train) if tagger.vocab.level == "word" else None
    learned = learned.over(parent) if learned is not None else parent
    if learned is None:
        return None, {}
    if not dev:
        return learned, {"unknown_words": learned.unknown, **_sizes(learned), "dev_f1_lowercased": None}
    lowered = [replace(s, tokens=[token.lower() for token in s.tokens]) for s in dev]
    before = tagger.vocab.truecaser
    scores = {}
    try:
        for rule in (None, *UNKNOWN_WORDS):
            tagger.vocab.truecaser = replace(learned, unknown=rule) if rule else None
            scores[rule or "none"] = round(evaluate(tagger, lowered)["f1"], 2)
    finally:
        tagger.vocab.truecaser = before
    best = max(scores, key=scores.__getitem__)
    chosen = replace(learned, unknown=best) if best != "none" else None
    return chosen, {"unknown_words": chosen and chosen.unknown, **_sizes(learned), "dev_f1_lowercased": scores}


def _usual(forms: Counter[T]) -> T:
    return forms.most_common(1)[0][0]


def _most_frequent(seen: dict[T, Counter], most: int) -> list[T]:
    """The ``most`` keys of ``seen`` (each a :class:`Counter` of forms) seen most often."""
    return sorted(seen, key=lambda key: -seen[key].total())[:most]


def _sizes(truecaser: Truecaser) -> dict[str, int]:
    return {"words": len(truecaser.forms) + len(truecaser.lowercase), "pairs": len(truecaser.pairs)}
