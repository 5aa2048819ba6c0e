"""Fine-tuning: continuing a trained model on new data (``ner train --init-from``).

:func:`fine_tuning` gives the run's settings, :func:`new_word_vectors` the
pretrained vectors of the words the new data brings, and :func:`carry_over`
copies the parent's weights into the grown network.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ner import bundle as bundles
from ner.config import TrainConfig
from ner.corpus import Sentence
from ner.features import BIGRAMS_COUNTED, Vocabularies
from ner.model import NERModel
from ner.recipe import Recipe, another_script, inside_word_entities, warn_of_entities_inside_words
from ner.vocab import GLOVE_PACKAGE, load_vectors

log = logging.getLogger("ner")

FINE_TUNING = {"epochs": 5, "batch_size": 8, "lr": 0.001, "lr_decay": 0.0, "ema_decay": 0.0, "patience": 5}
_TAG_PREFIX = re.compile(r"^[BIESLU][-_]", re.IGNORECASE)  # a tag's prefix written into a label: B-PER
# A parent's settings a child keeps unless given: its bigram cut-off, table storage, pretrained words kept and
# (a case-robust parent stays so) the share of sentences read lowercased.
_INHERITED = ("min_bigram_count", "embedding_dtype", "saved_pretrained_top", "lowercase_rate")


def fine_tuning(
    parent: bundles.Bundle, model_settings: dict, train_settings: dict, train: Sequence[Sentence] = ()
) -> Recipe:
    """The settings to continue training ``parent``: its network, language, bigram cut-off (a rarer
    bigram stays the trained unknown bigram rather than a fresh row), pretrained vectors (for its new
    words) and the pretrained words and storage it keeps (unless given), gentler defaults. Network
    settings, a language or a lexicon given otherwise are refused; ``train`` in a script the parent does
    not read is warned of."""
    parent.config.refuse_changes(model_settings, f"--init-from {train_settings.get('init_from', parent.name)}")
    if mismatch := another_script(parent.config.level, parent.language, train):
        log.warning("fine-tuning %s, %s", parent.name, mismatch)
    if parent.config.level == "word":
        warn_of_entities_inside_words(*inside_word_entities(train))
    parent_settings = parent.info.get("training", {}).get("config", {})
    for name, kept in (("language", parent.language), ("lexicon", parent_settings.get("lexicon", "auto"))):
        if train_settings.get(name, "auto") not in ("auto", kept):
            raise ValueError(f"--init-from: the parent's {name} is kept; --{name} {train_settings[name]} cannot apply")
    new_labels = _new_labels(parent.labels, train)
    given = {k: v for k, v in train_settings.items() if k not in ("language", "pretrained", "lexicon")}
    inherited = {k: v for k, v in parent_settings.items() if k in _INHERITED}
    if "embedding_dtype" in parent.info:  # as the parent is stored now (`ner words` may have changed it)
        inherited["embedding_dtype"] = parent.info["embedding_dtype"]
    reasons = [f"fine-tuning {parent.name}: its network, vocabularies (grown with the new data) and language"]
    if new_labels:
        reasons.append(f"new labels: {', '.join(new_labels)} (the parent's: {', '.join(parent.labels)})")
    counted = parent_settings and parent.info["training"].get("bigram_counts") == BIGRAMS_COUNTED
    if inherited.get("min_bigram_count", 1) > 1 and not counted:
        # Trained when a bigram inside a sentence counted twice (before 2026-12-06): the same cut, in occurrences.
        inherited["min_bigram_count"] = math.ceil(inherited["min_bigram_count"] / 2)
        reasons.append(
            f"bigrams seen at least {inherited['min_bigram_count']} times kept: the parent's cut-off, which counted "
            "a bigram inside a sentence twice"
        )
    if inherited.get("lowercase_rate") and "lowercase_rate" not in given:
        reasons.append(f"a share of {inherited['lowercase_rate']} of sentences read lowercased, as the parent was")
    pretrained = train_settings.get("pretrained", "auto")
    if pretrained == "auto":
        pretrained = parent_settings.get("pretrained", "none") if parent.config.level == "word" else "none"
        if pretrained not in ("none", GLOVE_PACKAGE) and not Path(pretrained).is_file():
            reasons.append(f"new words start untrained: the parent's vectors {pretrained} are not here")
            pretrained = "none"
        elif pretrained != "none":
            reasons.append(f"new words start from the parent's pretrained vectors, {pretrained}")
    lexicon = parent_settings.get("lexicon", "auto")  # the parent's lexicon is the child's: its card names it
    config = TrainConfig.from_dict(
        {**FINE_TUNING, **inherited, **given, "language": parent.language, "pretrained": pretrained, "lexicon": lexicon}
    )
    for reason in reasons:
        log.info("%s", reason)
    return Recipe(parent.config, config, parent.language, reasons)


def _new_labels(labels: Sequence[str], train: Sequence[Sentence]) -> list[str]:
    """The labels of ``train`` that the parent's ``labels`` lack; one that is a parent's label written
    otherwise (``per``, ``B-PER``) is refused, since it would become a label of its own."""
    written = {label.casefold(): label for label in labels}
    new = sorted({span.label for sentence in train for span in sentence.spans()} - set(labels))
    for label in new:
        if twin := written.get(label.casefold()) or written.get(_TAG_PREFIX.sub("", label).casefold()):
            raise ValueError(
                f"--init-from: the training label {label!r} is the parent's {twin!r} written otherwise, and would be "
                f"learnt as a new label from these sentences alone: write it {twin}"
            )
    return new


def read_as_tagged(parent: bundles.Bundle, train: list[Sentence]) -> list[Sentence]:
    """``train`` with its documents written in one case recased as ``parent`` reads them when tagging
    (:mod:`ner.truecasing`): a correction of ``i met john smith`` teaches the words the network is given."""
    truecaser = parent.vocab.truecaser
    if truecaser is None:
        return train
    written = [s.tokens for s in train]
    tokens = truecaser.recased(written, [s.document for s in train])
    if tokens is written:  # no document in one case
        return train
    recased = [replace(s, tokens=list(t)) for s, t in zip(train, tokens)]
    changed = sum(a.tokens != b.tokens for a, b in zip(recased, train))
    log.info("training sentences in one case, read with %s's capitals as it tags them: %d", parent.name, changed)
    return recased


def new_word_vectors(
    parent: bundles.Bundle, vocab: Vocabularies, pretrained: str
) -> tuple[list[str], torch.Tensor | None]:
    """The pretrained words and vectors ``(N, word_dim)`` of the words ``vocab`` holds beyond ``parent``'s."""
    if pretrained == "none" or vocab.level != "word":
        return [], None
    words, vectors = load_vectors(pretrained, wanted=set(vocab.words.itos[len(parent.vocab.words) :]))
    return (words, torch.from_numpy(vectors)) if words else ([], None)


@torch.no_grad()
def carry_over(weights: dict[str, np.ndarray], model: NERModel) -> None:
    """Copy a parent's ``weights`` into ``model``, whose vocabularies and tags extend the parent's: known
    symbols and tags keep their ids, so each parent tensor fills the leading block of the new one; the
    rows of new words and the scores of new tags keep their fresh initialisation."""
    for name, tensor in model.state_dict().items():
        old = torch.from_numpy(weights[name])
        tensor[tuple(slice(0, size) for size in old.shape)] = old
