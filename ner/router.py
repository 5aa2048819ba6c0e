"""Several models behind one call: pick a model by name, by language, or by the script of the text.

With ``lang="auto"``, each text is cut into runs of sentences written in the
same script (CJK, Thai, Lao, Tibetan, Myanmar, Khmer; Cyrillic, Greek, Arabic,
an Indic script, Hangul and the others of :data:`ner.text.SPACED_SCRIPTS`
where a model is for one of their languages; else Latin); each run goes to a
model of that script and the entities come back with offsets into the whole
text. Mixed Chinese and English text is thus tagged by both models in one call.

:meth:`Router.route` decides once, before any tagging, which model reads
which part of each text (a :class:`Route`, whose name the service reports);
the sentences found while deciding are handed on, not found again;
:meth:`Router.analyze` tags them, as the service and ``ner tag`` do.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from ner.dictionary import Dictionary, check_labels, entries_for
from ner.tagger import Alternative, Analysis, Document, Entity, TaggedToken, Tagger, TagOptions, combine_nbest
from ner.text import (
    LANGUAGE_SCRIPTS,
    SPACED_LANGUAGE_SCRIPTS,
    Token,
    cut_sentence,
    one_case,
    spaced_script,
    split_sentences,
    tokenize,
    unspaced_script,
)
from ner.truecasing import Capitals

_Spanned = TypeVar("_Spanned", Entity, TaggedToken)


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


def default_names(default: str | None, names: Collection[str]) -> list[str]:
    """The default models ``default`` names: one name (a model's whole name, commas and all), or names
    separated by commas."""
    if default is not None and default.strip() in names:
        return [default.strip()]
    return [name.strip() for name in (default or "").split(",") if name.strip()]


def languages_chosen_twice(chosen: Sequence[tuple[str, str]]) -> list[str]:
    """What is wrong with default models ``chosen`` as (name, language): each language chosen twice."""
    first: dict[str, str] = {}
    return [
        f"{first[language]!r} and {name!r} are both for language {language!r}: name one per language"
        for name, language in chosen
        if first.setdefault(language, name) != name
    ]


def preference(models: Sequence[tuple[str, str]], chosen: Sequence[str] = ()) -> list[tuple[str, str]]:
    """``(name, language)`` of ``models`` in the order a router prefers them: the ``chosen`` defaults first, in
    order, else the first English one; then the others as loaded. The first of each language takes its
    requests, the first of each script its text under ``lang="auto"``."""
    english = [name for name, language in models if language == "en"]
    order = list(chosen) or [english[0] if english else models[0][0]]
    return sorted(models, key=lambda model: order.index(model[0]) if model[0] in order else len(order))


def unrouted(models: Sequence[tuple[str, str]], chosen: Sequence[str] = ()) -> dict[str, str]:
    """Each of ``models`` (name, language) that ``lang="auto"`` sends no text to -> the model it sends the
    text of that script to (:func:`preference`)."""
    takers: dict[str | None, str] = {}
    return {
        name: takers[script]
        for name, language in preference(models, chosen)
        if takers.setdefault(script := script_of(language), name) != name
    }


class Router:
    """Loaded taggers by name, with a default.

    ``default``: a model's name, or names separated by commas, one per language (:func:`default_names`): the
    first is the default of requests that name no model, each the model of its language (``lang``) and, the
    first of each script, of its script (``lang="auto"``). A language without one goes to its first model loaded.
    """

    def __init__(self, taggers: Sequence[Tagger], default: str | None = None) -> None:
        if not taggers:
            raise ValueError("no models to serve")
        names = [t.name for t in taggers]
        if len(set(names)) != len(names):
            raise ValueError(f"two models share a name: {sorted(names)}")
        self.taggers = {t.name: t for t in taggers}
        chosen = default_names(default, self.taggers)
        for name in chosen:
            if name not in self.taggers:
                raise UnknownModelError(f"default model {name!r} is not among {sorted(self.taggers)}")
        if conflicts := languages_chosen_twice([(name, self.taggers[name].language) for name in chosen]):
            raise ValueError(conflicts[0])
        models = [(t.name, t.language) for t in taggers]
        preferred = [self.taggers[name] for name, _ in preference(models, chosen)]
        self.unrouted = unrouted(models, chosen)  # the models lang="auto" sends no text to -> who takes it
        self.default = preferred[0].name
        self.language_models: dict[str, str] = {}  # the model each language's requests go to
        for tagger in preferred:
            self.language_models.setdefault(tagger.language, tagger.name)
        by_script: dict[str | None, Tagger] = {}
        for tagger in preferred:
            by_script.setdefault(script_of(tagger.language), tagger)
        # The model of each script that lang="auto" routes between (None: Latin and the scripts with spaces no
        # model is for); with one script loaded, the default model tags everything.
        self.script_models = by_script if len(by_script) > 1 else None
        self.spaced_scripts = [s for s in by_script if s in SPACED_LANGUAGE_SCRIPTS.values()]

    def scripts(self) -> dict[str, str]:
        """The model ``lang="auto"`` sends each script to, by the script's name (``"other"``: Latin and the
        scripts no model is for; ``"any"``: every text, where the models share one script)."""
        if self.script_models is None:
            return {"any": self.default}
        return {script or "other": tagger.name for script, tagger in self.script_models.items()}

    def for_language(self, language: str) -> Tagger:
        if language not in self.language_models:
            raise UnknownModelError(f"no model for language {language!r}; loaded: {self.languages()}")
        return self.taggers[self.language_models[language]]

    def languages(self) -> list[str]:
        return sorted(self.language_models)

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

    def route(
        self, texts: Sequence[str], model: str | None = None, lang: str = "auto", capitals: Capitals = "auto"
    ) -> Route:
        """Which model reads which part of each text: by name, by ``lang``, or per script run; each model
        cuts its parts as ``capitals`` has it (:meth:`ner.tagger.Tagger.cut_in_one_case`)."""
        texts = list(texts)  # a generator is read once
        name = self.choose(model, lang)
        if model is not None or lang != "auto" or self.script_models is None:
            tagger = (
                self.get(model) if model is not None else self.for_language(lang) if lang != "auto" else self.get(None)
            )
            in_one_case = tagger.cut_in_one_case(capitals)
            read = [Part(i, tagger.read(text, in_one_case=in_one_case)) for i, text in enumerate(texts)]
            return Route(name, [(tagger, read)], len(texts))
        spaced = self.script_models.get(None, self.get(None))  # also reads a script no model is for
        parts: dict[str, list[Part]] = {}
        for index, text in enumerate(texts):
            read: dict[str, list] = {}  # each model's sentences of this text: one document, its memory whole
            runs = script_runs(
                text,
                spaced.max_sentence_tokens,
                spaced.cut_in_one_case(capitals),
                self.spaced_scripts,
                None if spaced.char_level else spaced.whole_sentences,
            )
            for start, end, script, sentences in runs:
                tagger = self.script_models.get(script, spaced)
                if not (tagger is spaced and not tagger.char_level):  # else the word tokenizer split it already
                    sentences = tagger.read(text, start, end, tagger.cut_in_one_case(capitals)).sentences
                read.setdefault(tagger.name, []).extend(sentences)
            for name, sentences in read.items():
                parts.setdefault(name, []).append(Part(index, Document(text, sentences)))
        jobs = [(self.taggers[name], tagger_parts) for name, tagger_parts in parts.items()]
        return Route("+".join(sorted(parts)) or spaced.name, jobs, len(texts), auto=True)  # who read something

    def analyze(
        self,
        texts: Iterable[str],
        options: TagOptions | None = None,
        model: str | None = None,
        lang: str = "auto",
        dictionaries: Mapping[str, Dictionary] | None = None,
    ) -> list[Analysis]:
        """Tag ``texts`` as the service does: each with the model named, or of ``lang``, or each run of its
        sentences with the model of their script (``lang="auto"``), merged per text; ``dictionaries``
        (:meth:`dictionaries`) constrain the models they are given for."""
        options = options or TagOptions()
        route = self.route(list(texts), model, lang, options.capitals)
        results = [
            tagger.analyze(
                [part.document for part in parts],
                replace(options, dictionary=dictionaries.get(tagger.name)) if dictionaries else options,
            )
            for tagger, parts in route.jobs
        ]
        return merge(route, results, options)

    def dictionaries(
        self, entries: Mapping[str, str], ignore_case: bool = False, model: str | None = None, lang: str = "auto"
    ) -> dict[str, Dictionary]:
        """A dictionary of ``entries`` for each model that texts tagged with these choices may go to; under
        ``lang="auto"`` each takes the entries of its own labels (:meth:`entries_for`)."""
        if model is not None or lang != "auto" or self.script_models is None:
            tagger = self.get(self.choose(model, lang))
            return {tagger.name: tagger.dictionary(entries, ignore_case)}
        built = {}
        for tagger in self.script_models.values():
            prepare = functools.partial(self.entries_for, tagger=tagger)
            built[tagger.name] = tagger.dictionary(entries, ignore_case, prepare=prepare)
        return built

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
    """The analysis of each text from those of its parts (``results`` holds one list per job); a model's
    part may run around another's (its sentences before and after a run in another script)."""
    pieces: list[list[Analysis]] = [[] for _ in range(route.texts)]
    for (_, parts), analyses in zip(route.jobs, results):
        for part, analysis in zip(parts, analyses):
            pieces[part.text].append(analysis)
    out = []
    for text_parts in pieces:
        if len(text_parts) == 1:
            out.append(text_parts[0])
            continue
        merged = Analysis(
            _in_order(e for p in text_parts for e in p.entities), _in_order(t for p in text_parts for t in p.tokens)
        )
        if options.nbest:
            per_part = [[(a.log_probability, a.entities) for a in p.alternatives] for p in text_parts]
            merged.alternatives = [
                Alternative(_in_order(a.entities), a.log_probability) for a in combine_nbest(per_part, options.nbest)
            ]
        out.append(merged)
    return out


