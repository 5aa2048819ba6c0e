"""Several models behind one call: pick a model by name, by language, or by the script of the text.

With ``lang="auto"``, each text is cut into runs of sentences written in the
same script (CJK or not); each run goes to a model of that language and the
entities come back with offsets into the whole text. Mixed Chinese and
English text is thus tagged by both models in one call.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from ner.tagger import Alternative, Analysis, Tagger, combine_nbest
from ner.text import cjk_ratio, split_sentences, tokenize

CJK_LANGUAGES = ("zh", "ja")


class UnknownModelError(KeyError):
    """No loaded model has the requested name or language."""

    def __str__(self) -> str:
        return str(self.args[0])


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

    def script_models(self) -> tuple[Tagger, Tagger] | None:
        """The ``(CJK, other)`` models that ``lang="auto"`` routes between, or None when one script family
        is loaded (then the default model tags everything)."""
        cjk = next((t for t in self.taggers.values() if t.language in CJK_LANGUAGES), None)
        other = next((t for t in self.taggers.values() if t.language not in CJK_LANGUAGES), None)
        return (cjk, other) if cjk and other else None

    def describe(self, model: str | None = None, lang: str = "auto") -> str:
        """The name of the model that :meth:`analyze` uses for these choices; for per-script routing,
        the two names joined by ``+``. Raises :class:`UnknownModelError` as :meth:`analyze` would."""
        if model is not None:
            return self.get(model).name
        if lang != "auto":
            return self.for_language(lang).name
        pair = self.script_models()
        return self.default if pair is None else "+".join(sorted(t.name for t in pair))

    def analyze(
        self,
        texts: Sequence[str],
        model: str | None = None,
        lang: str = "auto",
        scores: bool = True,
        tokens: bool = False,
        nbest: int = 0,
    ) -> list[Analysis]:
        """Like :meth:`Tagger.analyze`, choosing the model by name, by ``lang``, or per script run."""
        options = {"scores": scores, "tokens": tokens, "nbest": nbest}
        if model is not None:
            return self.get(model).analyze(texts, **options)
        if lang != "auto":
            return self.for_language(lang).analyze(texts, **options)
        pair = self.script_models()
        if pair is None:
            return self.get(None).analyze(texts, **options)
        cjk, other = pair
        # Tag each script run with its model, all texts' runs of a model in one batch.
        runs = [script_runs(text) for text in texts]
        jobs: dict[str, list[tuple[int, int, str]]] = {cjk.name: [], other.name: []}
        for index, text_runs in enumerate(runs):
            for start, end, is_cjk in text_runs:
                jobs[cjk.name if is_cjk else other.name].append((index, start, end))
        pieces: dict[tuple[int, int], Analysis] = {}
        for name, items in jobs.items():
            if items:
                results = self.taggers[name].analyze([texts[i][s:e] for i, s, e in items], **options)
                pieces.update({(i, s): shift(r, s) for (i, s, _), r in zip(items, results)})
        out = []
        for index, text_runs in enumerate(runs):
            parts = [pieces[(index, start)] for start, _, _ in text_runs]
            merged = Analysis([e for p in parts for e in p.entities], [t for p in parts for t in p.tokens])
            if nbest:
                per_run = [[(_log(a.probability), a.entities) for a in p.alternatives] for p in parts]
                merged.alternatives = combine_nbest(per_run, nbest)
            out.append(merged)
        return out


def script_runs(text: str) -> list[tuple[int, int, bool]]:
    """``(start, end, is_cjk)`` runs of consecutive sentences written mostly in CJK or not."""
    runs: list[tuple[int, int, bool]] = []
    for sentence in split_sentences(text, tokenize(text)):
        start, end = sentence[0].start, sentence[-1].end
        is_cjk = cjk_ratio(text[start:end]) > 0.5
        if runs and runs[-1][2] == is_cjk:
            runs[-1] = (runs[-1][0], end, is_cjk)
        else:
            runs.append((start, end, is_cjk))
    return runs


def shift(analysis: Analysis, offset: int) -> Analysis:
    """The analysis of a substring, with offsets moved into the whole text."""
    if offset == 0:
        return analysis

    def move(item):
        return dataclasses.replace(item, start=item.start + offset, end=item.end + offset)

    return Analysis(
        [move(e) for e in analysis.entities],
        [move(t) for t in analysis.tokens],
        [Alternative([move(e) for e in a.entities], a.probability) for a in analysis.alternatives],
    )


def _log(probability: float) -> float:
    return math.log(probability) if probability > 0 else float("-inf")
