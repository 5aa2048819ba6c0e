"""Tagger: a loaded model; raw texts in, entities with character offsets and probabilities out.

For each text: tokenize (words, or characters for a character-level model)
and split into sentences (a :class:`Document`), then tag all sentences of all
documents together in length-sorted batches (so batches carry little
padding): the backend (:mod:`ner.backends`: torch or ONNX Runtime) gives
emission scores, the NumPy CRF (:mod:`ner.crf`) decodes them with the
constrained Viterbi and scores each entity with its span probability, and
token spans become character offsets in the original text.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import itertools
import math
import operator
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np

from ner import bundle as bundles
from ner import crf
from ner.backends import Backend, BackendName, load_backend
from ner.collector import collector_paused
from ner.corpus import Sentence, Span, as_model_tokens, tags_to_spans, token_tags
from ner.dictionary import Dictionary, DictionaryTooLarge, EntriesKey, check_labels
from ner.features import word_groups
from ner.recent import RecentValues
from ner.text import (
    END_MARKS,
    LANGUAGE_SCRIPTS,
    SYMBOL,
    Token,
    apart_between,
    characters_join,
    cut_points,
    cut_sentence,
    has_spaced_words,
    model_form,
    one_case,
    shown_between,
    split_sentences,
    tokenize,
    tokenize_chars,
    word_joins,
)
from ner.truecasing import CAPITALS, Capitals

DICTIONARY_CACHE = 32  # dictionaries kept built per model
DICTIONARY_CACHE_BYTES = 64_000_000  # and at most these of them (Dictionary.held_bytes), but the latest
MAX_NBEST = 1000  # analyses a text may ask for (the n-best decode holds k paths per tag and position)
PINNED_DICTIONARIES = 2  # configured dictionaries kept built beside those: a file's, with and without ignore_case
MAX_WORDS, MAX_CHARACTERS = 150, 200  # tokens of a sentence tagged at once; a longer one is cut
# Sentences x longest length per encoder call, at most: tagging eng.testb peaked at 183 MB with
# 2,048 against 253 MB unbounded, as fast.
BATCH_POSITIONS = 2048


@dataclass(frozen=True, slots=True)
class Entity:
    """An entity in a text: ``text == source[start:end]`` (with markup, :mod:`ner.markup`, the text read
    there); ``score`` is its probability under the model."""

    start: int
    end: int
    label: str
    text: str
    score: float | None = None

    def to_dict(self) -> dict:
        out = {"start": self.start, "end": self.end, "label": self.label, "text": self.text}
        if self.score is not None:
            out["score"] = round(self.score, 4)
        return out


@dataclass(frozen=True, slots=True)
class TaggedToken:
    """A token with its offsets and predicted BIOES tag."""

    text: str
    start: int
    end: int
    tag: str


@dataclass
class Alternative:
    """One analysis of a whole text among the n best, with its log-probability (kept as a log: a long
    text's analyses are each too improbable for a float, yet still ordered)."""

    entities: list[Entity]
    log_probability: float

    @property
    def probability(self) -> float:
        return math.exp(self.log_probability)

    def to_dict(self) -> dict:
        """As the service and bulk tagging give it: the probability to six significant digits, since the
        n-best analyses of a long text are each improbable (the product over its sentences) and six
        decimals would round them to 0."""
        return {"probability": float(f"{self.probability:.6g}"), "entities": [e.to_dict() for e in self.entities]}


@dataclass
class Analysis:
    """Everything the tagger says about one text."""

    entities: list[Entity]
    tokens: list[TaggedToken] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)


@dataclass(frozen=True)
class TagOptions:
    """What to compute for each text besides its entities: their ``scores`` (probabilities), the
    tagged ``tokens``, the ``nbest`` best analyses; a ``dictionary`` constrains the decode
    (:mod:`ner.dictionary`; scores and n-best are then those of the paths that satisfy it). ``capitals``
    (:data:`CAPITALS`): whether a word model restores its training words' capitals before it reads a text
    (:mod:`ner.truecasing`): where the text is written in one case, in every text (chat that capitalizes
    only the first word of a sentence: ``Met john in paris``), or never."""

    scores: bool = True
    tokens: bool = False
    nbest: int = 0
    dictionary: Dictionary | None = None
    capitals: Capitals = "auto"

    def __post_init__(self) -> None:
        if self.capitals not in CAPITALS:
            raise ValueError(f"capitals must be one of {', '.join(CAPITALS)}, not {self.capitals!r}")
        if isinstance(self.nbest, bool) or not hasattr(type(self.nbest), "__index__"):  # a NumPy integer has one
            raise TypeError(f"nbest must be a whole number, not {self.nbest!r}")
        object.__setattr__(self, "nbest", operator.index(self.nbest))
        if not 0 <= self.nbest <= MAX_NBEST:
            raise ValueError(f"nbest must be 0 to {MAX_NBEST}, not {self.nbest}")
        if self.dictionary is not None and not isinstance(self.dictionary, Dictionary):
            raise TypeError("dictionary must be a Dictionary, as Tagger.dictionary(entries) makes one")


@dataclass(frozen=True, slots=True)
class Document:
    """A text (or a part of one) as a tagger reads it: sentences of tokens with offsets into ``text``."""

    text: str
    sentences: list[list[Token]]


