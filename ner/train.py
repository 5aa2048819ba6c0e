"""Training: corpora -> vocabularies -> model -> epochs of CRF loss -> the best model on dev, packaged.

Read :func:`epochs` first: one shuffled pass over length-bucketed batches
(whole documents per batch for a model with a document memory), gradient
clipping, a learning rate decayed per epoch, a moving average of the
weights, and dev/test scores of the averaged weights; it yields one
:class:`EpochRecord` per epoch. :func:`fit` is its caller: it prepares the
run (:func:`prepare`), keeps the best epoch, stops early, writes an atomic
checkpoint per epoch (``--resume`` continues from it exactly) and packages
the model with its card (:mod:`ner.card`), after the last steps on the best
weights (:mod:`ner.finishing`). A fine-tuned model's settings and weights
start from its parent's (:mod:`ner.finetuning`).
"""

from __future__ import annotations

import datetime
import io
import itertools
import logging
import math
import os
import platform
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property, partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from ner import __version__
from ner import bundle as bundles
from ner.card import model_card, plot_curves, training_commands
from ner.collector import collector_paused
from ner.config import ModelConfig, TrainConfig
from ner.corpus import (
    Sentence,
    as_model_tokens,
    hold_out,
    lowercased_words,
    mentions_by_label,
    read_corpus_noted,
    reading_record,
    recased,
    replace_mentions,
    split_long,
    symbol_entities,
)
from ner.distillation import soft_targets, teacher_probabilities
from ner.distributed import Distributed
from ner.export import export_if_possible
from ner.features import BIGRAMS_COUNTED, Batch, Vocabularies
from ner.finetuning import carry_over, fine_tuning, new_word_vectors, read_as_tagged
from ner.finishing import (
    add_pretrained_words,
    align_if_better,
    calibrate,
    restore_capitals,
    round_embeddings,
    training_fit,
)
from ner.kept_words import KeptWords
from ner.lexicon import LEXICON_LINES, Lexicon
from ner.metrics import evaluate
from ner.model import NERModel
from ner.recipe import GLOVE_DIM, Recipe, piece_length, resolve
from ner.tagger import Tagger
from ner.torch_backend import TorchBackend
from ner.vocab import Vocab, load_vectors

log = logging.getLogger("ner.train")
# A dev or test set this much of whose sentences are in training is warned of (CoNLL-2003's dev: 5.9%, short lines).
MAX_SEEN_SHARE = 0.3
CHECKPOINT = "checkpoint.pt"
LOWERCASE_DRAWS = 1  # seeds lowercasing's draws apart from mention replacement's
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Corpora:
    """The sentences a run trains, selects and scores on, and where they came from (for the card)."""

    train: list[Sentence]
    dev: list[Sentence]
    test: list[Sentence] = field(default_factory=list)
    dev_note: str = ""  # where dev came from, for the model card
    dev_source: str = ""  # the dev file, or how dev was held out
    reading: dict[str, list[str]] = field(default_factory=dict)  # how each file was read, by role, for the card


@dataclass(frozen=True)
class Job:
    """A training run as asked for: the corpus files, the settings, where the model goes, what its card records."""

    train: str
    out: Path
    dev: str | None = None
    test: str | None = None
    model_settings: dict = field(default_factory=dict)
    train_settings: dict = field(default_factory=dict)
    name: str | None = None
    resume: bool = False
    command: str = ""
    data_terms: str = ""
    progress: bool = True

    @property
    def work(self) -> Path:
        """Where checkpoints go, beside the model directory."""
        return self.out.with_name(self.out.name + ".training")


def load_corpora(
    train: str,
    dev: str | None,
    test: str | None,
    dev_every: int,
    with_dev: bool = False,
    tag_column: int = -1,
    nested: str = "refuse",
) -> Corpora:
    """The training, dev and test sentences; without a dev file, every ``dev_every``-th training sentence
    is held out. ``with_dev``: the dev sentences are trained on too. ``tag_column`` and ``nested``: how
    the files are read (:func:`ner.corpus.read_corpus`)."""
    reading: dict[str, list[str]] = {}

    def read(role: str, path: str) -> list[Sentence]:
        log.info("reading the %s file %s", role, path)  # a large corpus takes minutes to read and prepare
        sentences, scheme, notes = read_corpus_noted(path, tag_column, nested)
        reading[role] = reading_record(scheme, notes)
        return sentences

    train_sentences = read("train", train)
    test_sentences = read("test", test) if test else []
    if dev:
        corpora = Corpora(train_sentences, read("dev", dev), test_sentences, f"dev file {dev}", dev, reading)
    else:
        kept, held = hold_out(train_sentences, dev_every)
        if not held and not with_dev:  # nothing to choose the best epoch on
            raise ValueError(
                f"{train}: {len(train_sentences)} sentences, too few to hold out every {dev_every}th as dev: "
                "give a dev file with --dev"
            )
        note = (
            "no dev file: every training sentence is trained on, and none is scored as dev"
            if with_dev
            else f"no dev file: every {dev_every}th sentence of the training file ({len(held)} sentences) is held "
            "out as dev and not trained on"
        )
        corpora = Corpora(kept, held, test_sentences, note, f"every {dev_every}th training sentence, held out", reading)
    _check_types(corpora, selects=not with_dev)
    if with_dev and dev:
        offset = max((s.document for s in corpora.train), default=0) + 1  # the dev file's documents stay apart
        moved = [replace(s, document=s.document + offset) for s in corpora.dev]
        note = corpora.dev_note + ", trained on too"
        corpora = Corpora(corpora.train + moved, corpora.dev, test_sentences, note, corpora.dev_source, reading)
    elif with_dev:  # the held-out sentences go back in their places, in their documents
        corpora = replace(corpora, train=train_sentences)
    _warn_of_overlap(corpora, ("test",) if with_dev else ("dev", "test"))
    return corpora


