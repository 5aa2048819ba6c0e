"""BiLSTM-CRF named-entity recognition: text -> tokens -> tensors -> BiLSTM -> CRF -> entity spans.

>>> from ner import Tagger
>>> tagger = Tagger.load("models/en-conll03")
>>> tagger.tag("Angela Merkel visited Paris.")
"""

from ner.bundle import BundleError
from ner.corpus import CorpusError
from ner.tagger import Alternative, Analysis, Entity, Tagger

__all__ = ["Alternative", "Analysis", "BundleError", "CorpusError", "Entity", "Tagger"]
__version__ = "1.0.0"