def _check_sizes(batch_size: int, max_sentence_tokens: int | None) -> None:
    for name, value in (("batch_size", batch_size), ("max_sentence_tokens", max_sentence_tokens)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")


def _checked(document: Document) -> Document:
    """``document``, once its tokens are seen to lie inside its text, in order and apart: a document put
    together by hand (or with another text's offsets) gave entities of text that is not there."""
    length, end = len(document.text), 0
    for sentence in document.sentences:
        for token in sentence:
            if not end <= token.start < token.end <= length:
                where = "outside the text" if token.end > length or token.start < 0 else "out of order or empty"
                raise ValueError(
                    f"a Document's token {token.text!r} at {token.start}-{token.end} lies {where} "
                    f"({length} characters; the token before ends at {end}): Tagger.read(text) gives one that fits"
                )
            end = token.end
    return document


def _one_text(text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, not {type(text).__name__} (for several, tag_batch)")
    return text


def _inside(matches: Iterable[Sequence[int]]) -> set[int]:
    """The indices of the tokens inside ``(start, end, ...)`` matches, but each match's first."""
    return {i for start, end, *_ in matches for i in range(start + 1, end)}


def _document_joins(document: Document) -> list[bool]:
    """:func:`ner.text.word_joins` of a document's tokens, and False for the end of the document."""
    tokens = [t for s in document.sentences for t in s]
    if not has_spaced_words(document.text):  # most Chinese text: one search instead of a look at each token
        return [False] * (len(tokens) + 1)
    return [*word_joins(tokens), False]


def _sentence_joins(documents: Sequence[Document], joins: Sequence[list[bool]]) -> list[list[bool]]:
    """For each sentence of ``documents``, its document's ``joins`` (:func:`_document_joins`) of its tokens
    and of the token after it: a word that a sentence or piece boundary cuts still joins across it."""
    out = []
    for document, document_joins in zip(documents, joins):
        start = 0
        for sentence in document.sentences:
            out.append(document_joins[start : start + len(sentence) + 1])
            start += len(sentence)
    return out


def _rejoined(document: Document, dictionary: Dictionary, joins: list[bool] | None) -> Document:
    """``document`` with the sentences that a phrase of ``dictionary`` runs across joined again, but across
    a paragraph break or two cells of a table, or text the document leaves to another model (``lang``
    auto): the user's phrase (``Yahoo! Japan``) wins over the sentence splitter. ``joins``: a character
    model's :func:`_document_joins` (rejoining keeps the tokens, so they hold after it too)."""
    if len(document.sentences) < 2:
        return document
    inside = _inside(dictionary.matches([t.text for s in document.sentences for t in s], joins))
    starts = list(itertools.accumulate(len(s) for s in document.sentences[:-1]))  # of each sentence but the first
    if not inside.intersection(starts):
        return document
    sentences = [list(document.sentences[0])]
    for start, sentence in zip(starts, document.sentences[1:]):
        end, begin = sentences[-1][-1].end, sentence[0].start
        adjacent = not shown_between(document.text, end, begin)  # no text another model reads between
        if start in inside and adjacent and not apart_between(document.text, end, begin):
            sentences[-1].extend(sentence)
        else:
            sentences.append(list(sentence))
    return Document(document.text, sentences)


@dataclass
class Prediction:
    """The model's reading of one tokenized sentence: BIOES tags, entity spans, their
    probabilities (when asked) and the n best alternatives as ``(log-probability, spans)``."""

    tags: list[str]
    spans: list[Span]
    scores: list[float] | None = None
    alternatives: list[tuple[float, list[Span]]] = field(default_factory=list)


class Tagger:
    """Tags raw text with a trained model. Build it with :meth:`Tagger.load`."""

    def __init__(
        self,
        bundle: bundles.Bundle,
        backend: Backend,
        batch_size: int = 128,
        max_sentence_tokens: int | None = None,
    ) -> None:
        _check_sizes(batch_size, max_sentence_tokens)
        self.bundle = bundle
        self.backend = backend
        self.vocab = bundle.vocab
        self.batch_size = batch_size
        self.char_level = self.vocab.level == "char"
        # A character model of a language written without spaces keeps to the edges of the words of the
        # scripts with spaces in its text (Microsoft in Chinese); one that reads characters because its
        # entities lie inside words (Korean names before their particles) does not.
        self.keeps_to_words = self.char_level and self.language in LANGUAGE_SCRIPTS
        self.max_sentence_tokens = max_sentence_tokens or (MAX_CHARACTERS if self.char_level else MAX_WORDS)
        self.tags = self.vocab.tags.itos
        self._labels = labels = bundle.labels
        self._label_index = {label: i for i, label in enumerate(labels)}
        self.span_tags = crf.SpanTags.from_tags(self.tags, labels)
        # Per tag id: does it open an entity, close one, and of which label (index into labels)?
        self._opens = np.array([t[0] in "BS" for t in self.tags])
        self._closes = np.array([t[0] in "ES" for t in self.tags])
        self._is_outside = np.array([t == "O" for t in self.tags])
        self._inside_or_outside = self._is_outside | np.array([t[0] == "I" for t in self.tags])
        self._label_of = np.array([self._label_index.get(t[2:], 0) for t in self.tags])
        self._dictionaries = RecentValues(DICTIONARY_CACHE, DICTIONARY_CACHE_BYTES, keep_newest=True)
        self._pinned = RecentValues(PINNED_DICTIONARIES, 0)  # apart from those, whatever their size
        self._refused = RecentValues(DICTIONARY_CACHE, 0)  # (key, max_nodes) of those too large: their error
        self._dictionaries_lock = threading.Lock()  # built in several threads at once (the service's)

    @classmethod
    def load(
        cls,
        path: str | Path,
        backend: BackendName = "auto",
        device: str = "cpu",
        threads: int | None = None,
        batch_size: int = 128,
        max_sentence_tokens: int | None = None,
    ) -> Tagger:
        """Load a model directory (checksums verified, no pickled code run).

        ``backend``: ``onnx`` (ONNX Runtime, no torch), ``torch``, or ``auto`` (ONNX where the model
        has an exported encoder, onnxruntime is installed and ``device`` is the CPU, else torch).
        ``batch_size``: most sentences the network reads at once; ``max_sentence_tokens``: longer
        sentences are cut (None: the model level's default).
        """
        _check_sizes(batch_size, max_sentence_tokens)  # before the model is read
        bundle = bundles.load(path, for_tagging=True)  # the backend widens what it needs
        return cls(bundle, load_backend(bundle, backend, device, threads), batch_size, max_sentence_tokens)

    def __reduce__(self) -> NoReturn:
        raise TypeError(
            "a Tagger holds its backend's native sessions and is not pickled: load the model in each worker "
            "process (a multiprocessing Pool's initializer), or tag files with ner tag --engine ray"
        )

    @property
    def name(self) -> str:
        return self.bundle.name

    @property
    def language(self) -> str:
        return self.bundle.language

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    # -- public API ---------------------------------------------------------------

    def tag(self, text: str, scores: bool = True, *, capitals: Capitals = "auto") -> list[Entity]:
        """The entities of one text (``capitals``: :class:`TagOptions`)."""
        return self.tag_batch([_one_text(text)], scores=scores, capitals=capitals)[0]

    def tag_batch(
        self, texts: Sequence[str | Document], scores: bool = True, *, capitals: Capitals = "auto"
    ) -> list[list[Entity]]:
        """The entities of each text, tagged together in batches (``capitals``: :class:`TagOptions`)."""
        return [a.entities for a in self.analyze(texts, TagOptions(scores=scores, capitals=capitals))]

    def nbest(self, text: str, k: int, *, capitals: Capitals = "auto") -> list[Alternative]:
        """The ``k`` most probable analyses of ``text``, best first (``capitals``: :class:`TagOptions`)."""
        options = TagOptions(nbest=k, capitals=capitals)  # checks k (a NumPy integer too) and makes it an int
        if options.nbest < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        return self.analyze([_one_text(text)], options)[0].alternatives

    def cut_in_one_case(self, capitals: Capitals) -> bool | None:
        """Whether this model cuts every text into tokens and sentences as text written in one case: where it
        restores capitals in every text (``capitals`` "restore", a truecaser); None: where a text is so."""
        return True if capitals == "restore" and self.vocab.truecaser is not None else None

    def tokenize(self, text: str, in_one_case: bool | None = None) -> list[Token]:
        """``text``'s tokens: characters, or words, with its corpus's words that the tokenizer cuts whole
        (:mod:`ner.kept_words`)."""
        if self.char_level:
            return tokenize_chars(text)
        kept = self.vocab.kept_words
        return tokenize(text, in_one_case) if kept is None else kept.joined(tokenize(text, in_one_case))

    def built_dictionary(self, key: Hashable) -> bool:
        """Whether a dictionary built with ``key`` is kept, so that :meth:`dictionary` returns it at once."""
        with self._dictionaries_lock:
            return key in self._dictionaries or key in self._pinned

    def dictionary(
        self,
        entries: Mapping[str, str],
        ignore_case: bool = False,
        key: Hashable | None = None,
        prepare: Callable[[Mapping[str, str]], Mapping[str, str]] | None = None,
        pin: bool = False,
        over: Dictionary | None = None,
        max_nodes: int | None = None,
        keep: bool | Callable[[], bool] = True,
    ) -> Dictionary:
        """A :class:`~ner.dictionary.Dictionary` of ``phrase: label`` entries (passed through ``prepare``
        when it is built) for this model, its labels checked, laid ``over`` another when given. The last
        few built are kept (by ``key``, else by the entries), so a client that sends the same terms with
        every request pays for building them once: the most recently used whatever its size, and others
        up to :data:`DICTIONARY_CACHE` of them and :data:`DICTIONARY_CACHE_BYTES` in all. A
        ``pin``-ned one (a configured dictionary, asked for by every request) is kept apart from those,
        the latest :data:`PINNED_DICTIONARIES` only (a file's, with and without ``ignore_case``), and
        those laid over one no longer pinned are forgotten. ``max_nodes`` bounds its trie
        (:class:`~ner.dictionary.Dictionary`; the error names this model, whose tokens it counts: a
        character model's are letters; one refused is remembered, its error raised at once when it comes
        again). Without ``keep`` (or when ``keep()``, asked once it is built, says
        no: a file's reading replaced meanwhile) it is built for one use: kept neither itself nor under
        those laid over it."""
        if not isinstance(entries, Mapping):
            raise TypeError(f"entries must be a mapping of phrase to label, not {type(entries).__name__}")
        if key is None:
            key = (EntriesKey(entries), ignore_case, id(over) if over is not None else None)
        with self._dictionaries_lock:
            if (kept := self._pinned.get(key)) is not None:
                return kept
            if (kept := self._dictionaries.get(key)) is not None:
                if pin:  # pinned from now on, kept apart from the others
                    self._dictionaries.discard(key)
                    self._pin(key, kept)
                return kept
            if (refused := self._refused.get((key, max_nodes))) is not None:  # sent again: not built again
                raise DictionaryTooLarge(refused)
        # Built outside the lock: other requests go on meanwhile (one with the same entries may build them too).
        entries = prepare(entries) if prepare else entries
        check_labels(entries, self.labels)  # before building: a dictionary refused so is not built at all
        try:
            built = Dictionary(
                entries,
                self._phrase_tokens,
                ignore_case,
                other_cuts=self._other_cuts,
                over=over,
                max_nodes=max_nodes,
                characters=self.char_level,
            )
        except DictionaryTooLarge as error:
            message = f"for model {self.name}, {error}"
            with self._dictionaries_lock:
                self._refused.put((key, max_nodes), message, 0)
            raise DictionaryTooLarge(message) from error
        built.made_for = self.name
        with self._dictionaries_lock:
            built.superseded = not (keep() if callable(keep) else keep)
            if not built.superseded:
                if pin:
                    self._pin(key, built)
                elif over is None or not over.superseded:  # over one gone: unkept
                    self._dictionaries.put(key, built, built.held_bytes)
        return built

    def _pin(self, key: Hashable, dictionary: Dictionary) -> None:
        """Keep ``dictionary`` pinned; one it pushes out is superseded (a file read again), and those laid
        over it are forgotten, which would keep its trie alive, uncounted. Called with the lock held."""
        before = [kept for _, kept in self._pinned.items()]
        self._pinned.put(key, dictionary, 0)
        after = {id(kept) for _, kept in self._pinned.items()}
        for gone in before:
            gone.superseded = id(gone) not in after
        for old_key, old in self._dictionaries.items():
            if old.over is not None and old.over.superseded:
                self._dictionaries.discard(old_key)

    def _phrase_tokens(self, phrase: str) -> list[str]:
        return [token.text for token in self.tokenize(phrase)]

    def _other_cuts(self, phrase: str) -> list[list[str]]:
        """The other ways text may cut a dictionary phrase: in the middle of a text (``2. Bundesliga``: no
        list item's number there), in text that mixes cases where the phrase is in lower case (``acme inc.``:
        ``inc`` and ``.`` there, ``inc.`` in text in one case), and where a point joins its last word
        (``Acme Corp.``, ``Plan A.`` before another sentence, and ``Acme Corp`` for the phrase ``Acme Corp.``;
        ``Gate 7.`` before a word, where the model keeps ``7.`` whole: :mod:`ner.kept_words`)."""
        cuts = [self._phrase_tokens("a " + phrase)[1:]]
        if phrase.islower() and not self.char_level:
            cuts.append(self._phrase_tokens("A " + phrase)[1:])
        if self.vocab.kept_words is not None:  # a kept word ending with a point joins it only before a word
            cuts.append(self._phrase_tokens(phrase + (" x" if phrase.islower() else " X"))[:-1])
        if phrase[-1:].isalnum():
            # a name after (in the phrase's case): Plan A. is an initial there
            pointed = self._phrase_tokens(phrase + (". x" if phrase.islower() else ". X"))[:-1]
            if len(pointed[-1]) > 1 and pointed[-1].endswith("."):  # Corp. is one token
                cuts.append(pointed)
        elif phrase.endswith(".") and phrase[-2:-1].isalnum():
            plain, written = self._phrase_tokens(phrase[:-1]), self._phrase_tokens(phrase)
            if plain and plain[-1] + "." == written[-1]:
                cuts.append(plain)
        return cuts

    def read(self, text: str, start: int = 0, end: int | None = None, in_one_case: bool | None = None) -> Document:
        """``text[start:end]`` tokenized and split into sentences, offsets into ``text``; ``in_one_case``: read
        as text written in one case (:func:`ner.text.split_sentences`; None: where it is)."""
        part = text[start:end]
        in_one_case = one_case(part) if in_one_case is None else in_one_case  # decided once, for both steps
        tokens = self.tokenize(part, in_one_case)
        if start:
            tokens = [Token(t.text, t.start + start, t.end + start) for t in tokens]
        whole = self._whole_sentences(text, tokens, in_one_case)
        cut = self._inside_lexicon_words
        return Document(text, [piece for s in whole for piece in cut_sentence(s, self.max_sentence_tokens, cut)])

    def whole_sentences(self, text: str, in_one_case: bool) -> list[list[Token]]:
        """``text``'s sentences as this word model cuts them, none yet cut for length (the router looks
        at each one's script)."""
        return self._whole_sentences(text, self.tokenize(text, in_one_case), in_one_case)

    def _whole_sentences(self, text: str, tokens: list[Token], in_one_case: bool) -> list[list[Token]]:
        sentences = split_sentences(text, tokens, max(len(tokens), 1), in_one_case=in_one_case)
        kept = self.vocab.kept_words
        return sentences if kept is None else kept.cut(text, sentences)  # 1. FC Köln whole; Sie ist 34. | Ihr

    @collector_paused
    def analyze(
        self, texts: Sequence[str | Document], options: TagOptions = TagOptions(), deadline: float | None = None
    ) -> list[Analysis]:
        """Entities of each text (or :class:`Document`); optionally tagged tokens and the n best analyses.

        ``deadline`` (a :func:`time.monotonic` time): raise :class:`DeadlineExceeded` at the first batch
        boundary after it, so that work nobody waits for any more stops.
        """
        texts = None if isinstance(texts, (str, bytes)) else list(texts)  # a generator is read once
        if texts is None or not all(isinstance(t, (str, Document)) for t in texts):
            raise TypeError("texts must be a list of strings (for one text: [text], or tag(text))")
        if not isinstance(options, TagOptions):
            raise TypeError(f"options must be a TagOptions, not {type(options).__name__}")
        if options.dictionary and options.dictionary.made_for not in (None, self.name):
            raise ValueError(f"a dictionary made for {options.dictionary.made_for}, not {self.name}")
        in_one_case = self.cut_in_one_case(options.capitals)
        documents = [_checked(t) if isinstance(t, Document) else self.read(t, in_one_case=in_one_case) for t in texts]
        # Per document, a character model's word joins: entities and a dictionary's phrases keep to word edges.
        joins = [_document_joins(d) for d in documents] if self.keeps_to_words else None
        if joins is not None and not any(map(any, joins)):  # no word written with spaces to keep to
            joins = None
        if options.dictionary:
            documents = [_rejoined(d, options.dictionary, joins and joins[i]) for i, d in enumerate(documents)]
        owners = [i for i, d in enumerate(documents) for _ in d.sentences]
        sentences = [s for d in documents for s in d.sentences]
        predictions = self.predict(
            [[model_form(t.text) for t in s] for s in sentences],
            options,
            documents=owners,
            tags=options.tokens,
            deadline=deadline,
            joins=_sentence_joins(documents, joins) if joins is not None else None,
        )
        analyses = [Analysis([]) for _ in documents]
        alternatives: list[list[list[tuple[float, list[Entity]]]]] = [[] for _ in documents]
        for owner, sentence, prediction in zip(owners, sentences, predictions):
            text = documents[owner].text
            analysis = analyses[owner]
            analysis.entities.extend(_entities(text, sentence, prediction.spans, prediction.scores))
            if options.tokens:
                analysis.tokens.extend(
                    TaggedToken(t.text, t.start, t.end, tag) for t, tag in zip(sentence, prediction.tags)
                )
            if options.nbest:
                alternatives[owner].append(
                    [(log_p, _entities(text, sentence, spans, None)) for log_p, spans in prediction.alternatives]
                )
        if options.nbest:
            for analysis, per_sentence in zip(analyses, alternatives):
                analysis.alternatives = combine_nbest(per_sentence, options.nbest)
        return analyses

    def predict_tags(
        self, sentences: Sequence[Sequence[str]], documents: Sequence[int] | None = None, capitals: Capitals = "auto"
    ) -> list[list[str]]:
        """BIOES tags for pre-tokenized sentences (evaluation on a corpus)."""
        options = TagOptions(scores=False, capitals=capitals)
        return [p.tags for p in self.predict(sentences, options, documents=documents)]

    def predict_corpus_tags(self, sentences: Sequence[Sentence], capitals: Capitals = "auto") -> list[list[str]]:
        """BIOES tags over each annotated sentence's own tokens (``ner predict``): a model tags the tokens
        it sees in text (the characters of a corpus that comes in words, the words of ``Hà_Nội``) and
        gives each token the entities that touch it."""
        pieces = as_model_tokens(sentences, self.char_level)
        predicted = self.predict_tags([s.tokens for s in pieces], [s.document for s in sentences], capitals)
        return [
            tags if cut is sentence else token_tags(sentence, tags, self.char_level)
            for sentence, cut, tags in zip(sentences, pieces, predicted)
        ]

    @collector_paused
    def predict(
        self,
        sentences: Sequence[Sequence[str]],
        options: TagOptions = TagOptions(scores=False),
        documents: Sequence[int] | None = None,
        tags: bool = True,
        deadline: float | None = None,
        joins: Sequence[Sequence[bool]] | None = None,
    ) -> list[Prediction]:
        """Spans (and tags, span probabilities, n-best) of pre-tokenized sentences, in length-sorted batches.

        A sentence longer than the model's limit is cut into pieces as raw text is
        (:func:`ner.text.cut_points`), and the pieces' predictions are joined again.
        ``documents`` (one id per sentence) tells a model with a document memory which
        sentences belong together; without it each sentence is a document of its own.
        ``joins`` (per sentence, :func:`ner.text.word_joins` of its tokens and one more flag, for the token
        after it) keeps a character model's entities and dictionary phrases from starting or ending inside a
        word of a script written with spaces. A document written in one case (any document, with
        ``options.capitals`` "restore"; none, with "as_written") is read with the capitals its model's training
        corpus would give it (:mod:`ner.truecasing`).
        """
        limit = self.max_sentence_tokens
        pieces = [
            (i, start, end)
            for i, s in enumerate(sentences)
            for start, end in cut_points(s, limit, keep=self._uncut(s, options.dictionary, joins and joins[i]))
        ]
        predicted: list[Prediction] = [Prediction([], [])] * len(pieces)
        batches = self.batches([end - start for _, start, end in pieces])

        def cut(source: Sequence[Sequence[str]]) -> list[list[Sequence[str]]]:
            return [[source[pieces[p][0]][pieces[p][1] : pieces[p][2]] for p in indices] for indices in batches]

        chunks = cut(sentences)
        document_of = documents if documents is not None else range(len(sentences))
        chunk_documents = [[document_of[pieces[p][0]] for p in indices] for indices in batches]
        # The network reads a document recased as options.capitals says; a dictionary matches its tokens as written.
        truecaser = self.vocab.truecaser if options.capitals != "as_written" else None
        if truecaser is None:
            read = sentences
        elif options.capitals == "restore":
            read = [truecaser.recase(tokens) for tokens in sentences]
        else:
            read = truecaser.recased(sentences, documents)
        computed = self.emissions(chunks if read is sentences else cut(read), chunk_documents, deadline)
        for indices, chunk, (emissions, mask) in zip(batches, chunks, computed):
            _check(deadline)
            chunk_joins = [joins[pieces[p][0]][pieces[p][1] : pieces[p][2] + 1] for p in indices] if joins else None
            for p, prediction in zip(indices, self.decode(chunk, emissions, mask, options, tags, chunk_joins)):
                predicted[p] = prediction
        if len(pieces) == len(sentences):
            return predicted
        return _join_pieces(pieces, predicted, len(sentences), options)

    def _uncut(self, tokens: Sequence[str], dictionary: Dictionary | None, joins: Sequence[bool] | None) -> set[int]:
        """Where a given sentence too long to tag at once is not cut: inside a dictionary's phrase, and under
        a character model inside a word of a script written with spaces (``Microsoft``), as raw text is."""
        if len(tokens) <= self.max_sentence_tokens:
            return set()
        uncut = _inside(dictionary.matches(tokens, joins)) if dictionary else set()
        if self.keeps_to_words:
            uncut.update(i for i, joined in enumerate(characters_join(tokens)) if joined)
        return uncut

    def _inside_lexicon_words(self, tokens: Sequence[str]) -> set[int]:
        """The indices of ``tokens`` that go on with a word of the model's lexicon begun before them: where raw
        text is not cut (中国人民银行, in a run of Chinese without a comma). Given sentences (a corpus
        scored) are cut as the shipped models' scores were measured. Characters are read as the network reads
        them (臺灣 as 台湾: :mod:`ner.variants`)."""
        if self.vocab.lexicon is None:
            return set()
        read = self.vocab.variants.read([tokens])[0] if self.vocab.variants is not None else tokens
        return _inside(self.vocab.lexicon.matches(read))

    def corpus_emissions(
        self, sentences: Sequence[Sentence]
    ) -> tuple[list[list[int]], Iterator[tuple[np.ndarray, np.ndarray]]]:
        """Annotated ``sentences`` in :meth:`batches` (each a list of indices into them) and the emissions and
        mask of each batch (:meth:`emissions`, with the sentences' documents), computed as they are read."""
        groups = self.batches([len(s.tokens) for s in sentences])
        chunks = [[sentences[i].tokens for i in group] for group in groups]
        documents = [[sentences[i].document for i in group] for group in groups]
        return groups, self.emissions(chunks, documents)

    def batches(self, lengths: Sequence[int]) -> list[list[int]]:
        """Indices of sentences of ``lengths`` sorted by length and cut into the batches :meth:`predict`
        runs: at most :attr:`batch_size` sentences and :data:`BATCH_POSITIONS` padded positions each."""
        order = sorted(range(len(lengths)), key=lengths.__getitem__)
        return _batches(order, [lengths[i] for i in order], self.batch_size)

    def emissions(
        self,
        chunks: Sequence[Sequence[Sequence[str]]],
        documents: Sequence[Sequence[int]],
        deadline: float | None = None,
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Emission scores ``(B, T, K)`` (float32) and mask ``(B, T)`` of each chunk of sentences, in order.

        With a document memory, every chunk is encoded first, since a token's memory pools the
        states of its word everywhere in its document, whichever chunk holds them. The emission
        layer is linear, so the memory's part of each score is the mean of the word's projected
        states: pooled over ``K`` scores per token rather than ``2H`` states, and the states of a
        chunk need not be kept once projected. A character model reads a character it does not know, but
        knows in another form, in the form it knows (:mod:`ner.variants`: 臺灣 as 台湾, ＩＢＭ as IBM); a word
        model, a word it does not know with full-width characters in ASCII (Ｇｏｏｇｌｅ as Google).
        """
        if self.vocab.variants is not None:
            chunks = [self.vocab.variants.read(chunk) for chunk in chunks]
        batches = (self.vocab.encode(chunk) for chunk in chunks if _check(deadline))
        if not self.bundle.config.document_memory:
            for batch in batches:
                yield self.backend.emissions(batch), batch.mask
            return
        own, remembered, bias = self._memory_projection
        projected = []
        for batch in batches:
            states = self.backend.states(batch)  # (B, T, 2H)
            projected.append((batch.mask, states @ own + bias, states[batch.mask] @ remembered))
        groups = np.array(word_groups([s for c in chunks for s in c], [d for ds in documents for d in ds]))
        memory = _group_means(np.concatenate([rows for _, _, rows in projected]), groups)  # (N, K)
        used = 0
        for mask, scores, rows in projected:
            scores[mask] += memory[used : used + len(rows)]
            used += len(rows)
            yield scores.astype(np.float32), mask

    # -- internals -------------------------------------------------------------------

    @functools.cached_property
    def _memory_projection(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The emission layer of a model with a document memory, split: ``(2H, K)`` for a token's own
        states, ``(2H, K)`` for its memory, and the bias ``(K,)``."""
        weight, bias = self.backend.projection()  # (K, 4H): the token's own states, then its memory
        own, remembered = np.split(weight, 2, axis=1)
        return np.ascontiguousarray(own.T), np.ascontiguousarray(remembered.T), bias

    def decode(
        self,
        sentences: Sequence[Sequence[str]],
        emissions: np.ndarray,
        mask: np.ndarray,
        options: TagOptions,
        tags: bool,
        joins: Sequence[Sequence[bool]] | None = None,
    ) -> list[Prediction]:
        """The predictions for one batch of sentences from its emissions ``(B, T, K)`` and mask ``(B, T)``
        (``joins`` as :meth:`predict` takes them)."""
        scores = self.backend.crf_scores()
        allowed = None
        if options.dictionary is not None:
            allowed = options.dictionary.allowed(sentences, emissions.shape[1], self.tags, joins)
        if joins is not None and (edges := self._word_edges(joins, emissions.shape[1])) is not None:
            allowed = edges if allowed is None else allowed & edges
        if (outside := self._outside(sentences, emissions.shape[1])) is not None:
            # where a dictionary's phrase holds such a token (C#), the phrase wins
            allowed = (
                outside
                if allowed is None
                else np.where((allowed & outside).any(-1, keepdims=True), allowed & outside, allowed)
            )
        emissions = crf.constrain(emissions, allowed)
        paths, _ = crf.viterbi(emissions, mask, scores.start, scores.transitions, scores.end, scores.sources)
        predictions = [Prediction([], []) for _ in sentences]
        for row, start, end, label in self._spans(paths, mask):
            predictions[row].spans.append(Span(start, end, self._labels[label]))
        if tags:
            for prediction, path, sentence in zip(predictions, paths.tolist(), sentences):
                prediction.tags = [self.tags[t] for t in path[: len(sentence)]]
        if not (options.scores or options.nbest):
            return predictions
        log_z = None
        if options.scores:
            rows = [(i, s.start, s.end, self._label_index[s.label]) for i, p in enumerate(predictions) for s in p.spans]
            log_z, span_probabilities = self.span_probabilities(emissions, mask, rows, self.bundle.temperature)
            probabilities = iter(span_probabilities)
            for prediction in predictions:
                prediction.scores = [next(probabilities) for _ in prediction.spans]
        if options.nbest:
            calibrated = scores.divided(self.bundle.temperature)
            scaled = emissions / self.bundle.temperature
            k_paths, k_scores = crf.nbest(
                scaled,
                mask,
                calibrated.start,
                calibrated.transitions,
                calibrated.end,
                options.nbest,
                calibrated.sources,
            )
            if log_z is None:
                log_z = crf.forward_backward(scaled, mask, calibrated.start, calibrated.transitions, calibrated.end)[2]
            with np.errstate(invalid="ignore"):
                log_probs = (k_scores - log_z[:, None]).tolist()
            for prediction, sentence, candidates, candidate_log_probs in zip(
                predictions, sentences, k_paths.tolist(), log_probs
            ):
                for path, log_p in zip(candidates, candidate_log_probs):
                    if math.isfinite(log_p) and math.exp(log_p) > 0:  # not a forbidden path (crf.nbest) nor missing
                        spans = tags_to_spans([self.tags[t] for t in path[: len(sentence)]])
                        prediction.alternatives.append((log_p, spans))
        return predictions

    def _word_edges(self, joins: Sequence[Sequence[bool]], width: int) -> np.ndarray | None:
        """Which tags each character may take, ``(B, width, K)`` bool, so that no entity starts or ends inside
        a word of a script written with spaces (``Microsoft``, ``1998`` in Chinese text): its characters are
        all outside entities or all in one; None where no sentence holds such a word (``joins`` as
        :meth:`predict` takes them)."""
        allowed = None
        for row, flags in enumerate(joins):
            if not any(flags):
                continue
            going_on = np.flatnonzero(flags)  # characters (the first too, and the one after) going on with a word
            if allowed is None:
                allowed = np.ones((len(joins), width, len(self.tags)), dtype=bool)
            allowed[row, going_on[going_on < width, None], self._opens] = False
            allowed[row, going_on[going_on > 0, None] - 1, self._closes] = False
        return allowed

    def _outside(self, sentences: Sequence[Sequence[str]], width: int) -> np.ndarray | None:
        """Which tags each token may take, ``(B, width, K)`` bool: a lone ``#`` or ``@`` or an emoji only ``O``,
        since no corpus's entity holds one as a rule (``王芳😂`` was a person with its emoji, ``#李明#``
        ``李明#``), and a sentence's ``!``, ``?`` or ``...`` only ``O`` or inside an entity (``Angela Merkel!``
        was a person with its ``!``); None where no sentence holds one, or where the model's corpus put one in
        an entity (``C#`` a skill; ``Jeopardy!`` a title)."""
        allowed = None
        joined = " ".join(itertools.chain.from_iterable(sentences))
        if self.vocab.symbols_in_entities or not (SYMBOL.search(joined) or END_MARKS.search(joined)):
            return None
        for row, tokens in enumerate(sentences):
            line = " ".join(tokens)  # most sentences hold neither: one search each, no token looked at
            for pattern, tags in ((SYMBOL, self._is_outside), (END_MARKS, self._inside_or_outside)):
                if not pattern.search(line):
                    continue
                positions = [i for i, token in enumerate(tokens[:width]) if pattern.fullmatch(token)]
                if positions and allowed is None:
                    allowed = np.ones((len(sentences), width, len(self.tags)), dtype=bool)
                if positions:
                    allowed[row, positions, :] = tags
        return allowed

    def span_probabilities(
        self, emissions: np.ndarray, mask: np.ndarray, rows: list[tuple[int, int, int, int]], temperature: float
    ) -> tuple[np.ndarray | None, list[float]]:
        """The log-partition ``(B,)`` and the probability of each ``(sentence, start, end, label index)`` span,
        emissions ``(B, T, K)`` and the CRF's scores divided by ``temperature`` (:mod:`ner.calibration`); no
        work (and no log-partition) when there are no spans."""
        if not rows:
            return None, []
        scores = self.backend.crf_scores().divided(temperature)
        emissions = emissions / temperature
        alpha, beta, log_z = crf.forward_backward(emissions, mask, scores.start, scores.transitions, scores.end)
        spans = np.array(rows, dtype=np.int64)
        log_probs = crf.span_log_probs(emissions, alpha, beta, log_z, scores.transitions, spans, self.span_tags)
        return log_z, np.exp(log_probs).clip(0.0, 1.0).tolist()

    def _spans(self, paths: np.ndarray, mask: np.ndarray) -> list[tuple[int, int, int, int]]:
        """``(sentence, start, end, label index)`` of every entity in valid BIOES ``paths`` ``(B, T)``.

        In a valid path entities open at ``B``/``S`` and close at ``E``/``S``, in order, so
        pairing the i-th opening with the i-th closing (row-major) gives the spans without
        a Python loop over tokens.
        """
        rows, starts = np.nonzero(self._opens[paths] & mask)
        _, ends = np.nonzero(self._closes[paths] & mask)
        labels = self._label_of[paths[rows, starts]]
        return list(zip(rows.tolist(), starts.tolist(), (ends + 1).tolist(), labels.tolist()))


def _batches(order: list[int], lengths: list[int], size: int) -> list[list[int]]:
    """``order`` (sorted by ``lengths``, ascending) cut into batches of at most ``size`` sentences and
    :data:`BATCH_POSITIONS` padded positions (long sentences go in smaller batches, which bounds the
    encoder's working memory), where they cost least by :func:`_batch_cost`: the encoder runs over
    padding as over tokens, so a few short sentences padded to a long one's length cost more than a
    batch of their own. The cheaper of :func:`_planned_starts` and batches filled to the bounds."""
    planned, filled = _planned_starts(lengths, size), _filled_starts(lengths, size)
    starts = min(planned, filled, key=lambda cut: _cuts_cost(cut, lengths))
    return [order[begin:end] for begin, end in zip(starts, [*starts[1:], len(order)])]


def _planned_starts(lengths: list[int], size: int) -> list[int]:
    """Where batches of sentences of sorted ``lengths`` start, planned by a dynamic program over them:
    the cheapest cuts of the first ``end`` sentences end in a batch starting where the length grows (a
    start inside a run of equal lengths costs less moved to the run's end, when the batch before can
    take them), as early as the bounds allow, or at the last sentence alone. Searching every start
    finds cuts at most 0.1% cheaper on CoNLL-2003's and MSRA's sentences; where the bounds bind,
    filling batches may be cheaper."""
    count = len(lengths)
    grows = [i for i in range(count) if i == 0 or lengths[i] != lengths[i - 1]]  # where each length begins
    cost = [0.0] + [math.inf] * count  # cost[end]: of the cheapest cuts of the first end sentences
    start_of = [0] * (count + 1)  # start_of[end]: where their last batch starts
    for end in range(1, count + 1):
        longest = lengths[end - 1]
        earliest = max(end - size, end - max(BATCH_POSITIONS // max(longest, 1), 1), 0)
        inside = grows[bisect.bisect_right(grows, earliest) : bisect.bisect_left(grows, end - 1)]
        for start in {earliest, end - 1, *inside}:
            if (total := cost[start] + _batch_cost(end - start, longest)) < cost[end]:
                cost[end], start_of[end] = total, start
    starts, end = [], count
    while end:
        end = start_of[end]
        starts.append(end)
    return starts[::-1]


def _filled_starts(lengths: list[int], size: int) -> list[int]:
    """Where batches of sentences of sorted ``lengths`` start, each filled to the bounds."""
    starts: list[int] = []
    for index, length in enumerate(lengths):
        if not starts or index - starts[-1] == size or (index - starts[-1] + 1) * length > BATCH_POSITIONS:
            starts.append(index)
    return starts


def _cuts_cost(starts: list[int], lengths: list[int]) -> int:
    ends = [*starts[1:], len(lengths)]
    return sum(_batch_cost(end - start, lengths[end - 1]) for start, end in zip(starts, ends))


# The cost of a batch in encoded positions: each call and each time step of the CRF's loops costs about as
# much as this many positions more (measured on one thread: a position 9-13 us, a call 200-300 us, a step
# 15-25 us; eng.testb tagged in calls of 64 texts: 1.23x the speed of batches filled to the bounds).
BATCH_COST, STEP_COST = 32, 2


def _batch_cost(sentences: int, longest: int) -> int:
    return BATCH_COST + longest * (STEP_COST + sentences)


class DeadlineExceeded(TimeoutError):
    """Tagging passed its deadline; what was computed is dropped."""


def _check(deadline: float | None) -> bool:
    """True while ``deadline`` (a :func:`time.monotonic` time) has not passed; else raise."""
    if deadline is not None and time.monotonic() > deadline:
        raise DeadlineExceeded("tagging passed its deadline")
    return True


def _group_means(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """For rows ``values (N, D)`` and their groups ``(N,)``, numbered in order of first appearance (as
    :func:`ner.features.word_groups` numbers them), the mean row of each row's group ``(N, D)``."""
    size = int(groups.max()) + 1 if len(groups) else 0
    if size == len(groups):  # every row its own group (ids are given in order of first appearance)
        return values
    width = values.shape[1]
    cells = (groups[:, None] * width + np.arange(width)).ravel()  # one bincount over every (group, column)
    sums = np.bincount(cells, weights=values.ravel(), minlength=size * width).reshape(size, width)
    counts = np.maximum(np.bincount(groups, minlength=size), 1)
    return (sums / counts[:, None])[groups].astype(values.dtype)


def _join_pieces(
    pieces: list[tuple[int, int, int]], predicted: list[Prediction], count: int, options: TagOptions
) -> list[Prediction]:
    """The predictions of whole sentences from those of their ``(sentence, start, end)`` pieces."""
    out = [Prediction([], [], [] if options.scores else None) for _ in range(count)]
    alternatives: list[list[list[tuple[float, list[Span]]]]] = [[] for _ in range(count)]
    for (i, start, _), part in zip(pieces, predicted):
        whole = out[i]
        whole.tags.extend(part.tags)
        whole.spans.extend(Span(s.start + start, s.end + start, s.label) for s in part.spans)
        if options.scores:
            whole.scores.extend(part.scores or [])
        alternatives[i].append(
            [
                (log_p, [Span(s.start + start, s.end + start, s.label) for s in spans])
                for log_p, spans in part.alternatives
            ]
        )
    if options.nbest:
        for whole, per_piece in zip(out, alternatives):
            whole.alternatives = best_combinations(per_piece, options.nbest)
    return out


def _entities(text: str, tokens: list[Token], spans: list[Span], span_scores: list[float] | None) -> list[Entity]:
    """Token spans as entities with character offsets into ``text``."""
    entities = []
    for n, span in enumerate(spans):
        start, end = tokens[span.start].start, tokens[span.end - 1].end
        score = span_scores[n] if span_scores is not None else None
        entities.append(Entity(start, end, span.label, text[start:end], score))
    return entities


def best_combinations(parts: Sequence[Sequence[tuple[float, list]]], k: int) -> list[tuple[float, list]]:
    """The ``k`` best joint choices of one ``(log-probability, items)`` option per independent part.

    Log-probabilities add and item lists concatenate; best first. Each step keeps the ``k`` best
    partial choices as links to the previous step's (not copies of their items), so the work is
    linear in the number of parts; only the ``k`` final choices are spelled out.
    """
    combined: list[tuple[float, tuple | None]] = [(0.0, None)]  # (log-probability, (items, earlier link))
    for options in parts:
        pairs = ((a + b, (items, link)) for (a, link), (b, items) in itertools.product(combined, options))
        combined = heapq.nlargest(k, pairs, key=lambda pair: pair[0])
    out = []
    for log_p, link in combined:
        chunks = []
        while link is not None:
            items, link = link
            chunks.append(items)
        out.append((log_p, [item for chunk in reversed(chunks) for item in chunk]))
    return out


def combine_nbest(per_sentence: Sequence[Sequence[tuple[float, list[Entity]]]], k: int) -> list[Alternative]:
    """The ``k`` best joint analyses of independent sentences from each one's ``k`` best."""
    return [Alternative(entities, log_p) for log_p, entities in best_combinations(per_sentence, k)]
