"""The steps after the last epoch, on the best weights: each scored again, so that the metrics describe
the saved model.

:func:`add_pretrained_words` adds the vectors of the most frequent pretrained
words the model lacks, :func:`align_if_better` moves the vectors of words never
trained to where training moved the others (kept only if dev holds),
:func:`round_embeddings` rounds the tables to their stored precision,
:func:`restore_capitals` learns how the model writes text without capitals
(:mod:`ner.truecasing`), :func:`calibrate` fits the temperature of the entity scores on dev and
:func:`training_fit` says which of a fine-tuning's sentences the model has not learnt.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import torch

from ner import bundle as bundles
from ner import truecasing
from ner import words as model_words
from ner.calibration import fit_temperature
from ner.corpus import lowercased_words, tags_to_spans
from ner.features import Vocabularies
from ner.model import NERModel
from ner.vocab import load_vectors

if TYPE_CHECKING:
    from ner.train import Run

log = logging.getLogger("ner.train")
FIT_CHECKED_SENTENCES = 2_000  # a fine-tuning on at most this many sentences says which it has not learnt


def calibrate(run: Run) -> tuple[float, dict | None]:
    """The temperature of the entity scores, fitted on dev when the run has a dev set it did not train on;
    else (or when the model predicts no entity on dev) the parent's (fine-tuning) or 1."""
    unfitted = (run.parent.temperature if run.parent is not None else 1.0), None
    if run.config.train_with_dev or not run.corpora.dev:
        return unfitted
    result = fit_temperature(run.tagger(), run.corpora.dev)
    if not result["entities"]:
        log.warning("entity scores not calibrated: the model predicts no entity on dev")
        return unfitted
    log.info(
        "entity scores calibrated on dev: temperature %s, ECE %s -> %s",
        result["temperature"],
        result["ece_at_1"],
        result["ece"],
    )
    return result["temperature"], {**result, "fitted_on": run.corpora.dev_source}


def training_fit(run: Run) -> dict | None:
    """How many of a fine-tuning's training sentences the model now tags as annotated (corrections, most
    often: a few sentences, each meant to be learnt), the first few it tags otherwise named in a warning;
    None when the run is no fine-tuning or trains on more than :data:`FIT_CHECKED_SENTENCES` sentences."""
    sentences = run.corpora.train
    if run.parent is None or not sentences or len(sentences) > FIT_CHECKED_SENTENCES:
        return None
    predicted = run.tagger().predict_tags([s.tokens for s in sentences], [s.document for s in sentences])
    otherwise = [s for s, tags in zip(sentences, predicted) if tags_to_spans(tags) != s.spans()]
    fit = {"sentences": len(sentences), "as_annotated": len(sentences) - len(otherwise)}
    if otherwise:
        examples = "; ".join(repr(" ".join(s.tokens)[:60]) for s in otherwise[:3])
        log.warning(
            "training sentences still tagged otherwise than annotated: %d of %d (%s); more epochs (--epochs) "
            "teach them, at a cost to what the parent knew (--test measures it)",
            len(otherwise),
            len(sentences),
            examples,
        )
    else:
        log.info("all %d training sentences are tagged as annotated", len(sentences))
    return fit


def add_pretrained_words(run: Run, best: dict) -> dict:
    """Add the vectors of the ``saved_pretrained_top`` most frequent pretrained words the model lacks
    (exact: :mod:`ner.words`) and score it again (dev cannot change: its words with vectors are in the
    vocabulary already)."""
    config = run.config
    _, added, vectors = model_words.plan(run.vocab.words.itos, None, config.pretrained, config.saved_pretrained_top)
    if not added:  # a fine-tuned model holds its parent's
        return {**best, "added_pretrained_words": 0}
    run.vocab.replace_words([*run.vocab.words.itos, *added])
    run.model.add_words(torch.from_numpy(vectors))
    dev, test = run.score()
    log.info("added the vectors of %d more pretrained words: %d words in all", len(added), len(run.vocab.words))
    return {**best, "dev": dev or best.get("dev"), "test": test, "added_pretrained_words": len(added)}