def batches(
    sentences: Sequence[Sentence], size: int, generator: torch.Generator, by_document: bool = False
) -> list[list[int]]:
    """Shuffled batches of sentence indices with similar lengths (little padding); with ``by_document``,
    batches of whole documents (shuffled), about ``size`` sentences each (a longer document is cut into
    runs of ``size`` sentences)."""
    if by_document:
        members: dict[int, list[int]] = {}
        for index, sentence in enumerate(sentences):
            members.setdefault(sentence.document, []).append(index)
        documents = [run[i : i + size] for run in members.values() for i in range(0, len(run), size)]
        out: list[list[int]] = [[]]
        for d in torch.randperm(len(documents), generator=generator).tolist():
            if len(out[-1]) >= size:
                out.append([])
            out[-1].extend(documents[d])
        return out
    noise = torch.rand(len(sentences), generator=generator).tolist()
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i].tokens) + 2 * noise[i])
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    return [groups[i] for i in torch.randperm(len(groups), generator=generator).tolist()]


def build_vocab(
    config: TrainConfig, level: str, corpora: Corpora
) -> tuple[Vocabularies, list[str], torch.Tensor | None]:
    """Vocabularies (a word model's with the words its corpus keeps whole, :mod:`ner.kept_words`), plus
    pretrained words and vectors to copy into the word embedding: those of the ``pretrained_top`` most
    frequent words and of every other word of train and dev (never test's, which new text would not have)."""
    sentences = [s.tokens for s in corpora.train]
    tags = [s.tags for s in corpora.train]
    if level == "char":
        vocab = Vocabularies.build(level, sentences, tags, min_bigram_count=config.min_bigram_count)
        vocab.symbols_in_entities = symbol_entities(corpora.train) > 0
        return vocab, [], None
    if config.pretrained == "none":
        vocab, pretrained_words, vectors = Vocabularies.build(level, sentences, tags), [], None
    else:
        in_data = lowercased_words(corpora.train, corpora.dev)
        words, all_vectors = load_vectors(config.pretrained)
        keep = [i for i, w in enumerate(words) if i < config.pretrained_top or w in in_data]
        pretrained_words = [words[i] for i in keep]
        vocab = Vocabularies.build(level, sentences, tags, extra_words=pretrained_words)
        vectors = torch.from_numpy(all_vectors[keep])
    vocab.kept_words = KeptWords.learn(corpora.train)
    vocab.symbols_in_entities = symbol_entities(corpora.train) > 0
    return vocab, pretrained_words, vectors


def load_lexicon(source: str) -> Lexicon | None:
    """The lexicon a character-level model is trained with: jieba's dictionary, a file, or none."""
    if source == "none":
        return None
    if source in ("auto", "jieba"):
        return Lexicon.from_jieba()
    try:
        lexicon = Lexicon.from_text(Path(source).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"--lexicon {source}: {error}") from None
    if not len(lexicon):
        raise ValueError(f"--lexicon {source}: no word in it ({LEXICON_LINES})")
    return lexicon


def make_optimizer(config: TrainConfig, model: NERModel) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


class WeightAverage:
    """An exponential moving average of the weights, updated after every step (off when ``decay`` is 0).

    Averaged weights usually generalise a little better than the last ones; with averaging
    on, dev scores and the saved model use them.
    """

    def __init__(self, model: NERModel, decay: float, state: dict | None = None, steps: int = 0) -> None:
        self.decay = decay
        self.state: dict[str, torch.Tensor] | None = None
        self.steps = steps
        if decay > 0:  # a checkpoint's state is read onto the CPU: each average goes where its weight is
            source = state or {n: p.detach() for n, p in model.named_parameters()}
            self.state = {n: source[n].to(p.device, copy=not state) for n, p in model.named_parameters()}

    @torch.no_grad()
    def update(self, model: NERModel) -> None:
        if self.state is None:
            return
        self.steps += 1
        decay = min(self.decay, (1 + self.steps) / (10 + self.steps))
        for name, parameter in model.named_parameters():
            self.state[name].lerp_(parameter.detach(), 1 - decay)

    @torch.no_grad()
    def swap_in(self, model: NERModel) -> dict[str, torch.Tensor] | None:
        """Put the averaged weights into ``model``; returns the raw ones to put back."""
        if self.state is None:
            return None
        raw = {n: p.detach().clone() for n, p in model.named_parameters()}
        for name, parameter in model.named_parameters():
            parameter.copy_(self.state[name])
        return raw

    @torch.no_grad()
    def swap_out(self, model: NERModel, raw: dict[str, torch.Tensor] | None) -> None:
        if raw is not None:
            for name, parameter in model.named_parameters():
                parameter.copy_(raw[name])


