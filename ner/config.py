"""Settings of a model and of a training run: typed values, a TOML file, and the ``ner train`` flags.

:class:`ModelConfig` sizes the network; :class:`TrainConfig` is everything
else about a run. Both are frozen: a run's final settings are *resolved*
(:mod:`ner.recipe`) into new objects, never patched in place. A settings
file has a ``[model]`` and a ``[train]`` section; an unknown section or key
is an error. Every field is also a ``ner train`` flag (``word_dim`` is
``--word-dim``), made from the fields themselves, with their help text.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import re
import tomllib
from dataclasses import MISSING, Field, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Self

from ner.corpus.schemes import NESTED

EMBEDDING_DTYPES = ("float32", "float16", "int8")  # how a model directory may store its embedding tables
MAX_WIDTH = 2**16  # of a recurrent layer: far past any model here, and refused before a crafted config allocates
MAX_LAYERS = 64


def setting(default: Any, help: str) -> Any:
    """A settings field with its ``help``, which `ner train --help` shows."""
    return field(default=default, metadata={"help": help})


class _Settings:
    """Shared behaviour of the two settings classes."""

    def __post_init__(self) -> None:
        for item in fields(self):  # type: ignore[arg-type]  # a dataclass, as both subclasses are
            value = getattr(self, item.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"invalid {self._section} setting {item.name}={value!r}: not a finite number")
        for name, ok in self._checks().items():
            if not ok:
                why = f": {self._why[name]}" if name in self._why else ""
                raise ValueError(f"invalid {self._section} setting {name}={getattr(self, name)!r}{why}")

    _section = ""
    _why: ClassVar[dict[str, str]] = {}  # a check that needs more than the setting's value to be understood

    def _checks(self) -> dict[str, bool]:
        return {}

    @classmethod
    def from_dict(cls, data: dict) -> Self:
        """Settings from a mapping; unknown names are an error that lists them."""
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown settings in [{cls._section}]: {_unknown(unknown, cls._section)}")
        return cls(**data)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ModelConfig(_Settings):
    """Sizes of the network. ``hidden`` is per direction."""

    _section = "model"
    _why: ClassVar[dict[str, str]] = {
        "level": "word or char",
        "char_encoder": "cnn or lstm",
        "cell": "lstm or gru",
        "dropout": "0 to under 1",
        "word_dropout": "0 to under 1",
        "unknown_dropout": "0 to under 1",
        "lexicon_dim": "0 or more",
        "word_dim": "0 or more",
        "char_dim": "0 or more",
        "casing_dim": "0 or more",
        "bigram_dim": "0 or more",
        "char_hidden": "0 or more; with --char-encoder lstm, even (half for each direction)",
        "char_kernel": "odd, 1 or more",
        "hidden": f"1 to {MAX_WIDTH:,}",
        "layers": f"1 to {MAX_LAYERS}",
    }

    level: str = setting("word", "word (English-style) or char (one token per character, Chinese-style)")
    word_dim: int = setting(50, "word embedding size (the character embedding at the char level)")
    char_dim: int = setting(30, "word level: character embedding fed to the character encoder")
    char_encoder: str = setting("cnn", "word level: cnn or lstm")
    char_hidden: int = setting(50, "word level: CNN filters, or BiLSTM size over both directions")
    char_kernel: int = setting(3, "word level: CNN window (odd)")
    bigram_dim: int = setting(50, "char level: each of the two bigram embeddings")
    casing_dim: int = setting(8, "casing embedding size")
    hidden: int = setting(128, "recurrent units per direction")
    layers: int = setting(1, "recurrent layers")
    cell: str = setting("lstm", "lstm or gru")
    dropout: float = setting(0.5, "dropout rate")
    word_dropout: float = setting(0.05, "training only: a word becomes <unk> with this probability")
    unknown_dropout: float = setting(
        0.0, "char level, training only: a bigram or lexicon word becomes <unk> with this probability"
    )
    lexicon_dim: int = setting(0, "char level: size of each of the four pooled lexicon sets (0: no lexicon)")
    lexicon_words: bool = setting(False, "char level: also learn an embedding of each dictionary word seen in training")
    document_memory: bool = setting(False, "join each token's state with its word's mean state in the document")

    def refuse_changes(self, given: dict, how: str) -> None:
        """Refuse network settings ``given`` to a run that goes on with this network (``--resume``,
        ``--init-from``), naming each."""
        changed = [f"{k}={v!r} ({getattr(self, k)!r} there)" for k, v in given.items() if getattr(self, k) != v]
        if changed:
            raise ValueError(f"{how} goes on with the network it finds, which cannot change: {', '.join(changed)}")

    def _checks(self) -> dict[str, bool]:
        return {
            "level": self.level in ("word", "char"),
            "char_encoder": self.char_encoder in ("cnn", "lstm"),
            "cell": self.cell in ("lstm", "gru"),
            "dropout": 0 <= self.dropout < 1,
            "word_dropout": 0 <= self.word_dropout < 1,
            "unknown_dropout": 0 <= self.unknown_dropout < 1,
            "lexicon_dim": self.lexicon_dim >= 0,
            "word_dim": self.word_dim >= 0,
            "char_dim": self.char_dim >= 0,
            "casing_dim": self.casing_dim >= 0,
            "bigram_dim": self.bigram_dim >= 0,
            # The character BiLSTM gives half to each direction, one unit at least.
            "char_hidden": self.char_hidden >= 0
            and (
                self.level != "word"
                or self.char_encoder != "lstm"
                or (self.char_hidden > 0 and self.char_hidden % 2 == 0)
            ),
            "char_kernel": self.char_kernel > 0 and self.char_kernel % 2 == 1,  # centred on each character
            "hidden": 0 < self.hidden <= MAX_WIDTH,
            "layers": 0 < self.layers <= MAX_LAYERS,
        }


@dataclass(frozen=True)
class TrainConfig(_Settings):
    """Everything about a training run except the network sizes."""

    _section = "train"

    epochs: int = setting(50, "maximum number of epochs")
    batch_size: int = setting(32, "sentences per batch")
    optimizer: str = setting("adam", "adam or sgd (with momentum)")
    lr: float = setting(0.002, "learning rate")
    momentum: float = setting(0.9, "sgd only: momentum")
    lr_decay: float = setting(0.05, "the learning rate after e epochs is lr / (1 + lr_decay * e)")
    weight_decay: float = setting(0.0, "L2 penalty")
    clip: float = setting(5.0, "gradients are scaled down to this L2 norm, all weights together")
    patience: int = setting(10, "epochs without a better dev F1 before stopping")
    max_minutes: float = setting(
        0.0, "stop before an epoch would end past this many minutes of training, resumed epochs counted; 0: no limit"
    )
    seed: int = setting(1, "random seed")
    threads: int = setting(2, "CPU threads")
    device: str = setting("cpu", "cpu, cuda or cuda:N")
    pretrained: str = setting("auto", "glove-6b-50d, a GloVe/word2vec text file, none, or auto (by language)")
    pretrained_top: int = setting(50_000, "keep this many most frequent pretrained words beyond the data's")
    saved_pretrained_top: int = setting(
        0, "after training, add the vectors of this many most frequent pretrained words the model lacks (0: none)"
    )
    freeze_embeddings: bool = setting(False, "keep the pretrained word vectors fixed")
    max_length: int = setting(0, "split training sentences longer than this (0: 250 characters, 150 words)")
    dev_every: int = setting(20, "without --dev: hold out every n-th training sentence as dev")
    tag_column: int = setting(-1, "CoNLL files: the column of entity tags, from 0 (-1: the last that holds tags)")
    nested: str = setting(
        "refuse", "JSONL and brat corpora: entities inside or across others refused, or the outer or inner ones kept"
    )
    min_bigram_count: int = setting(1, "char level: bigrams seen fewer times share the unknown bigram")
    mention_replacement: float = setting(
        0.0, "each training entity is swapped for another training entity of its type with this probability"
    )
    lowercase_rate: float = setting(
        0.0,
        "each training sentence (each document, with a document memory) is read in lower case with this probability, "
        "as chat, search queries and speech come (the teachers' probabilities stay those of the text as written)",
    )
    teachers: str = setting("", "distil: learn these models' tag probabilities too (comma-separated model directories)")
    teacher_weight: float = setting(0.5, "with --teachers: the teachers' share of each token's target (gold: the rest)")
    ema_decay: float = setting(0.999, "evaluate and keep a moving average of the weights (0: off)")
    align_unseen: bool = setting(False, "after training, map pretrained vectors of unseen words (if dev gains)")
    embedding_dtype: str = setting(
        "float32", "store the embedding tables in float32, float16 (half the space) or int8 (a quarter, scaled by row)"
    )
    language: str = setting("auto", "language code, or auto (detected from the training text)")
    lexicon: str = setting(
        "auto", "char level: jieba, none, auto, or a file (jieba's or HanLP's dictionary format, or one word a line)"
    )
    train_with_dev: bool = setting(False, "train on train + dev for exactly --epochs epochs, keep the last")
    init_from: str = setting(
        "",
        "continue from this model directory (fine-tuning): vocabularies and labels grow; its own defaults: epochs 5, "
        "patience 5, batch size 8, lr 0.001, no decay, no weight averaging, and without --dev, --train-with-dev",
    )

    _why: ClassVar[dict[str, str]] = {
        "embedding_dtype": ", ".join(EMBEDDING_DTYPES),
        "optimizer": "adam or sgd",
        "epochs": "1 or more",
        "batch_size": "1 or more",
        "lr": "above 0",
        "momentum": "0 to under 1",
        "lr_decay": "0 or more",
        "weight_decay": "0 or more",
        "clip": "above 0",
        "patience": "1 or more",
        "dev_every": "2 or more (1 would hold out every sentence)",
        "pretrained_top": "0 or more",
        "max_length": "0 or more",
        "min_bigram_count": "1 or more",
        "ema_decay": "0 to under 1",
        "threads": "1 or more",
        "max_minutes": "0 or more (0: no limit)",
        "mention_replacement": "0 to under 1",
        "lowercase_rate": "0 to 1",
        "teacher_weight": "above 0, at most 1",
        "teachers": "not with --mention-replacement (the teachers tag the text before names are swapped)",
        "align_unseen": "not with --train-with-dev (it is kept only if dev gains)",
        "saved_pretrained_top": "0 or more",
        "seed": f"0 to {2**32 - 1:,}",
        "device": "cpu, cuda or cuda:N",
        "language": "auto, or a language code of two or three letters (en, zh, deu; pt-BR)",
        "nested": "refuse, outer or inner",
    }

    def _checks(self) -> dict[str, bool]:
        return {
            "embedding_dtype": self.embedding_dtype in EMBEDDING_DTYPES,
            "optimizer": self.optimizer in ("adam", "sgd"),
            "epochs": self.epochs > 0,
            "batch_size": self.batch_size > 0,
            "lr": self.lr > 0,
            "momentum": 0 <= self.momentum < 1,
            "lr_decay": self.lr_decay >= 0,
            "weight_decay": self.weight_decay >= 0,
            "clip": self.clip > 0,
            "patience": self.patience > 0,
            "dev_every": self.dev_every >= 2,  # 1 would hold out every sentence
            "pretrained_top": self.pretrained_top >= 0,
            "max_length": self.max_length >= 0,
            "min_bigram_count": self.min_bigram_count >= 1,
            "ema_decay": 0 <= self.ema_decay < 1,
            "threads": self.threads > 0,
            "max_minutes": self.max_minutes >= 0,
            "mention_replacement": 0 <= self.mention_replacement < 1,
            "lowercase_rate": 0 <= self.lowercase_rate <= 1,
            "teacher_weight": 0 < self.teacher_weight <= 1,
            "teachers": not (self.teachers and self.mention_replacement),  # teachers tag the unswapped text
            "align_unseen": not (self.align_unseen and self.train_with_dev),  # it is kept only if dev gains
            "saved_pretrained_top": self.saved_pretrained_top >= 0,
            "seed": 0 <= self.seed < 2**32,  # what torch and NumPy seed from
            "device": re.fullmatch(r"cpu|cuda(:\d+)?", self.device) is not None,
            # A code as langid gives (en) or a tag a user may write (pt-BR, zh-Hans); not a name (english).
            "language": re.fullmatch(r"auto|[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*", self.language) is not None,
            "nested": self.nested in NESTED,
        }


SECTIONS: dict[str, type[ModelConfig] | type[TrainConfig]] = {"model": ModelConfig, "train": TrainConfig}


def load_config(path: str | Path | None) -> tuple[dict, dict]:
    """``(model settings, training settings)`` from a TOML or JSON file with ``[model]`` and ``[train]``."""
    if path is None:
        return {}, {}
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # a BOM, as Notepad writes one, is no setting
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ValueError(f"{path}: line {line} is not UTF-8 (a settings file is read as UTF-8)") from None
    try:
        data = json.loads(text) if str(path).endswith(".json") else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"{path}: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object with [model] and [train], not {type(data).__name__}")
    unknown = set(data) - {"model", "train"}
    if unknown:
        raise ValueError(f"{path}: unknown sections {sorted(unknown)}; expected [model] and [train]")
    model, train = data.get("model", {}), data.get("train", {})
    slips = []  # of both sections at once: a second run need not find the second section's
    for section, settings in (("model", model), ("train", train)):
        if not isinstance(settings, dict):
            raise ValueError(f"{path}: [{section}] must be a table of settings, not {type(settings).__name__}")
        if unknown := set(settings) - {f.name for f in fields(SECTIONS[section])}:
            slips.append(f"unknown settings in [{section}]: {_unknown(unknown, section)}")
    if slips:
        raise ValueError(f"{path}: {'; '.join(slips)}")
    for section, settings in (("model", model), ("train", train)):
        kinds = {f.name: _kind(f) for f in fields(SECTIONS[section])}
        for name, value in settings.items():
            if not _of_kind(value, kinds[name]):
                raise ValueError(f"{path}: [{section}] {name} = {value!r}: expected {kinds[name].__name__}")
    return model, train


def _unknown(names: set[str], section: str) -> str:
    """Unknown setting names, each with the setting of either section it may be a slip for."""
    other = next(name for name in SECTIONS if name != section)
    here, there = ([f.name for f in fields(SECTIONS[name])] for name in (section, other))
    said = []
    for name in sorted(names):
        if name in there:
            said.append(f"{name} (a [{other}] setting)")
        elif near := difflib.get_close_matches(name, here + there, n=1):
            where = "" if near[0] in here else f", a [{other}] setting"
            said.append(f"{name} (did you mean {near[0]}{where}?)")
        else:
            said.append(name)
    return ", ".join(said)


def _of_kind(value: object, kind: type) -> bool:
    """Whether a settings file's ``value`` is of ``kind`` (an int is a float too; a bool is no number)."""
    if isinstance(value, bool) or kind is bool:
        return isinstance(value, bool) and kind is bool
    return isinstance(value, kind) or (kind is float and isinstance(value, int))


