"""Tests for ner.config: settings files, validation, frozen settings, and the ``ner train`` flags made from fields."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ner.cli import build_parser
from ner.config import ModelConfig, TrainConfig, flag_settings, load_config


def write(tmp_path: Path, text: str, name: str = "settings.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_settings_file_gives_both_sections(tmp_path: Path) -> None:
    path = write(tmp_path, '[model]\nhidden = 64\ncell = "gru"\n\n[train]\nepochs = 3\nlr = 0.5\n')
    assert load_config(path) == ({"hidden": 64, "cell": "gru"}, {"epochs": 3, "lr": 0.5})
    as_json = write(tmp_path, json.dumps({"model": {"hidden": 64}}), "settings.json")
    assert load_config(as_json) == ({"hidden": 64}, {})
    assert load_config(None) == ({}, {})


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[model]\nhiden = 64\n", "hiden"),
        ("[train]\nepoch = 3\n", "epoch"),
        ("[model]\nepochs = 3\n", "epochs"),  # a [train] setting in [model]
        ("[train]\nhidden = 3\n", "hidden"),  # and the other way round
        ("[modle]\nhidden = 3\n", "modle"),
    ],
)
def test_an_unknown_key_or_section_is_an_error_naming_it(tmp_path: Path, text: str, named: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=named) as error:
        load_config(path)
    assert str(path) in str(error.value)


def test_a_malformed_file_names_itself(tmp_path: Path) -> None:
    path = write(tmp_path, "[model\nhidden = ")
    with pytest.raises(ValueError, match="settings.toml"):
        load_config(path)
    path.write_bytes(b"\xff\xfe[model]")  # not UTF-8
    with pytest.raises(ValueError, match="settings.toml: line 1 is not UTF-8"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "suffix", "message"),
    [
        ("model = 5\n", ".toml", "[model] must be a table of settings, not int"),
        ("[[train]]\nepochs = 1\n", ".toml", "[train] must be a table of settings, not list"),
        ('["model"]', ".json", "expected an object with [model] and [train], not list"),
        ('{"model": null}', ".json", "[model] must be a table of settings, not NoneType"),
    ],
)
def test_a_file_of_another_shape_is_an_error_naming_it(tmp_path: Path, text: str, suffix: str, message: str) -> None:
    path = tmp_path / f"settings{suffix}"
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(f"{path}: {message}")):
        load_config(path)


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: ModelConfig(cell="rnn"), "cell"),
        (lambda: ModelConfig(char_encoder="gru"), "char_encoder"),
        (lambda: ModelConfig(level="byte"), "level"),
        (lambda: ModelConfig(dropout=1.0), "dropout"),
        (lambda: ModelConfig(layers=0), "layers"),
        (lambda: ModelConfig(char_encoder="lstm", char_hidden=5), "char_hidden"),  # half to each direction
        (lambda: ModelConfig(char_encoder="lstm", char_hidden=0), "char_hidden"),
        (lambda: ModelConfig(char_hidden=-2), "char_hidden"),
        (lambda: ModelConfig(casing_dim=-1), "casing_dim"),
        (lambda: ModelConfig(word_dim=-1), "word_dim"),
        (lambda: TrainConfig(optimizer="lbfgs"), "optimizer"),
        (lambda: TrainConfig(embedding_dtype="float8"), "embedding_dtype"),
        (lambda: TrainConfig(batch_size=0), "batch_size"),
        (lambda: TrainConfig(lr=math.inf), "lr=inf: not a finite number"),  # passed lr > 0
        (lambda: TrainConfig(weight_decay=math.inf), "weight_decay"),
        (lambda: TrainConfig(teachers="m", mention_replacement=0.2), "teachers='m': not with --mention-replacement"),
        (lambda: ModelConfig.from_dict({"hiden": 3}), "hiden"),
        (lambda: TrainConfig.from_dict({"epoch": 3}), "epoch"),
    ],
)
def test_invalid_settings_are_errors_naming_the_setting(make: Callable[[], object], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        make()


def test_settings_are_frozen_and_round_trip_through_dicts() -> None:
    config = ModelConfig(hidden=64, cell="gru", document_memory=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.hidden = 3  # type: ignore[misc]
    assert ModelConfig.from_dict(config.to_dict()) == config
    assert TrainConfig.from_dict(TrainConfig(lr=0.5).to_dict()).lr == 0.5


def parse(*flags: str) -> tuple[dict, dict]:
    args = build_parser().parse_args(["train", "--train", "t.conll", "--out", "m", *flags])
    return flag_settings(args)


def test_flags_reach_the_settings() -> None:
    assert parse() == ({}, {})  # nothing given: nothing overrides the file
    model, train = parse("--word-dim", "30", "--document-memory", "--cell", "gru", "--lr", "0.5", "--epochs", "4")
    assert model == {"word_dim": 30, "document_memory": True, "cell": "gru"}
    assert train == {"lr": 0.5, "epochs": 4}
    assert type(train["lr"]) is float and type(model["word_dim"]) is int
    assert parse("--no-document-memory", "--freeze-embeddings") == (
        {"document_memory": False},
        {"freeze_embeddings": True},
    )


def test_every_field_of_both_classes_is_a_flag() -> None:
    """The flags are made from the fields: each one parses into its own setting with its own type."""
    for cls, section in ((ModelConfig, 0), (TrainConfig, 1)):
        for field in dataclasses.fields(cls):
            flag = "--" + field.name.replace("_", "-")
            default = field.default
            if isinstance(default, bool):
                given = parse(flag if not default else f"--no-{flag[2:]}")
                assert given[section] == {field.name: not default}, field.name
            else:
                given = parse(flag, str(default))
                assert given[section] == {field.name: default}, field.name
                assert type(given[section][field.name]) is type(default)


def test_flags_override_the_file_in_a_real_run(tiny_variant: Callable[[str], Path]) -> None:
    """The tiny settings file says word_dim = 16 and no document memory; the flags say 12 and yes."""
    model = tiny_variant("memory")
    saved = json.loads((model / "config.json").read_text())["model"]
    assert saved["word_dim"] == 12 and saved["document_memory"] is True
    assert saved["hidden"] == 24  # from the file
    from ner import bundle as bundles

    weights = bundles.load(model).weights
    assert weights["word_embed.weight"].shape[1] == 12
    assert weights["project.weight"].shape[1] == 4 * 24  # own states and the memory, both directions


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[model]\nhiden_size = 64\n", "hiden_size (did you mean hidden?)"),
        ("[train]\nhidden = 3\n", "hidden (a [model] setting)"),
        ("[model]\nepochs = 3\n", "epochs (a [train] setting)"),
        ("[model]\nlr_decy = 3\n", "lr_decy (did you mean lr_decay, a [train] setting?)"),
    ],
)
def test_an_unknown_key_says_what_it_may_be_a_slip_for(tmp_path: Path, text: str, said: str) -> None:
    with pytest.raises(ValueError, match=re.escape(said)):
        load_config(write(tmp_path, text))


def test_a_byte_order_mark_is_no_setting(tmp_path: Path) -> None:
    """Notepad writes one: the file read as "Invalid statement (at line 1, column 1)"."""
    path = tmp_path / "settings.toml"
    path.write_bytes("\ufeff[model]\nhidden = 64\n".encode())
    assert load_config(path) == ({"hidden": 64}, {})
    path.write_bytes(b"[model]\nhidden = 64\n# caf\xe9\n")  # Latin-1 on its third line
    with pytest.raises(ValueError, match="line 3 is not UTF-8"):
        load_config(path)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"seed": -5}, "invalid train setting seed=-5: 0 to 4,294,967,295"),
        ({"seed": 2**64}, "seed=18446744073709551616: 0 to"),
        ({"language": "english"}, "language='english': auto, or a language code"),
        ({"device": "foo"}, "device='foo': cpu, cuda or cuda:N"),
        ({"epochs": 0}, "epochs=0: 1 or more"),
    ],
)
def test_a_training_setting_out_of_range_says_what_is_accepted(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        TrainConfig.from_dict(settings)
    for fine in ({"seed": 0}, {"language": "de"}, {"language": "deu"}, {"language": "pt-BR"}, {"device": "cuda:1"}):
        TrainConfig.from_dict(fine)


def test_every_check_says_what_is_accepted() -> None:
    for cls in (ModelConfig, TrainConfig):
        assert set(cls()._checks()) <= set(cls._why), cls.__name__


def test_the_help_says_each_default_or_that_the_corpus_chooses_it() -> None:
    text = build_parser().format_help() + next(
        action.choices["train"].format_help() for action in build_parser()._actions if action.dest == "command"
    )
    assert "--batch-size INT" in text
    flat = " ".join(text.split())
    assert "sentences per batch (default: 32)" in flat and "random seed (default: 1)" in flat
    assert "maximum number of epochs (default: chosen for the corpus)" in flat
    assert "recurrent units per direction (default: chosen for the corpus)" in flat
    assert "recurrent layers (default: 1)" in flat


def test_init_froms_help_gives_fine_tunings_own_defaults() -> None:
    from ner.finetuning import FINE_TUNING

    said = next(f for f in dataclasses.fields(TrainConfig) if f.name == "init_from").metadata["help"]
    assert FINE_TUNING == {"epochs": 5, "batch_size": 8, "lr": 0.001, "lr_decay": 0.0, "ema_decay": 0.0, "patience": 5}
    assert "epochs 5" in said and "patience 5" in said and "batch size 8" in said and "lr 0.001" in said


def test_slips_in_both_sections_are_named_at_once(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as error:
        load_config(write(tmp_path, "[model]\nhiden = 1\n\n[train]\nepoch = 2\n"))
    assert "[model]: hiden (did you mean hidden?); unknown settings in [train]: epoch (did you mean epochs?)" in str(
        error.value
    )