@dataclass
class Run:
    """A training run in progress: its settings, data, network, optimizer and weight average."""

    recipe: Recipe
    corpora: Corpora
    sentences: list[Sentence]  # the training sentences, long ones split
    vocab: Vocabularies
    model: NERModel
    optimizer: torch.optim.Optimizer
    average: WeightAverage
    device: torch.device
    ranks: Distributed
    name: str
    progress: bool = True
    parent: bundles.Bundle | None = None  # the model a fine-tuning run started from
    teacher_probs: list[np.ndarray] | None = None  # per training sentence (T, K), with --teachers
    data_terms: str = ""  # of the data its weights derive from: the corpus's, its parent's and teachers'
    digests: dict[str, str | None] = field(default_factory=dict)  # of the train, dev and test files, as read

    @property
    def config(self) -> TrainConfig:
        return self.recipe.train

    def bundle(self, weights: bool = False, **details: object) -> bundles.Bundle:
        """The run's model as a bundle; with ``weights``, a copy of the network's weights as they are now."""
        arrays = {k: v.detach().cpu().numpy() for k, v in self.model.state_dict().items()} if weights else {}
        return bundles.Bundle(self.vocab, self.model.config, arrays, self.name, self.recipe.language, **details)

    @cached_property
    def mentions(self) -> dict[str, list[tuple[str, ...]]]:
        """The training entities by label, for mention replacement."""
        return mentions_by_label(self.sentences)

    def encode(self, indices: Sequence[int], epoch: int) -> tuple[list[Sentence], Batch]:
        """The training sentences at ``indices`` (entities swapped at the ``mention_replacement`` rate and
        text lowercased at the ``lowercase_rate``, the same way for the same epoch and batch) and their
        encoded batch (with the teachers' soft tags)."""
        chunk = [self.sentences[i] for i in indices]
        if self.config.mention_replacement:
            rng = np.random.default_rng([self.config.seed, epoch, *indices])
            chunk = [replace_mentions(s, self.mentions, self.config.mention_replacement, rng) for s in chunk]
        if self.config.lowercase_rate:
            chunk = [self._lowercased(s, i, epoch) for s, i in zip(chunk, indices)]
        documents = [s.document for s in chunk] if self.model.config.document_memory else None
        batch = self.vocab.encode([s.tokens for s in chunk], [s.tags for s in chunk], documents)
        if self.teacher_probs is not None:
            taught = [self.teacher_probs[i] for i in indices]
            batch.tag_probs = soft_targets(batch.tags, taught, batch.mask, self.config.teacher_weight)
        return chunk, batch

    def _lowercased(self, sentence: Sentence, index: int, epoch: int) -> Sentence:
        """``sentence`` in lower case with probability ``lowercase_rate``, drawn per epoch and sentence (per
        document, with a document memory: text without capitals comes so whole)."""
        unit = sentence.document if self.model.config.document_memory else index
        if (
            np.random.default_rng([self.config.seed, epoch, unit, LOWERCASE_DRAWS]).random()
            >= self.config.lowercase_rate
        ):
            return sentence
        return recased([sentence])[0]

    def tagger(self) -> Tagger:
        """A tagger over the network as it is now, to score it."""
        return Tagger(self.bundle(), TorchBackend(self.model, self.vocab.tags.itos), batch_size=256)

    def score(self) -> tuple[dict | None, dict | None]:
        """Entity scores on dev (None when training on it) and test (None without a test file)."""
        tagger = self.tagger()
        dev = None if self.config.train_with_dev else evaluate(tagger, self.corpora.dev)
        return dev, evaluate(tagger, self.corpora.test) if self.corpora.test else None


@dataclass
class EpochRecord:
    """What one epoch did; ``weights`` are the scored (averaged) weights, on the CPU."""

    epoch: int
    loss: float
    dev: dict | None
    test: dict | None
    lr: float
    train_seconds: float
    seconds: float
    sentences_per_second: float
    weights: dict[str, torch.Tensor] = field(repr=False)

    def history(self) -> dict:
        return {
            "epoch": self.epoch,
            "loss": self.loss,
            "dev_f1": self.dev["f1"] if self.dev else None,
            "test_f1": self.test["f1"] if self.test else None,
            "lr": self.lr,
            "train_seconds": round(self.train_seconds, 1),
            "sentences_per_second": round(self.sentences_per_second, 1),
            "seconds": round(self.seconds, 1),
        }


