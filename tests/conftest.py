"""Shared fixtures: small synthetic corpora, tiny models trained on them once, paths to real data.

Every tiny training run goes through :func:`train_tiny` (or :func:`tiny_train_args` for a run that is
meant to fail or to run in another process): the real ``ner train`` command with the tiny settings.
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
MODELS = ROOT / "models"


@pytest.fixture(autouse=True)
def _service_settings_restored() -> Iterator[None]:
    """What a test leaves in ``NER_*`` variables (``ner serve`` writes its flags there) or in the thread switch
    interval (the service's app sets it) ends with it: the servers of later tests start as they say."""
    saved = {name: value for name, value in os.environ.items() if name.startswith("NER_")}
    interval = sys.getswitchinterval()
    yield
    for name in [name for name in os.environ if name.startswith("NER_") and name not in saved]:
        del os.environ[name]
    os.environ.update(saved)
    sys.setswitchinterval(interval)


def reseal(model: Path, *names: str) -> None:
    """Write the manifest entries of the files ``names`` of ``model`` again to match them: a consistent
    model directory with changed files, as tampering would leave it."""
    from ner import bundle as bundles

    manifest = json.loads((model / "manifest.json").read_text())
    for name in names:
        data = (model / name).read_bytes()
        manifest["files"][name] = {"sha256": bundles.sha256(data), "bytes": len(data)}
    (model / "manifest.json").write_text(json.dumps(manifest))


PEOPLE = ["Angela Merkel", "John Smith", "Maria Garcia", "Wei Zhang", "Olga Ivanova", "Peter Brown", "Ana Silva"]
PLACES = ["Paris", "Berlin", "New York", "Tokyo", "Cairo", "Lima", "Oslo", "Rio de Janeiro"]
ORGS = ["Reuters", "United Nations", "Siemens", "Acme Corp", "World Bank"]
TEMPLATES = [
    "{PER} visited {LOC} on Monday .",
    "{PER} works for {ORG} in {LOC} .",
    "The {ORG} office in {LOC} opened .",
    "{PER} said {ORG} would grow .",
    "Officials in {LOC} met {PER} .",
    "It rained in {LOC} again .",
    "Nothing happened today .",
]


def synthetic_sentences(count: int, seed: int) -> list[list[tuple[str, str]]]:
    """Sentences of (token, IOB2 tag) pairs filled from templates."""
    rng = random.Random(seed)
    pools = {"PER": PEOPLE, "LOC": PLACES, "ORG": ORGS}
    sentences = []
    for _ in range(count):
        pairs = []
        for word in rng.choice(TEMPLATES).split():
            if word.startswith("{"):
                label = word[1:-1]
                for i, token in enumerate(rng.choice(pools[label]).split()):
                    pairs.append((token, f"{'B' if i == 0 else 'I'}-{label}"))
            else:
                pairs.append((word, "O"))
        sentences.append(pairs)
    return sentences


def write_conll(path: Path, sentences: list[list[tuple[str, str]]], per_document: int | None = None) -> Path:
    """A CoNLL file of ``sentences``: one document, or a ``-DOCSTART-`` every ``per_document`` sentences."""
    lines = []
    for index, sentence in enumerate(sentences):
        if index == 0 or (per_document and index % per_document == 0):
            lines += ["-DOCSTART- -X- O", ""]
        lines += [f"{token} NN {tag}" for token, tag in sentence] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


TINY_CONFIG = """
[model]
word_dim = 16
char_dim = 8
char_hidden = 16
casing_dim = 4
hidden = 24
dropout = 0.1
word_dropout = 0.0

[train]
epochs = 6
batch_size = 16
optimizer = "adam"
lr = 0.01
lr_decay = 0.0
threads = 1
ema_decay = 0.9
"""


def tiny_train_args(out: Path, train: Path, dev: Path | None = None, *flags: str) -> list[str]:
    """The arguments of ``ner train`` for a tiny run into ``out``: the tiny settings (a file written beside
    ``out``), no progress bars, then ``flags``, which override the settings."""
    config = out.parent / "tiny.toml"
    config.write_text(TINY_CONFIG, encoding="utf-8")
    dev_args = ["--dev", str(dev)] if dev is not None else []
    return ["train", "--train", str(train), *dev_args, "--out", str(out), "--config", str(config), "--quiet", *flags]


def train_tiny(out: Path, train: Path, dev: Path | None = None, *flags: str) -> Path:
    """Train a tiny model into ``out`` with the real ``ner train`` command (a few seconds); returns ``out``."""
    from ner.cli import main

    code = main(tiny_train_args(out, train, dev, *flags))
    assert code == 0, f"ner train exited with {code}"
    return out


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("corpus")
    return {
        "train": write_conll(folder / "train.conll", synthetic_sentences(300, 1)),
        "dev": write_conll(folder / "dev.conll", synthetic_sentences(60, 2)),
        "test": write_conll(folder / "test.conll", synthetic_sentences(60, 3)),
    }


@pytest.fixture(scope="session")
def tiny_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "tiny.toml"
    path.write_text(TINY_CONFIG, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, tiny_corpus: dict[str, Path]) -> Path:
    """An English model trained for a few seconds on the synthetic corpus (BiLSTM, character CNN)."""
    out = tmp_path_factory.mktemp("models") / "tiny-en"
    return train_tiny(out, tiny_corpus["train"], tiny_corpus["dev"], "--test", str(tiny_corpus["test"]))


# Tiny English models with the other documented network options, trained on first use.
VARIANTS: dict[str, tuple[str, ...]] = {
    "gru": ("--cell", "gru", "--layers", "2"),
    "char-lstm": ("--char-encoder", "lstm"),
    "memory": ("--document-memory", "--word-dim", "12"),
}


@pytest.fixture(scope="session")
def tiny_variant(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``tiny_variant(name)``: the tiny English model trained with the flags of ``VARIANTS[name]``, trained once.

    The corpus comes in documents of five sentences, so that a document memory has something to pool.
    """
    folder = tmp_path_factory.mktemp("variants")
    train = write_conll(folder / "train.conll", synthetic_sentences(300, 1), per_document=5)
    dev = write_conll(folder / "dev.conll", synthetic_sentences(60, 2), per_document=5)
    trained: dict[str, Path] = {}

    def variant(name: str) -> Path:
        if name not in trained:
            trained[name] = train_tiny(folder / f"tiny-{name}", train, dev, *VARIANTS[name])
        return trained[name]

    return variant


def scores_only(evaluated: dict) -> dict:
    """What ``ner evaluate --json`` says of the scores, without the file's name and the time it took."""
    return {key: value for key, value in evaluated.items() if key not in ("file", "seconds")}


def shared_data(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test when the corpora are not here."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return path


def shipped_model(name: str) -> Path:
    path = MODELS / name
    if not (path / "manifest.json").is_file():
        pytest.skip(f"model {name} is not in models/")
    return path


ZH_POOLS = {
    "PER": ["李明", "王芳", "张伟", "刘洋", "陈静"],
    "LOC": ["北京", "上海", "广州", "深圳", "南京"],
    "ORG": ["北京大学", "华为公司", "人民银行", "新华社"],
}
ZH_TEMPLATES = [
    "{PER}在{LOC}工作。",
    "{PER}是{ORG}的教授。",
    "{ORG}位于{LOC}。",
    "今天天气很好。",
    "{PER}访问了{LOC}。",
]


def synthetic_chinese(count: int, seed: int) -> list[list[tuple[str, str]]]:
    """Character-level sentences of (character, IOB2 tag) pairs."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        template = rng.choice(ZH_TEMPLATES)
        pairs: list[tuple[str, str]] = []
        while template:
            if template.startswith("{"):
                label, template = template[1:4], template[5:]
                pairs += [(c, f"{'B' if i == 0 else 'I'}-{label}") for i, c in enumerate(rng.choice(ZH_POOLS[label]))]
            else:
                pairs.append((template[0], "O"))
                template = template[1:]
        sentences.append(pairs)
    return sentences


TH_PEOPLE, TH_PLACES = ["สมชาย", "สมศรี", "มานี", "ปิติ"], ["เชียงใหม่", "ภูเก็ต", "ขอนแก่น", "กรุงเทพ"]


def synthetic_thai(count: int, seed: int) -> list[list[tuple[str, str]]]:
    """Thai sentences segmented into words, as Thai corpora come: (word, IOB2 tag) pairs, a person who
    goes to, lives in or works in a place today."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        verb = rng.choice(["เดินทาง ไป", "อยู่ ที่", "ทำงาน ที่"]).split()
        person, place = rng.choice(TH_PEOPLE), rng.choice(TH_PLACES)
        sentences.append([(person, "B-PER"), *((word, "O") for word in verb), (place, "B-LOC"), ("วันนี้", "O")])
    return sentences


@pytest.fixture(scope="session")
def tiny_th_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Thai model trained with the defaults (which give Thai characters) for a few seconds."""
    folder = tmp_path_factory.mktemp("th")
    train = write_conll(folder / "train.bio", synthetic_thai(150, 3))
    dev = write_conll(folder / "dev.bio", synthetic_thai(30, 4))
    return train_tiny(folder / "tiny-th", train, dev, "--epochs", "8")


RU_PEOPLE, RU_PLACES = ["Иван Петров", "Мария Сидорова", "Ольга Иванова"], ["Москве", "Казани", "Самаре"]


def synthetic_russian(count: int, seed: int) -> list[list[tuple[str, str]]]:
    """Russian sentences in words: a person who lives or works in a place."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        first, last = rng.choice(RU_PEOPLE).split()
        verb = rng.choice(["живёт", "работает"])
        sentences.append(
            [(first, "B-PER"), (last, "I-PER"), (verb, "O"), ("в", "O"), (rng.choice(RU_PLACES), "B-LOC"), (".", "O")]
        )
    return sentences


@pytest.fixture(scope="session")
def tiny_ru_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Russian word model (Cyrillic, written with spaces) trained for a few seconds."""
    folder = tmp_path_factory.mktemp("ru")
    train = write_conll(folder / "train.bio", synthetic_russian(150, 5))
    dev = write_conll(folder / "dev.bio", synthetic_russian(30, 6))
    return train_tiny(folder / "tiny-ru", train, dev, "--epochs", "8", "--language", "ru")


@pytest.fixture(scope="session")
def tiny_zh_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A character-level Chinese model (with jieba's lexicon, as the recipe picks for Chinese) trained for a
    few seconds on a synthetic corpus."""
    folder = tmp_path_factory.mktemp("zh")
    train = write_conll(folder / "train.bio", synthetic_chinese(300, 1))
    dev = write_conll(folder / "dev.bio", synthetic_chinese(60, 2))
    return train_tiny(folder / "tiny-zh", train, dev, "--level", "char", "--language", "zh")
