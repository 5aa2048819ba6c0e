"""Shared fixtures: a small synthetic corpus, a tiny model trained on it once, paths to real data."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
MODELS = ROOT / "models"

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


def write_conll(path: Path, sentences: list[list[tuple[str, str]]]) -> Path:
    lines = ["-DOCSTART- -X- O", ""]
    for sentence in sentences:
        lines += [f"{token} NN {tag}" for token, tag in sentence] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("corpus")
    return {
        "train": write_conll(folder / "train.conll", synthetic_sentences(300, 1)),
        "dev": write_conll(folder / "dev.conll", synthetic_sentences(60, 2)),
        "test": write_conll(folder / "test.conll", synthetic_sentences(60, 3)),
    }


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


@pytest.fixture(scope="session")
def tiny_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("config") / "tiny.toml"
    path.write_text(TINY_CONFIG, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, tiny_corpus: dict[str, Path], tiny_config: Path) -> Path:
    """A model trained for a few seconds on the synthetic corpus."""
    from ner.cli import main

    out = tmp_path_factory.mktemp("models") / "tiny-en"
    code = main(
        [
            "train",
            "--train",
            str(tiny_corpus["train"]),
            "--dev",
            str(tiny_corpus["dev"]),
            "--test",
            str(tiny_corpus["test"]),
            "--out",
            str(out),
            "--config",
            str(tiny_config),
            "--quiet",
        ]
    )
    assert code == 0
    return out


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


@pytest.fixture(scope="session")
def tiny_zh_model(tmp_path_factory: pytest.TempPathFactory, tiny_config: Path) -> Path:
    """A character-level Chinese model trained for a few seconds on a synthetic corpus."""
    from ner.cli import main

    folder = tmp_path_factory.mktemp("zh")
    train = write_conll(folder / "train.bio", synthetic_chinese(300, 1))
    dev = write_conll(folder / "dev.bio", synthetic_chinese(60, 2))
    out = folder / "tiny-zh"
    assert (
        main(
            [
                "train",
                "--train",
                str(train),
                "--dev",
                str(dev),
                "--out",
                str(out),
                "--config",
                str(tiny_config),
                "--level",
                "char",
                "--language",
                "zh",
                "--quiet",
            ]
        )
        == 0
    )
    return out
