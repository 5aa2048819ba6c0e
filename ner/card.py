"""The model card (a model directory's README.md) and the learning curves beside it."""

from __future__ import annotations

import json
from pathlib import Path

from ner import bundle as bundles


def plot_curves(history: list[dict], path: Path) -> None:
    """Training loss and dev/test F1 per epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
        return ""
    return (
        f"Entity scores are calibrated with temperature {calibration['temperature']} fitted on "
        f"`{calibration['fitted_on']}`: expected calibration error "
        f"{calibration['ece_at_1']} before, "
        f"{calibration['ece']} after (10 bins, {calibration['entities']} predicted entities).\n\n"
    )


STORAGE = {"float16": "in float16 (half the size)", "int8": "as 8-bit integers with a scale per row (a quarter)"}


def _storage_line(bundle: bundles.Bundle) -> str:
    dtype = bundle.info.get("embedding_dtype")
    if dtype not in STORAGE:
        return ""
    line = f"\n\nThe embedding tables are stored {STORAGE[dtype]}; the scores above are those of the stored model"
    if bundle.metrics.get("float32_dev_f1") is not None:
        line += f" (dev F1 in float32: {bundle.metrics['float32_dev_f1']})"
    return line + "."


def _epochs_line(metrics: dict, training: dict) -> str:
    if training.get("config", {}).get("train_with_dev"):
        trained = "Fine-tuned" if training.get("parent") else "Trained on train and dev together"
        line = f"{trained} for {metrics.get('epochs_run')} epochs, the last kept"
        if metrics.get("dev"):
            line += "; the dev scores above are on data the model was trained on"
        return line + "." + _curves_line(metrics)
    best = f"Best epoch {metrics.get('best_epoch')} of {metrics.get('epochs_run')}, chosen by dev F1."
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


def _parent_line(training: dict, metrics: dict) -> str:
    parent = training.get("parent")
    if not parent:
        return ""
    after = metrics.get("test")
    same_test = training.get("test") and training.get("test") == parent.get("test")
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
            f"| {label} | {row['precision']:.2f} | {row['recall']:.2f} | {row['f1']:.2f} | {row['support']} |"
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
- Train: `{training.get("train")}`{_reading(training, "train")}
- Dev: {training.get("dev")}{_reading(training, "dev")}
- Test: {f"`{training['test']}`" if training.get("test") else "none"}{_reading(training, "test")}

## Scores (strict entity level, percent)
{scores}
{_calibration_line(bundle)}{_epochs_line(m, training)} Training took \
{m.get("training_seconds")} s at {m.get("train_sentences_per_second")} sentences/s on {training.get("machine")}.

Size: {_megabytes(bundle):.1f} MB of weights{_lexicon_line(bundle)}.

## How it was made
```
{chr(10).join(training_commands(training))}
```
{_parent_line(training, m)}{_reasons(training)}Network: `{json.dumps(bundle.config.to_dict())}`{_storage_line(bundle)}

Training settings: `{json.dumps(training.get("config", {}))}`

## Licence
The code that trained this model is MIT-licensed. The weights are derived from the
training corpus, whose terms apply to them: {training.get("data_terms") or "see the corpus's own licence."}
"""
