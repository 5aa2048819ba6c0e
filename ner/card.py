"""The model card (a model directory's README.md) and the learning curves beside it."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import ModuleType

from ner import bundle as bundles
from ner.vocab import GLOVE_PACKAGE


def pyplot() -> ModuleType:
    """matplotlib's pyplot, drawing into files. Where HOME cannot hold matplotlib's caches (read-only, or
    none) it keeps them in a temporary folder, which it said in two warnings in every training's log."""
    logger = logging.getLogger("matplotlib")
    level = logger.level
    logger.setLevel(logging.ERROR)  # for the import, which warns of its caches' folder; other warnings stay
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    finally:
        logger.setLevel(level)
    return plt


def plot_curves(history: list[dict], path: Path) -> None:
    """Training loss and dev/test F1 per epoch, as a PNG."""
    plt = pyplot()

    epochs = [h["epoch"] for h in history]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, [h["loss"] for h in history], marker="o")
    left.set(title="training loss", xlabel="epoch", ylabel="negative log-likelihood per sentence")
    right.plot(epochs, [h["dev_f1"] for h in history], marker="o", label="dev")
    if any(h["test_f1"] is not None for h in history):
        right.plot(epochs, [h["test_f1"] for h in history], marker="s", label="test")
    right.set(title="entity F1", xlabel="epoch", ylabel="F1 (%)")
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def training_commands(training: dict) -> list[str]:
    """Every command that produced the model, in order."""
    return training.get("commands") or ([training["command"]] if training.get("command") else ["(not recorded)"])


def _calibration_line(bundle: bundles.Bundle) -> str:
    calibration = bundle.metrics.get("calibration")
    if not calibration:
        inherited = bundle.info.get("training", {}).get("parent") and bundle.temperature != 1.0
        return f"Entity scores keep the parent's temperature, {bundle.temperature}.\n\n" if inherited else ""
    before = f" (on the model before `{calibration['before']}`)" if calibration.get("before") else ""
    return (
        f"Entity scores are calibrated with temperature {calibration['temperature']} fitted on "
        f"`{calibration['fitted_on']}`{before}: expected calibration error "
        f"{calibration['ece_at_1']} before, "
        f"{calibration['ece']} after (10 bins, {calibration['entities']} predicted entities).\n\n"
    )


STORAGE = {"float16": "in float16 (half the size)", "int8": "as 8-bit integers with a scale per row (a quarter)"}


def _training_fit_line(metrics: dict) -> str:
    """How many of a fine-tuning's few training sentences the model tags as annotated (ner.finishing)."""
    fit = metrics.get("training_fit")
    if not fit:
        return ""
    return f"Of its {fit['sentences']:,} training sentences it tags {fit['as_annotated']:,} as annotated.\n\n"


def _capitals_line(metrics: dict) -> str:
    """How the model reads text written in one case (:mod:`ner.truecasing`), with its dev scores."""
    record = metrics.get("truecasing")
    if not record:
        return ""
    scores, rule = record["dev_f1_lowercased"], record["unknown_words"]
    pairs = f" and {record['pairs']:,} pairs of words" if record.get("pairs") else ""
    head = f"Text written in one case is read with the usual capitals of {record['words']:,} training words{pairs}"
    if scores is None:
        return f"{head}, other words {rule} (unmeasured: no dev file, or none of its entities found lowercased).\n\n"
    ways = {
        "none": "capitals not restored",
        "lowercase": "other words lowercase",
        "capitalized": "other words capitalized",
    }
    measured = "; ".join(f"{ways[way]} {f1:.2f}" for way, f1 in scores.items())
    if rule is None:
        return (
            f"Text written in one case is read as written, capitals not restored (dev F1 lowercased: {measured}).\n\n"
        )
    return f"{head}, other words {rule} (dev F1 lowercased: {measured}).\n\n"


def _storage_line(bundle: bundles.Bundle) -> str:
    dtype = bundle.info.get("embedding_dtype")
    if dtype not in STORAGE:
        return ""
    line = f"\n\nThe embedding tables are stored {STORAGE[dtype]}; the scores above are those of the stored model"
    if bundle.metrics.get("float32_dev_f1") is not None:
        line += f" (dev F1 in float32: {bundle.metrics['float32_dev_f1']})"
    return line + "."