def epochs(run: Run, first: int = 1) -> Iterator[EpochRecord]:
    """Train epoch after epoch from ``first``; after each, score the averaged weights and yield the record.

    Other ranks of a distributed run train alongside and yield records without scores.
    """
    config, model = run.config, run.model
    trainer = DistributedDataParallel(model, find_unused_parameters=True) if run.ranks.world > 1 else model
    generator = torch.Generator()
    for epoch in range(first, config.epochs + 1):
        started = time.perf_counter()
        generator.manual_seed(config.seed * 1000 + epoch)
        lr = config.lr / (1 + config.lr_decay * (epoch - 1))
        for group in run.optimizer.param_groups:
            group["lr"] = lr
        model.train()
        order = batches(run.sentences, config.batch_size, generator, by_document=model.config.document_memory)
        bar = tqdm(run.ranks.my_share(order), desc=f"epoch {epoch}", unit="batch", disable=not run.progress)
        total_loss, seen = 0.0, 0
        for chunk, batch in one_ahead(bar, partial(run.encode, epoch=epoch)):
            loss = trainer(batch)
            run.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
            run.optimizer.step()
            run.average.update(model)
            total_loss += loss.item() * len(chunk)
            seen += len(chunk)
            bar.set_postfix(loss=f"{total_loss / seen:.3f}", sent_s=f"{seen / (time.perf_counter() - started):.0f}")
        train_seconds = time.perf_counter() - started
        total_loss, seen = run.ranks.total(total_loss, seen)
        if not math.isfinite(total_loss):
            raise FloatingPointError(f"epoch {epoch}: the loss became {total_loss}; lower the learning rate")
        dev = test = None
        weights: dict[str, torch.Tensor] = {}
        if run.ranks.main:
            model.eval()
            raw = run.average.swap_in(model)
            dev, test = run.score()
            weights = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            run.average.swap_out(model, raw)
        yield EpochRecord(
            epoch,
            total_loss / seen,
            dev,
            test,
            lr,
            train_seconds,
            time.perf_counter() - started,
            seen / train_seconds,
            weights,
        )