def add_flags(parser: argparse.ArgumentParser, chosen: frozenset[str] = frozenset()) -> None:
    """One flag per setting of both classes, named after the field (``--word-dim``), unset by default; the help
    says each default, or that it is ``chosen`` for the corpus."""
    for cls, section in ((TrainConfig, "train"), (ModelConfig, "model")):
        group = parser.add_argument_group(f"[{section}] settings (override the --config file)")
        for item in fields(cls):
            flag = "--" + item.name.replace("_", "-")
            dest = f"{section}.{item.name}"
            default = "chosen for the corpus" if item.name in chosen else str(item.default) or "empty"
            help = f"{item.metadata['help']} (default: {default})".replace("%", "%%")
            if _kind(item) is bool:
                group.add_argument(flag, dest=dest, action=argparse.BooleanOptionalAction, help=help)
            else:
                group.add_argument(flag, dest=dest, type=_kind(item), help=help, metavar=_kind(item).__name__.upper())


def flag_settings(args: argparse.Namespace) -> tuple[dict, dict]:
    """``(model settings, training settings)`` given as flags."""
    given: dict[str, dict] = {"model": {}, "train": {}}
    for key, value in vars(args).items():
        section, _, name = key.partition(".")
        if section in given and name and value is not None:
            given[section][name] = value
    return given["model"], given["train"]


def _kind(item: Field) -> type:
    assert item.default is not MISSING
    return type(item.default)