def _in_order(items: Iterable[_Spanned]) -> list[_Spanned]:
    return sorted(items, key=lambda item: item.start)


def script_of(language: str) -> str | None:
    """The script a model of ``language`` is for: one written without spaces between words, one of the
    :data:`ner.text.SPACED_SCRIPTS`, or ``None`` (Latin and the rest)."""
    code = language.split("-")[0].lower()
    return LANGUAGE_SCRIPTS.get(code) or SPACED_LANGUAGE_SCRIPTS.get(code)


def script_runs(
    text: str,
    max_tokens: int = 150,
    in_one_case: bool | None = None,
    spaced_scripts: Sequence[str] = (),
    sentences_of: Callable[[str, bool], list[list[Token]]] | None = None,
) -> list[tuple[int, int, str | None, list]]:
    """``(start, end, script, sentences)`` runs of consecutive sentences written mostly in one script
    written without spaces between words (:func:`ner.text.unspaced_script`) or in one of ``spaced_scripts``
    (:func:`ner.text.spaced_script`; ``None``: in the other scripts with spaces); ``sentences`` are the run's
    sentences of word tokens (as ``sentences_of`` cuts the text, a word model's
    :meth:`~ner.tagger.Tagger.whole_sentences`; else the tokenizer and :func:`ner.text.split_sentences`),
    cut to ``max_tokens`` once each whole sentence has its script (a long sentence's pieces are not routed
    apart)."""
    runs: list[tuple[int, int, str | None, list]] = []
    in_one_case = one_case(text) if in_one_case is None else in_one_case  # decided once, for both steps
    if sentences_of is None:
        tokens = tokenize(text, in_one_case)
        whole = split_sentences(text, tokens, max(len(tokens), 1), in_one_case=in_one_case)
    else:
        whole = sentences_of(text, in_one_case)
    for sentence in whole:
        start, end = sentence[0].start, sentence[-1].end
        script = unspaced_script(text[start:end])
        if script is None and spaced_scripts:
            script = spaced_script(text[start:end], spaced_scripts)
        pieces = cut_sentence(sentence, max_tokens)
        if runs and runs[-1][2] == script:
            runs[-1][3].extend(pieces)
            runs[-1] = (runs[-1][0], end, script, runs[-1][3])
        else:
            runs.append((start, end, script, pieces))
    return runs