def one_ahead(items: Iterable[T], work: Callable[[T], R]) -> Iterator[R]:
    """``work(item)`` for each item in order, the next item's on a thread while the caller uses this
    result: encoding the next batch overlaps the training step (docs/benchmarks.md, Scaling training)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future[R] | None = None
        for item in items:
            upcoming = pool.submit(work, item)
            if pending is not None:
                yield pending.result()
            pending = upcoming
        if pending is not None:
            yield pending.result()


def _warn_of_overlap(corpora: Corpora, splits: Sequence[str]) -> None:
    """Say when many sentences of dev or test are training sentences word for word (the same file given twice, a
    corpus with duplicates): their scores then say how well the model remembers, not how well it tags new text;
    and when training sentences come more than once with different entities (a text corrected twice)."""
    annotations: defaultdict[tuple[str, ...], set[tuple]] = defaultdict(set)
    for sentence in corpora.train:
        annotations[tuple(sentence.tokens)].add(tuple(sentence.spans()))
    if conflicts := [tokens for tokens, kinds in annotations.items() if len(kinds) > 1]:
        log.warning(
            "training sentences that come more than once with different entities: %d (%s); the model learns "
            "a mix of them, the last no more than the first",
            len(conflicts),
            "; ".join(repr(" ".join(tokens)[:60]) for tokens in conflicts[:3]),
        )
    trained = annotations.keys()
    for split in splits:
        sentences = getattr(corpora, split)
        seen = sum(tuple(sentence.tokens) in trained for sentence in sentences)
        if sentences and seen / len(sentences) >= MAX_SEEN_SHARE:
            log.warning(
                "%d of %s's %d sentences (%.0f%%) are training sentences word for word: its scores overstate "
                "how well the model tags new text",
                seen,
                split,
                len(sentences),
                100 * seen / len(sentences),
            )


def _check_types(corpora: Corpora, selects: bool) -> None:
    """Say which entity types of dev and test the training sentences lack (the model cannot find them), or that
    they hold none (corrections that only remove entities may, a corpus rarely does). A dev set that chooses
    the best epoch (``selects``) with no entity of a trained type is refused (its F1 is 0 at every epoch, and
    the first would be kept); one lacking some trained types is warned of."""
    trained = {span.label for sentence in corpora.train for span in sentence.spans()}
    if not trained:
        log.warning(
            "the training sentences hold no entity: the model learns to tag none (is the tag column right? "
            "fine-tuned on corrections that only remove entities, it learns to tag fewer everywhere)"
        )
    in_dev = {span.label for sentence in corpora.dev for span in sentence.spans()}
    if selects and trained and not in_dev & trained:
        raise ValueError(
            f"dev ({corpora.dev_source}) holds no entity of the types trained ({_listed(trained)}): its "
            "F1 would be 0 at every epoch and choose none; give a dev set with entities, or train a fixed number "
            "of epochs on everything: --train-with-dev --epochs N (fine-tuning: no --dev, which keeps the last)"
        )
    if selects and trained - in_dev:
        log.warning("dev has no entity of %s: the best epoch is chosen without them", _listed(trained - in_dev))
    for split in ("dev", "test"):
        missing = Counter(
            span.label for sentence in getattr(corpora, split) for span in sentence.spans() if span.label not in trained
        )
        if missing:
            types = ", ".join(f"{label} ({count})" for label, count in missing.most_common())
            log.warning(
                "%s has entity types the training sentences lack (the model cannot find them): %s", split, types
            )


@collector_paused  # millions of tokens, spans and sentences, and no cycles among them
def prepare(job: Job, checkpoint: dict | None = None) -> Run:
    """Read the corpora, resolve the settings, build (or restore) the vocabularies, network and optimizer."""
    train_settings = job.train_settings
    TrainConfig.from_dict(train_settings)  # each given setting checked before the corpora are read with them
    ModelConfig.from_dict({"level": "char", **job.model_settings})  # a word model's own checks wait for its level
    parent = bundles.load(train_settings["init_from"]) if train_settings.get("init_from") else None
    if train_settings.get("train_with_dev") and "epochs" not in train_settings:
        raise ValueError("--train-with-dev trains for exactly --epochs epochs: give --epochs (a run with dev finds it)")
    if parent is not None and not job.dev:  # fine-tuning without a dev file: no hold-out, keep the last epoch
        train_settings = {**train_settings, "train_with_dev": True}
    with_dev = bool(train_settings.get("train_with_dev"))
    corpora = load_corpora(
        job.train,
        job.dev,
        job.test,
        train_settings.get("dev_every", 20),
        with_dev,
        train_settings.get("tag_column", -1),
        train_settings.get("nested", "refuse"),
    )
    if parent is not None:
        corpora = replace(corpora, train=read_as_tagged(parent, corpora.train))
    recipe = (
        resolve(job.model_settings, train_settings, corpora.train)
        if parent is None
        else fine_tuning(parent, job.model_settings, train_settings, corpora.train)
    )
    if checkpoint is not None:
        recipe = _resumed(recipe, checkpoint, job.model_settings, corpora.train)
    config, model_config = recipe.train, recipe.model
    char_level = model_config.level == "char"
    corpora = replace(
        corpora, **{split: as_model_tokens(getattr(corpora, split), char_level) for split in ("train", "dev", "test")}
    )
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    device = torch.device(config.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but torch sees no CUDA GPU")
    ranks = Distributed.start(device)
    if device.type == "cuda" and ranks.world > 1:
        device = torch.device("cuda", ranks.local_rank)
    vocab, model = _network(recipe, corpora, ranks, parent, checkpoint)
    model.to(device)
    optimizer = make_optimizer(config, model)
    average = WeightAverage(model, config.ema_decay)
    if checkpoint is not None:
        average = _restored(checkpoint, model, optimizer, config, ranks, device)
    sentences = split_long(corpora.train, piece_length(model_config.level, config.max_length))
    teachers = [path for path in config.teachers.split(",") if path]
    run_progress = job.progress and ranks.main
    taught = (
        teacher_probabilities(teachers, sentences, vocab.tags.itos, config.threads, run_progress, vocab.level)
        if teachers
        else None
    )
    return Run(
        recipe,
        corpora,
        sentences,
        vocab,
        model,
        optimizer,
        average,
        device,
        ranks,
        job.name or job.out.name,
        run_progress,
        parent,
        taught,
        _data_terms(job.data_terms, parent, config.teachers),  # read now: a teacher may be gone by the end
        {
            split: bundles.corpus_sha256(path)
            for split, path in (("train", job.train), ("dev", job.dev), ("test", job.test))
            if path
        },
    )


def _restored(
    checkpoint: dict,
    model: NERModel,
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    ranks: Distributed,
    device: torch.device,
) -> WeightAverage:
    """The network, optimizer and random generators as ``checkpoint`` holds them; its weight average."""
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    states = checkpoint.get("rng_ranks", [])  # each rank's, since 2026-12-06
    torch.set_rng_state(states[ranks.rank] if len(states) == ranks.world else checkpoint["rng"])
    gpu_states = checkpoint.get("cuda_rng_ranks", [])  # a GPU's own generator (dropout), since 2026-12-07
    if device.type == "cuda" and len(gpu_states) == ranks.world:
        torch.cuda.set_rng_state(gpu_states[ranks.rank], device)
    return WeightAverage(model, config.ema_decay, checkpoint["ema"], checkpoint["ema_steps"])


def _began(job: Job, run: Run) -> dict:
    """What a resume of ``job`` must go on with: its settings as given (paths resolved; the choices made for
    the corpus are made again from them), its dev file, and whether it trains on dev (fine-tuning without a
    dev file does)."""
    return {
        "train_settings": job.train_settings,
        "model_settings": job.model_settings,
        "dev": _dev_file(job),
        "train_with_dev": run.config.train_with_dev,
    }


def _dev_file(job: Job) -> str | None:
    return str(Path(job.dev).resolve()) if job.dev else None


def _continued(job: Job, checkpoint: dict) -> Job:
    """``job`` with the settings its run began with, under those given again (a network setting given
    again must be the same: :func:`_resumed`); its parent, its dev file and whether it trains on dev cannot
    change."""
    began = checkpoint.get("began")
    if began is None:  # a checkpoint from before it was kept
        return job
    settings = began["train_settings"]
    if _dev_file(job) != began["dev"]:
        raise ValueError(f"--resume: the run began {_with('--dev', began['dev'])}; it cannot change")
    if job.train_settings.get("init_from", settings.get("init_from")) != settings.get("init_from"):
        raise ValueError(f"--resume: the run began {_with('--init-from', settings.get('init_from'))}; it cannot change")
    trains_on_dev = job.train_settings.get("train_with_dev")
    if trains_on_dev is not None and bool(trains_on_dev) != began["train_with_dev"]:
        done = "trained" if began["train_with_dev"] else "did not train"
        raise ValueError(f"--resume: the run {done} on its dev sentences; it cannot change")
    network = began.get("model_settings", _width_given(checkpoint["model_config"]))
    return replace(
        job, train_settings={**settings, **job.train_settings}, model_settings={**network, **job.model_settings}
    )


def _width_given(network: dict) -> dict:
    """For a checkpoint from before 2026-12-07, which kept not the network settings given: a word table of
    another width than GloVe's, which the recipe chooses vectors by (the rest it chooses again as it did)."""
    width = network.get("word_dim", GLOVE_DIM)
    return {"word_dim": width} if network.get("level") == "word" and width != GLOVE_DIM else {}


