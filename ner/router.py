"""Several models behind one call: pick a model by name, by language, or by the script of the text.

With ``lang="auto"``, each text is cut into runs of sentences written in the
same script (CJK, Thai, Lao, Tibetan, Myanmar, Khmer, or one with spaces
between words); each run goes to a model of that script and the entities come
back with offsets into the whole text. Mixed Chinese and English text is thus
tagged by both models in one call.

:meth:`Router.route` decides once, before any tagging, which model reads
which part of each text (a :class:`Route`, whose name the service reports);
the sentences found while deciding are handed on, not found again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ner.dictionary import check_labels, entries_for
from ner.tagger import Analysis, Document, Tagger, TagOptions, combine_nbest
from ner.text import split_sentences, tokenize, unspaced_script

# The languages written without spaces between words, by script (ner.text.UNSPACED_SCRIPTS); a model of
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


class UnknownModelError(KeyError):
    """No loaded model has the requested name or language."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Part:
    """One part of one text (the whole text, or a run of sentences in one script), as its model reads it."""

    text: int  # index of the text in the request
    document: Document


@dataclass(frozen=True)
class Route:
    """Which model reads which part of each text: ``jobs`` pairs each model with its parts."""

    name: str  # the model, or for per-script routing the models that read a part joined by "+"
    jobs: list[tuple[Tagger, list[Part]]]
    texts: int
    auto: bool = False  # routed per script run, among the models of Router.script_models


class Router:
    """Loaded taggers by name, with a default."""

    def __init__(self, taggers: Sequence[Tagger], default: str | None = None) -> None:
        if not taggers:
            raise ValueError("no models to serve")
        names = [t.name for t in taggers]
        if len(set(names)) != len(names):
            raise ValueError(f"two models share a name: {sorted(names)}")
        self.taggers = {t.name: t for t in taggers}
        if default is not None and default not in self.taggers:
            raise UnknownModelError(f"default model {default!r} is not among {sorted(self.taggers)}")
        english = [t.name for t in taggers if t.language == "en"]
        self.default = default or (english[0] if english else taggers[0].name)
        by_script: dict[str | None, Tagger] = {}
        for tagger in sorted(taggers, key=lambda t: t.name != self.default):  # the default first, for its script
            by_script.setdefault(LANGUAGE_SCRIPTS.get(tagger.language), tagger)
        # The model of each script that lang="auto" routes between (None: the scripts with spaces); with
        # one script loaded, the default model tags everything.
        self.script_models = by_script if len(by_script) > 1 else None

    def for_language(self, language: str) -> Tagger:
        if self.taggers[self.default].language == language:
            return self.taggers[self.default]
        for tagger in self.taggers.values():
            if tagger.language == language:
                return tagger
        raise UnknownModelError(f"no model for language {language!r}; loaded: {self.languages()}")

    def languages(self) -> list[str]:
        return sorted({t.language for t in self.taggers.values()})

    def get(self, name: str | None) -> Tagger:
        if name is None:
            return self.taggers[self.default]
        if name not in self.taggers:
            raise UnknownModelError(f"unknown model {name!r}; loaded: {sorted(self.taggers)}")
        return self.taggers[name]

    def choose(self, model: str | None = None, lang: str = "auto") -> str:
        """The name a route for these choices will have, without reading any text; raises
        :class:`UnknownModelError` as :meth:`route` would."""
        if model is not None:
            return self.get(model).name
        if lang != "auto":
            return self.for_language(lang).name
        if self.script_models is None:
            return self.default
        return "+".join(sorted(t.name for t in self.script_models.values()))

    def route(self, texts: Sequence[str], model: str | None = None, lang: str = "auto") -> Route:
        """Which model reads which part of each text: by name, by ``lang``, or per script run."""
        texts = list(texts)  # a generator is read once
        name = self.choose(model, lang)
        if model is not None or lang != "auto" or self.script_models is None:
            tagger = (
                self.get(model) if model is not None else self.for_language(lang) if lang != "auto" else self.get(None)
            )
            return Route(name, [(tagger, [Part(i, tagger.read(text)) for i, text in enumerate(texts)])], len(texts))
        spaced = self.script_models.get(None, self.get(None))  # also reads a script no model is for
        parts: dict[str, list[Part]] = {}
        for index, text in enumerate(texts):
            for start, end, script, sentences in script_runs(text, spaced.max_sentence_tokens):
                tagger = self.script_models.get(script, spaced)
                if tagger is spaced and not tagger.char_level:  # the word tokenizer split this run already
                    part = Part(index, Document(text, sentences))
                else:
                    part = Part(index, tagger.read(text, start, end))
                parts.setdefault(tagger.name, []).append(part)
        jobs = [(self.taggers[name], tagger_parts) for name, tagger_parts in parts.items()]
        return Route("+".join(sorted(parts)) or spaced.name, jobs, len(texts), auto=True)  # who read something

    def entries_for(self, entries: Mapping[str, str], tagger: Tagger) -> dict[str, str]:
        """Under ``lang="auto"`` a request's dictionary serves every model a text may go to: ``tagger``
        takes the entries of its own labels (and every blocked phrase), and a label that no model of
        :attr:`script_models` has raises :class:`ner.dictionary.DictionaryError`, whichever models the
        texts went to."""
        assert self.script_models is not None
        models = self.script_models.values()
        names = ", ".join(sorted(t.name for t in models))
        check_labels(entries, (label for t in models for label in t.labels), f"any model lang auto uses ({names})")
        return entries_for(entries, tagger.labels)


def merge(route: Route, results: Sequence[Sequence[Analysis]], options: TagOptions) -> list[Analysis]:
    """The analysis of each text from those of its parts (``results`` holds one list per job)."""
    pieces: list[list[tuple[int, Analysis]]] = [[] for _ in range(route.texts)]
    for (_, parts), analyses in zip(route.jobs, results):
        for part, analysis in zip(parts, analyses):
            first = part.document.sentences[0][0].start if part.document.sentences else 0
            pieces[part.text].append((first, analysis))
    out = []
    for text_pieces in pieces:
        if len(text_pieces) == 1:
            out.append(text_pieces[0][1])
            continue
        parts = [analysis for _, analysis in sorted(text_pieces, key=lambda piece: piece[0])]
        merged = Analysis([e for p in parts for e in p.entities], [t for p in parts for t in p.tokens])
        if options.nbest:
            per_run = [[(a.log_probability, a.entities) for a in p.alternatives] for p in parts]
            merged.alternatives = combine_nbest(per_run, options.nbest)
        out.append(merged)
    return out


def script_runs(text: str, max_tokens: int = 150) -> list[tuple[int, int, str | None, list]]:
    """``(start, end, script, sentences)`` runs of consecutive sentences written mostly in one script
    written without spaces between words (:func:`ner.text.unspaced_script`; ``None``: in scripts with
    spaces); ``sentences`` are the run's sentences of word tokens."""
    runs: list[tuple[int, int, str | None, list]] = []
    for sentence in split_sentences(text, tokenize(text), max_tokens):
        start, end = sentence[0].start, sentence[-1].end
        script = unspaced_script(text[start:end])
        if runs and runs[-1][2] == script:
            runs[-1][3].append(sentence)
            runs[-1] = (runs[-1][0], end, script, runs[-1][3])
        else:
            runs.append((start, end, script, [sentence]))
    return runs