def training_dev_file(training: dict) -> str | None:
    """The dev file a model's training read (None: dev held out of the training file, or not recorded)."""
    note = str(training.get("dev", "")).removesuffix(", trained on too")
    return note.removeprefix("dev file ") if note.startswith("dev file ") else None


def scored_dev_file(training: dict) -> str | None:
    """The file the card's dev scores are of: the one ``ner words`` scored last, else the training's."""
    return training["dev_scored"] if "dev_scored" in training else training_dev_file(training)


def _dev_line(training: dict) -> str:
    """Where the dev sentences came from, and, after ``ner words``, which file its dev scores are of."""
    line = training.get("dev", "not recorded")
    if "dev_scored" not in training:
        return line
    if training["dev_scored"] is None:
        return line + "; no dev file scored since `ner words` changed the model"
    return line + f"; the dev scores above are of `{training['dev_scored']}`, scored by `ner words`"


def _epochs_line(metrics: dict, training: dict) -> str:
    if training.get("config", {}).get("train_with_dev"):
        if training.get("parent"):
            trained = "Fine-tuned"
        elif str(training.get("dev", "")).startswith("no dev file"):
            trained = "Trained on every training sentence"
        else:
            trained = "Trained on train and dev together"
        line = f"{trained} for {metrics.get('epochs_run')} epochs, the last kept"
        if metrics.get("dev") and "dev_scored" not in training:
            line += "; the dev scores above are on data the model was trained on"
        return line + "." + _curves_line(metrics)
    if metrics.get("best_epoch") is None:
        return "Epochs not recorded."
    best = f"Best epoch {metrics['best_epoch']} of {metrics.get('epochs_run')}, chosen by dev F1."
    return best + _curves_line(metrics)


def _curves_line(metrics: dict) -> str:
    return " Learning curves: [curves.png](curves.png)." if metrics.get("history") else ""


def _megabytes(bundle: bundles.Bundle) -> float:
    """The stored size of the weights (embedding tables in float16 or int8 when stored so)."""
    stored = bundles.stored_tables(bundle.weights, bundle.info.get("embedding_dtype", "float32"))
    return sum(array.nbytes for array in stored.values()) / 1e6


def _lexicon_line(bundle: bundles.Bundle) -> str:
    lexicon = bundle.vocab.lexicon
    if lexicon is None:
        return ""
    return f", plus a lexicon of {len(lexicon):,} words (`lexicon.safetensors`, {len(lexicon.to_bytes()) / 1e6:.1f} MB)"


def _ancestors_commands(parent: dict | None) -> list[str]:
    """The commands that made a fine-tuned model's parent, and its parent's before them, each under its name."""
    if not parent:
        return []
    own = parent.get("commands") or ["(not recorded)"]
    return [*_ancestors_commands(parent.get("parent")), f"# the parent model, {parent['name']}:", *own]


def _commands_block(training: dict) -> str:
    ancestors = _ancestors_commands(training.get("parent"))
    return "\n".join([*ancestors, *(["# this model:"] if ancestors else []), *training_commands(training)])


def _same_file(training: dict, parent: dict) -> bool:
    """Whether the run's test file is its parent's: the same bytes (paths differ between folders), or, for a
    parent recorded before its file's digest was, the same path."""
    if training.get("test_sha256") and parent.get("test_sha256"):
        return training["test_sha256"] == parent["test_sha256"]
    return bool(training.get("test")) and training.get("test") == parent.get("test")


def _parent_line(training: dict, metrics: dict) -> str:
    parent = training.get("parent")
    if not parent:
        return ""
    after = metrics.get("test")
    same_test = _same_file(training, parent)
    forgetting = (
        f" On the parent's test file, F1 went from {parent['test_f1']:.2f} to {after['f1']:.2f}."
        if same_test and after and parent.get("test_f1") is not None
        else " Pass the parent's test file as --test to measure what fine-tuning cost there."
    )
    scored = f"test F1 {parent['test_f1']:.2f}" if parent.get("test_f1") is not None else "no test F1"
    return f"Fine-tuned from `{parent['name']}` ({scored}).{forgetting}\n\n"


def _reading(training: dict, role: str) -> str:
    """How a corpus file was read: its tags' scheme, then the reader's notes as sub-items."""
    reading = training.get("reading", {}).get(role)
    if not reading:
        return ""
    described, *notes = reading
    return f" ({described})" + "".join(f"\n  - {note}" for note in notes)