def _with(flag: str, value: str | None) -> str:
    return f"with {flag} {value}" if value else f"without {flag}"


def _resumed(recipe: Recipe, checkpoint: dict, model_settings: dict, train: Sequence[Sentence]) -> Recipe:
    """``recipe`` with the network's settings as the checkpoint's run began, which neither the settings
    given now nor the training file's labels may change."""
    network = ModelConfig.from_dict(checkpoint["model_config"])
    network.refuse_changes(model_settings, "--resume")
    trained = set(Vocabularies.from_json(checkpoint["vocab"]).tags.itos)
    new = sorted({tag[2:] for sentence in train for tag in sentence.tags if tag != "O" and tag not in trained})
    if new:
        raise ValueError(f"--resume: the training file has labels the run began without ({', '.join(new)})")
    return replace(recipe, model=network)


def _network(
    recipe: Recipe, corpora: Corpora, ranks: Distributed, parent: bundles.Bundle | None, checkpoint: dict | None
) -> tuple[Vocabularies, NERModel]:
    """The vocabularies and the network: restored from a checkpoint, grown from a parent, or new (rank 0
    builds the vocabulary and loads pretrained vectors; DDP copies its weights to the other ranks)."""
    config, model_config = recipe.train, recipe.model
    vectors = None
    if checkpoint is not None:
        vocab = Vocabularies.from_json(checkpoint["vocab"])
    elif parent is not None:
        vocab = parent.vocab.grown(
            [s.tokens for s in corpora.train], [s.tags for s in corpora.train], config.min_bigram_count
        )
        pretrained_words, vectors = new_word_vectors(parent, vocab, config.pretrained)
    else:
        vocab, pretrained_words, vectors = (
            build_vocab(config, model_config.level, corpora) if ranks.main else (None, [], None)
        )
        vocab = Vocabularies.from_json(ranks.share(vocab.to_json() if vocab else None))
    if model_config.level == "char":
        vocab.lexicon = parent.vocab.lexicon if parent is not None else load_lexicon(config.lexicon)
        if vocab.lexicon is not None and model_config.lexicon_words and vocab.lexicon_words is None:
            seen = vocab.lexicon.matched_words(s.tokens for s in corpora.train)
            vocab.lexicon_words = Vocab([w for w, _ in seen.most_common()])
    model = NERModel.for_vocabularies(model_config, vocab)
    if parent is not None and checkpoint is None:
        carry_over(parent.weights, model)
    if vectors is not None:
        if vectors.shape[1] != model_config.word_dim:
            raise ValueError(
                f"pretrained vectors have {vectors.shape[1]} dimensions, "
                f"the model's word_dim is {model_config.word_dim}"
            )
        model.load_pretrained(torch.tensor(vocab.words.encode(pretrained_words), dtype=torch.long), vectors)
    if config.freeze_embeddings:
        model.word_embed.weight.requires_grad_(False)
    return vocab, model


@dataclass
class Progress:
    """What the epochs so far leave: their history, the best epoch with its weights, the commands that ran."""

    commands: list[str]
    machines: list[str]  # where each command ran
    history: list[dict] = field(default_factory=list)
    best: dict = field(default_factory=lambda: {"f1": -1.0, "epoch": 0})
    best_weights: dict[str, torch.Tensor] | None = None
    began: dict = field(default_factory=dict)  # what a resume goes on with (:func:`_began`)

    def add(self, record: EpochRecord) -> bool:
        """Count an epoch; True if it is the best so far (with ``train_with_dev``, no dev score: the last)."""
        self.history.append(record.history())
        improved = record.dev is None or record.dev["f1"] > self.best["f1"]
        if improved:
            f1 = record.dev["f1"] if record.dev else 0.0
            self.best = {"f1": f1, "epoch": record.epoch, "dev": record.dev, "test": record.test}
            self.best_weights = record.weights
        return improved

    def checkpoint(
        self, run: Run, epoch: int, elapsed: float, rng_ranks: list[torch.Tensor], cuda_rng_ranks: list[torch.Tensor]
    ) -> dict:
        """Everything ``--resume`` needs to continue exactly after ``epoch``, ``elapsed`` seconds into training
        (``rng_ranks``: each process's random state; ``cuda_rng_ranks``: each one's GPU's, on GPUs)."""
        return {
            "began": self.began,
            "elapsed": elapsed,
            "model": run.model.state_dict(),
            "model_config": run.model.config.to_dict(),
            "vocab": run.vocab.to_json(),
            "optimizer": run.optimizer.state_dict(),
            "epoch": epoch,
            "history": self.history,
            "best": self.best,
            "best_state": self.best_weights,
            "rng": rng_ranks[0],
            "rng_ranks": rng_ranks,
            "cuda_rng_ranks": cuda_rng_ranks,
            "ema": run.average.state,
            "ema_steps": run.average.steps,
            "commands": self.commands,
            "machines": self.machines,
        }


def _same_place(a: Path, b: Path) -> bool:
    """Whether two paths name one place: by name, or where both exist by what they are (macOS's disks ignore
    case: ``models/x`` is ``Models/x``)."""
    return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))