@torch.no_grad()
def align_unseen_vectors(model: NERModel, vocab: Vocabularies, seen: set[str], pretrained: str) -> int:
    """Move the pretrained vectors of words never seen in training to where training moved the others.

    Fine-tuning shifts the vectors of the training words; words met only in dev, test or the
    pretrained vocabulary keep their original vectors, in a space the network no longer
    expects. An affine map from pretrained to trained vectors, fitted by least squares on the
    seen words, carries the unseen ones along. Returns the number of words moved.
    """
    words, vectors = load_vectors(pretrained, wanted=set(vocab.words.itos))
    rows = torch.tensor(vocab.words.encode(words))
    original = torch.cat([torch.from_numpy(vectors), torch.ones(len(words), 1)], dim=1)
    is_seen = torch.tensor([w in seen for w in words])
    embedding = model.word_embed.weight
    # Solved on the CPU, where the table may be on a GPU: CUDA's only driver assumes a matrix of full rank.
    mapping = torch.linalg.lstsq(original[is_seen], embedding[rows[is_seen]].cpu()).solution
    embedding[rows[~is_seen].to(embedding.device)] = (original[~is_seen] @ mapping).to(embedding)
    return int((~is_seen).sum())


def align_if_better(run: Run, best: dict) -> dict:
    """Apply :func:`align_unseen_vectors` to the best model and keep it if dev F1 does not drop."""
    before = {k: v.clone() for k, v in run.model.state_dict().items()}
    seen = lowercased_words(run.corpora.train)
    moved = align_unseen_vectors(run.model, run.vocab, seen, run.config.pretrained)
    dev, test = run.score()
    report = {"words_moved": moved, "dev_f1_before": best["f1"], "dev_f1_after": dev["f1"]}
    kept = dev["f1"] >= best["f1"]
    log.info(
        "aligned %d unseen word vectors: dev F1 %.2f -> %.2f (%s)",
        moved,
        best["f1"],
        dev["f1"],
        "kept" if kept else "not kept",
    )
    if kept:
        return {**best, "f1": dev["f1"], "dev": dev, "test": test, "aligned_unseen": {**report, "kept": True}}
    run.model.load_state_dict(before)
    return {**best, "aligned_unseen": {**report, "kept": False}}


@torch.no_grad()
def round_embeddings(run: Run, best: dict, dtype: str) -> dict:
    """Round the embedding tables to the values they will be stored as (float16 or int8) and score the
    result again, so that the metrics describe exactly the saved model."""
    state = run.model.state_dict()
    tables = {key: table.cpu().numpy() for key, table in state.items() if key.endswith(bundles.EMBEDDING_SUFFIX)}
    for key, rounded in bundles.as_stored(tables, dtype).items():
        state[key].copy_(torch.from_numpy(rounded))
    dev, test = run.score()
    if dev is None:
        return {**best, "test": test}
    log.info("embeddings rounded to %s: dev F1 %.2f -> %.2f", dtype, best["f1"], dev["f1"])
    return {**best, "f1": dev["f1"], "dev": dev, "test": test, "float32_dev_f1": best["f1"]}


def restore_capitals(run: Run, best: dict) -> dict:
    """Learn the usual capitals of the training words (over the parent's, fine-tuning), unknown words written
    as dev lowercased scores best (:func:`ner.truecasing.fit`); scored again where dev or test holds a
    document written in one case."""
    dev = None if run.config.train_with_dev else run.corpora.dev
    older = run.vocab.truecaser  # a fine-tuned model's: its parent's, with which its epochs were scored
    truecaser, record = truecasing.fit(run.tagger(), run.corpora.train, dev, older)
    if not record:  # a character model, or a corpus without capitals (and no parent's)
        return best
    run.vocab.truecaser = truecaser
    if scores := record["dev_f1_lowercased"]:
        chosen = f"unknown words {truecaser.unknown}" if truecaser else "capitals not restored"
        log.info("text without capitals, dev lowercased: F1 %s (kept: %s)", scores, chosen)
    else:
        log.info(
            "text without capitals: %d words' usual capitals kept, unmeasured (no dev, or dev lowercased scored 0 "
            "every way)",
            record["words"],
        )
    corpora = [corpus for corpus in (dev, run.corpora.test) if corpus]
    if truecaser == older or not any(map(truecasing.has_one_case_documents, corpora)):
        return {**best, "truecasing": record}
    dev_scores, test = run.score()
    rescored = {"f1": dev_scores["f1"], "dev": dev_scores} if dev_scores else {}
    return {**best, **rescored, "test": test, "truecasing": record}
