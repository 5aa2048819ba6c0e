"""The pretrained words of a word-level model, set after training.

A word that never occurs in the training data gets no gradient (without weight decay), so its row of
the word embedding ``(V, word_dim)`` still holds its pretrained vector when training ends. Which such
words a model holds can therefore be decided after training, exactly: ``ner train`` adds the
``saved_pretrained_top`` most frequent pretrained words then, and ``ner words`` does the same for a
model directory (:func:`renew`), dropping the words that neither its training and dev files nor the chosen top of
the pretrained vocabulary give (those of a test file, say).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ner import bundle as bundles
from ner.card import training_dev_file
from ner.corpus import Sentence, as_words, lowercased_words, read_corpus_noted, reading_record
from ner.metrics import labels_problem
from ner.vocab import load_vectors

if TYPE_CHECKING:
    from ner.tagger import Tagger

WORD_TABLE = "word_embed.weight"
log = logging.getLogger("ner")


def plan(
    vocabulary: Sequence[str], keep: set[str] | None, pretrained: str, top: int
) -> tuple[list[int], list[str], np.ndarray]:
    """The rows of ``vocabulary`` to keep, and the words to add with their vectors ``(N, dim)``, so that
    it holds the ``top`` most frequent words of ``pretrained`` and, of its own words, those in ``keep``
    (every one when ``keep`` is None; padding and unknown always)."""
    if top < 0:
        raise ValueError(f"the number of pretrained words to hold is 0 or more, not {top}")
    words, vectors = load_vectors(pretrained)
    frequent = words[:top]
    wanted = None if keep is None else keep | set(frequent)
    rows = [i for i, word in enumerate(vocabulary) if i < 2 or wanted is None or word in wanted]
    kept = {vocabulary[i] for i in rows}
    added = [i for i, word in enumerate(frequent) if word not in kept]
    return rows, [words[i] for i in added], vectors[added]


def rebuild(bundle: bundles.Bundle, keep: set[str], pretrained: str, top: int) -> tuple[bundles.Bundle, int, int]:
    """``bundle`` with the words of ``keep`` it has and the ``top`` most frequent pretrained words, each
    of the latter it lacked added with its pretrained vector; returns it, the words dropped and added."""
    if bundle.vocab.level != "word":
        raise ValueError("only a word-level model has pretrained word vectors")
    vocabulary = bundle.vocab.words.itos
    rows, added, vectors = plan(vocabulary, keep, pretrained, top)
    table = bundle.weights[WORD_TABLE]
    if vectors.shape[1] != table.shape[1]:
        raise ValueError(f"{pretrained} has {vectors.shape[1]} dimensions, the model's words {table.shape[1]}")
    vocab = copy.copy(bundle.vocab)
    vocab.replace_words([*(vocabulary[i] for i in rows), *added])
    weights = {**bundle.weights, WORD_TABLE: np.concatenate([table[rows], vectors.astype(table.dtype)])}
    return replace(bundle, vocab=vocab, weights=weights), len(vocabulary) - len(rows), len(added)


def renew(
    bundle: bundles.Bundle,
    files: Mapping[str, str],
    top: int,
    embedding_dtype: str | None = None,
    tag_column: int = -1,
    nested: str = "refuse",
) -> tuple[bundles.Bundle, int, int]:
    """``bundle`` (what ``ner words`` does) holding the words of the ``files["train"]`` and ``files["dev"]``
    corpora and the ``top`` most frequent words of its pretrained vectors, its tables rounded to their
    storage (``embedding_dtype`` when given), its encoder exported again (the table's size is in the graph),
    dev and test scored again (a split not given loses its score) and recorded as the files scored, and its
    temperature fitted again on dev (without dev, the card says it was fitted before); returns it, the words
    dropped and added."""
    from ner.export import export_if_possible
    from ner.metrics import evaluate
    from ner.tagger import Tagger
    from ner.torch_backend import TorchBackend

    training = bundle.info.setdefault("training", {})
    pretrained = training.get("config", {}).get("pretrained", "none")
    if pretrained == "none":
        raise ValueError(f"model {bundle.name!r} was trained without pretrained vectors")
    corpora, reading = {}, training.setdefault("reading", {})
    for split, path in files.items():
        corpora[split], scheme, notes = read_corpus_noted(path, tag_column, nested)
        if split != "train":
            reading[split] = reading_record(scheme, notes)
            if problem := labels_problem(bundle.labels, corpora[split], path):
                if problem[1]:  # its score, recorded in the card, would be 0 and mean nothing
                    raise ValueError(f"{problem[0]}: give a {split} file of the model's labels")
                log.warning("%s", problem[0])
    keep = lowercased_words(as_words(corpora["train"]), as_words(corpora.get("dev", [])))
    bundle, dropped, added = rebuild(bundle, keep, pretrained, top)
    if embedding_dtype:
        bundle.info["embedding_dtype"] = embedding_dtype
    bundle.weights = bundles.as_stored(bundle.weights, bundle.info.get("embedding_dtype", "float32"))  # as saved
    network = TorchBackend.from_bundle(bundle)
    bundle.encoder = export_if_possible(network.model, bundle.vocab)
    bundle.format_version = bundles.FORMAT_VERSION  # the encoder is exported in the current format
    tagger = Tagger(bundle, network, batch_size=256)
    for split in ("dev", "test"):
        if split in corpora:
            bundle.metrics[split] = evaluate(tagger, corpora[split])
        else:  # a score of the model before would be taken for this one's
            bundle.metrics.pop(split, None)
            reading.pop(split, None)
    bundle.metrics.pop("float32_dev_f1", None)
    _record_scored(training, files)
    _calibrate_again(bundle, tagger, corpora.get("dev"), files.get("dev"))
    return bundle, dropped, added


def _record_scored(training: dict, files: Mapping[str, str]) -> None:
    """The card's test file, and its dev scores' file where it is not the one training used: those just
    scored (how the model was trained and its epoch chosen stays as training recorded it)."""
    training["test"] = files.get("test")
    training.pop("test_sha256", None)
    if files.get("test") and (digest := bundles.corpus_sha256(files["test"])):
        training["test_sha256"] = digest
    if training.get("dev_sha256"):  # recorded since 2026-12-06: the bytes tell, whatever the path
        same = bool(files.get("dev")) and training["dev_sha256"] == bundles.corpus_sha256(files["dev"])
    else:
        same = bool(files.get("dev")) and training_dev_file(training) == files.get("dev")
    if files.get("dev") and same:
        training.pop("dev_scored", None)
    else:
        training["dev_scored"] = files.get("dev")  # None: not scored since


def _calibrate_again(bundle: bundles.Bundle, tagger: Tagger, dev: list[Sentence] | None, dev_file: str | None) -> None:
    """Fit the temperature of a calibrated model again on ``dev`` (its tables changed); without ``dev``, or
    with the dev sentences it was trained on, mark the fit as the model's before."""
    from ner.calibration import fit_temperature

    calibration, training = bundle.metrics.get("calibration"), bundle.info.get("training", {})
    if not calibration:
        return
    trained_on = training.get("config", {}).get("train_with_dev") and "dev_scored" not in training
    result = fit_temperature(tagger, dev) if dev and not trained_on else None
    if result and result["entities"]:
        bundle.temperature = result["temperature"]
        bundle.metrics["calibration"] = {**result, "fitted_on": dev_file}
    else:
        bundle.metrics["calibration"] = {**calibration, "before": "ner words"}