def _reasons(training: dict) -> str:
    reasons = training.get("choices")
    if not reasons:
        return ""
    return "Chosen automatically for this corpus:\n" + "".join(f"- {r}\n" for r in reasons) + "\n"


def _settings_line(training: dict) -> str:
    rewritten = any(command.startswith("ner words") for command in training_commands(training))
    since = " (`ner words` changed the vocabulary and the tables' storage since)" if rewritten else ""
    return f"Training settings{since}: `{json.dumps(training.get('config', {}))}`"


def _cell(text: str) -> str:
    """``text`` in a Markdown table cell (a label may hold ``|``)."""
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _run_line(metrics: dict, training: dict) -> str:
    if metrics.get("training_seconds") is None:
        return ""
    return (
        f" Training took {metrics['training_seconds']} s at {metrics.get('train_sentences_per_second')} "
        f"sentences/s on {training.get('machine', 'a machine not recorded')}."
    )


# The MIT licence's conditions, which a copy of jieba's dictionary carries with its copyright line.
MIT_PERMISSION = """Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
the Software, and to permit persons to whom the Software is furnished to do so,
subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS
FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE."""


def _components(bundle: bundles.Bundle) -> str:
    """The terms of what the model holds beyond what it learned: pretrained vectors, jieba's dictionary."""
    settings = bundle.info.get("training", {}).get("config", {})
    lines = ""
    if settings.get("pretrained") == GLOVE_PACKAGE:
        lines += (
            "\nThe word vectors it started from, and those of GloVe's most frequent words it holds, are GloVe 6B "
            "(Pennington, Socher and Manning 2014), under the Public Domain Dedication and License v1.0.\n"
        )
    if settings.get("lexicon") == "jieba" and bundle.vocab.lexicon is not None:
        lines += (
            "\n`lexicon.safetensors` holds the words of jieba's dictionary (https://github.com/fxsjy/jieba), "
            f"under the MIT License:\n\n```\nCopyright (c) 2013 Sun Junyi\n\n{MIT_PERMISSION}\n```\n"
        )
    return lines


def model_card(bundle: bundles.Bundle) -> str:
    """The README.md of a model directory."""
    m, info = bundle.metrics, bundle.info
    training = info.get("training", {})
    rows = []
    for split in ("dev", "test"):
        scores = m.get(split)
        if scores:
            rows.append(f"| {split} | {scores['precision']:.2f} | {scores['recall']:.2f} | {scores['f1']:.2f} |")
    scores = "No dev or test file was scored.\n"
    best = m.get("test") or m.get("dev")
    if best:
        per_type = "\n".join(
            f"| {_cell(label)} | {row['precision']:.2f} | {row['recall']:.2f} | {row['f1']:.2f} | {row['support']} |"
            for label, row in best["per_type"].items()
        )
        scores = f"""| split | precision | recall | F1 |
|---|---|---|---|
{chr(10).join(rows)}

Per type ({"test" if m.get("test") else "dev"}):

| label | precision | recall | F1 | support |
|---|---|---|---|---|
{per_type}
"""
    return f"""# {bundle.name}

A BiLSTM-CRF named-entity tagger ({bundle.config.level} level, language `{bundle.language}`).
Labels: {", ".join(bundle.labels)}.

## Data
- Train: {f"`{training['train']}`" if training.get("train") else "not recorded"}{_reading(training, "train")}
- Dev: {_dev_line(training)}{_reading(training, "dev")}
- Test: {f"`{training['test']}`" if training.get("test") else "none"}{_reading(training, "test")}

## Scores (strict entity level, percent)
{scores}
{_calibration_line(bundle)}{_training_fit_line(m)}{_capitals_line(m)}{_epochs_line(m, training)}{_run_line(m, training)}

Size: {_megabytes(bundle):.1f} MB of weights{_lexicon_line(bundle)}.

## How it was made
```
{_commands_block(training)}
```
{_parent_line(training, m)}{_reasons(training)}Network: `{json.dumps(bundle.config.to_dict())}`{_storage_line(bundle)}

{_settings_line(training)}

## Licence
The code that trained this model is MIT-licensed. The weights are derived from the
training corpus, whose terms apply to them: {training.get("data_terms") or "see the corpus's own licence."}
{_components(bundle)}"""