def fit(job: Job) -> dict:
    """Train a model and save the best one (by dev F1; the last with ``train_with_dev``) to ``job.out``;
    returns its metrics. Under torchrun, every process runs this; see :mod:`ner.distributed`."""
    bundles.check_destination(job.out)
    if job.work.is_dir() and not os.access(job.work, os.W_OK | os.X_OK):  # found now, not after an epoch
        raise bundles.BundleError(job.work, "is not writable: no checkpoint can be kept there")
    job = replace(job, train_settings=_resolved_files(job.train_settings))
    if (parent := job.train_settings.get("init_from")) and _same_place(Path(parent), job.out):
        raise ValueError("--out is the --init-from model, which saving would replace: give a new directory")
    state = _load_checkpoint(job.work / CHECKPOINT) if job.resume else None
    if state is not None:
        job = _continued(job, state)
    run = prepare(job, state)
    machine = _machine(run.device, run.ranks.world)
    progress, elapsed = Progress([job.command], [machine], began=_began(job, run)), 0.0
    if state is not None:
        elapsed = state.get("elapsed", sum(h["seconds"] for h in state["history"]))  # before it was kept
        machines = state.get("machines", [])  # kept since 2026-12-06
        progress = Progress(
            [*state["commands"], job.command],
            [*machines, machine],
            state["history"],
            state["best"],
            state["best_state"],
            progress.began,
        )
        log.info("resumed from %s after epoch %d", job.work / CHECKPOINT, state["epoch"])
    started = time.perf_counter() - elapsed
    first = state["epoch"] + 1 if state else 1
    patience = run.config.patience
    late = state is not None and state["history"] and _out_of_time(run.config, started, state["history"][-1]["seconds"])
    if run.ranks.share(late):  # one decision for every rank
        log.info("no epoch after %d: another would end past --max-minutes", state["epoch"])
    elif not (progress.best["epoch"] > 0 and first - progress.best["epoch"] > patience):
        for record in epochs(run, first):
            rng_ranks = run.ranks.gather(torch.get_rng_state())  # every rank takes part
            cuda_rng_ranks = run.ranks.gather(torch.cuda.get_rng_state(run.device)) if run.device.type == "cuda" else []
            if run.ranks.main:
                improved = progress.add(record)
                _report(progress.history[-1], improved, run.progress)
                job.work.mkdir(parents=True, exist_ok=True)
                checkpoint = progress.checkpoint(
                    run, record.epoch, time.perf_counter() - started, rng_ranks, cuda_rng_ranks
                )
                _save_atomic(checkpoint, job.work / CHECKPOINT)
            progress.best = run.ranks.share(progress.best)  # every rank stops at the same epoch
            if not run.config.train_with_dev and record.epoch - progress.best["epoch"] >= patience:
                break
            if run.ranks.share(_out_of_time(run.config, started, record.seconds)):
                log.info("stopping after epoch %d: another would end past --max-minutes", record.epoch)
                break
    metrics = {}
    if run.ranks.main:
        run.model.load_state_dict(progress.best_weights)
        metrics = _finish(run, job, progress, started)
    run.ranks.barrier()
    run.ranks.stop()
    return metrics


def created_date() -> str:
    """The day a model is made, in UTC (not the trainer's time zone), or that of ``SOURCE_DATE_EPOCH`` where
    it is set, as reproducible builds set it: the same run gives the same bytes."""
    if given := os.environ.get("SOURCE_DATE_EPOCH"):
        try:
            return datetime.datetime.fromtimestamp(int(given), datetime.UTC).strftime("%Y-%m-%d")
        except (ValueError, OverflowError, OSError):  # found after hours of training: dated today, not lost
            log.warning("SOURCE_DATE_EPOCH=%r is no date in seconds: the model is dated today (UTC)", given)
    return datetime.datetime.fromtimestamp(time.time(), datetime.UTC).strftime("%Y-%m-%d")


def _listed(labels: set[str], most: int = 10) -> str:
    """``labels`` in order, the first ``most`` of them named (a column of thousands of labels is a mistake)."""
    named = sorted(labels)
    more = f" and {len(named) - most:,} more" if len(named) > most else ""
    return ", ".join(named[:most]) + more


def _resolved_files(settings: dict) -> dict:
    """``settings`` with the parent, the teachers and a vectors file as absolute paths: a resume, ``ner words``
    or a fine-tuning run may start from another folder."""
    resolved = dict(settings)
    if settings.get("init_from"):
        resolved["init_from"] = str(Path(settings["init_from"]).resolve())
    if settings.get("teachers"):
        resolved["teachers"] = ",".join(str(Path(path).resolve()) for path in settings["teachers"].split(",") if path)
    if settings.get("pretrained") and Path(settings["pretrained"]).is_file():  # not a package's name
        resolved["pretrained"] = str(Path(settings["pretrained"]).resolve())
    return resolved


def _out_of_time(config: TrainConfig, started: float, epoch_seconds: float) -> bool:
    """True if one more epoch as long as the last would end past ``config.max_minutes`` of training."""
    budget = config.max_minutes * 60
    return budget > 0 and time.perf_counter() - started + epoch_seconds > budget


