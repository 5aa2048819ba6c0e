"""BiLSTM-CRF named-entity recognition: text -> tokens -> arrays -> BiLSTM -> CRF -> entity spans.

>>> from ner import Tagger
>>> tagger = Tagger.load("models/en-conll03")
>>> tagger.tag("Angela Merkel visited Paris.")
>>> page = read_markup("<p>Angela <b>Merkel</b> visited Paris.</p>", "html")
>>> page.source_entities(tagger.tag(page.text))  # offsets into the HTML
"""

__version__ = "1.0.0"  # the package's version (pyproject.toml reads it here)

from ner.bundle import BundleError
from ner.corpus import CorpusError
from ner.dictionary import Dictionary, DictionaryError, DictionaryTooLarge
from ner.markup import Markup, PlainText, read_markup
from ner.router import Router
from ner.tagger import Alternative, Analysis, DeadlineExceeded, Document, Entity, Tagger, TagOptions
from ner.text import Token
from ner.truecasing import Capitals

__all__ = [
    "Alternative",
    "Analysis",
    "BundleError",
    "Capitals",
    "CorpusError",
    "DeadlineExceeded",
    "Dictionary",
    "DictionaryError",
    "DictionaryTooLarge",
    "Document",
    "Entity",
    "Markup",
    "PlainText",
    "Router",
    "TagOptions",
    "Tagger",
    "Token",
    "read_markup",
]