def _finish(run: Run, job: Job, progress: Progress, started: float) -> dict:
    """The best weights after the optional last steps (aligned vectors, rounded tables), packaged in ``job.out``."""
    config, history, best = run.config, progress.history, progress.best
    if config.saved_pretrained_top and config.pretrained != "none" and run.vocab.level == "word":
        best = add_pretrained_words(run, best)
    if config.align_unseen and config.pretrained != "none" and not config.freeze_embeddings:
        best = align_if_better(run, best)
    if config.embedding_dtype != "float32":
        best = round_embeddings(run, best, config.embedding_dtype)
    best = restore_capitals(run, best)
    plot = job.work / "curves.png"
    plot_curves(history, plot)
    rates = [h["sentences_per_second"] for h in history]
    temperature, calibration = calibrate(run)
    fit = training_fit(run)
    metrics = {
        "best_epoch": best["epoch"],
        "dev": best.get("dev"),
        "test": best.get("test"),
        "epochs_run": len(history),
        "training_seconds": round(time.perf_counter() - started, 1),
        "train_sentences_per_second": round(sum(rates) / len(rates), 1),
        "history": history,
        **{
            key: best[key]
            for key in ("added_pretrained_words", "aligned_unseen", "float32_dev_f1", "truecasing")
            if key in best
        },
        **({"calibration": calibration} if calibration else {}),
        **({"training_fit": fit} if fit else {}),
    }
    info = {
        "embedding_dtype": config.embedding_dtype,
        "version": __version__,
        "created": created_date(),
        "training": {
            "data_terms": run.data_terms,
            "bigram_counts": BIGRAMS_COUNTED,
            "train": str(job.train),
            "dev": run.corpora.dev_note,
            "test": str(job.test) if job.test else None,
            **{f"{split}_sha256": digest for split, digest in run.digests.items() if digest},
            "commands": progress.commands,
            "config": asdict(config),
            "choices": run.recipe.reasons,
            "reading": run.corpora.reading,
            "machine": " then ".join(machine for machine, _ in itertools.groupby(progress.machines)),
            "processes": run.ranks.world,
            **({"parent": _parent(run.parent)} if run.parent is not None else {}),
        },
    }
    result = run.bundle(weights=True, metrics=metrics, info=info, temperature=temperature)
    result.encoder = export_if_possible(run.model, run.vocab)
    bundles.save(result, job.out, card=model_card(result), extra_files={"curves.png": plot})
    return metrics


def _parent(parent: bundles.Bundle) -> dict:
    """What a fine-tuned model's card says of the model it started from: its name, test file and score, and
    the commands that made it (its own parent's record inside, where it has one)."""
    test, training = parent.metrics.get("test"), parent.info.get("training", {})
    record = {
        "name": parent.name,
        "test": training.get("test"),
        "test_sha256": training.get("test_sha256"),
        "test_f1": test and test["f1"],
        "commands": training_commands(training),
    }
    return record | ({"parent": training["parent"]} if training.get("parent") else {})


def _data_terms(own: str, parent: bundles.Bundle | None, teachers: str) -> str:
    """The terms of the data the weights derive from: the run's own (``--data-terms``), then those of the
    parent and teachers that differ (their corpora's terms apply to what was learned from them too)."""
    sources = [(f"the parent model `{parent.name}`", parent.info)] if parent is not None else []
    sources += [(f"the teacher `{Path(path).name}`", bundles.read_config(path)) for path in teachers.split(",") if path]
    bare = own.strip().removesuffix(".")  # compared, and joined, without its full stop
    inherited: dict[str, str] = {}  # terms -> whose
    for source, info in sources:
        terms = info.get("training", {}).get("data_terms")
        if terms and terms.strip().removesuffix(".") != bare:
            inherited.setdefault(terms, source)
    if not inherited:
        return own
    first = bare or "see the training corpus's own licence"
    return "; ".join([first, *(f"from {source}: {terms}" for terms, source in inherited.items())])


def _save_atomic(state: dict, path: Path) -> None:
    """Write a checkpoint whole or not at all: beside ``path``, then renamed over it. One that cannot be
    written (a full disk) leaves the epoch before's in place and says so; torch's own writer would name
    no cause ("unexpected pos 86016 vs 85908"), so the bytes are made in memory and written here."""
    data = io.BytesIO()
    torch.save(state, data)
    temporary = path.with_name(path.name + ".tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data.getbuffer())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        kept = "the one before is kept, for --resume" if path.is_file() else "no epoch's is kept"
        raise OSError(f"{path}: the checkpoint could not be written ({error.strerror or error}); {kept}") from None


def _load_checkpoint(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"--resume: no checkpoint at {path}")
    try:  # weights_only: a checkpoint is data, never code
        return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as error:
        first_line = str(error).strip().splitlines()[0][:200]
        raise ValueError(f"{path}: not a loadable checkpoint ({first_line})") from None


def _report(record: dict, improved: bool, progress: bool) -> None:
    dev = f", dev F1 {record['dev_f1']:.2f}" if record["dev_f1"] is not None else ""
    test = f", test F1 {record['test_f1']:.2f}" if record["test_f1"] is not None else ""
    line = f"epoch {record['epoch']}: loss {record['loss']:.4f}{dev}{test}" + (" (best)" if improved and dev else "")
    if progress:
        tqdm.write(line)
    else:
        log.info(line)


def _machine(device: torch.device, processes: int = 1) -> str:
    """The hardware a run trained on, as its card says it: ``x86_64, 2 threads``; ``2 processes x ...``
    under torchrun."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        threads = torch.get_num_threads()
        name = f"{platform.processor() or platform.machine()}, {threads} thread{'s' if threads != 1 else ''}"
    return f"{processes} processes x {name}" if processes > 1 else name
