"""Training: corpora -> vocabularies -> model -> epochs of CRF loss -> the best model on dev, packaged.

One loop to read in one sitting: length-bucketed shuffled batches, gradient
clipping, a learning rate decayed per epoch, dev entity F1 after each epoch,
early stopping, an atomic checkpoint per epoch (``--resume`` continues from it
exactly), learning curves as PNG, and the best model saved with a model card.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import time
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from ner import bundle as bundles
from ner.corpus import Sentence, read_corpus
from ner.distributed import Distributed
from ner.features import Vocabularies
from ner.metrics import entity_scores
from ner.model import ModelConfig, NERModel
from ner.tagger import Tagger
from ner.text import cjk_ratio
from ner.vocab import GLOVE_PACKAGE, load_vectors

log = logging.getLogger("ner.train")
CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainConfig:
    """Everything about a training run except the network sizes."""

    epochs: int = 50
    batch_size: int = 32
    optimizer: str = "adam"  # "adam" or "sgd" (with momentum)
    lr: float = 0.002
    momentum: float = 0.9  # sgd only
    lr_decay: float = 0.05  # lr at epoch e is lr / (1 + lr_decay * e)
    weight_decay: float = 0.0
    clip: float = 5.0
    patience: int = 10  # epochs without a better dev F1 before stopping
    seed: int = 1
    threads: int = 2
    device: str = "cpu"
    pretrained: str | None = "auto"  # "glove-6b-50d", a GloVe/word2vec file, "none", or "auto" (GloVe for English)
    pretrained_top: int = 50_000  # keep this many most frequent pretrained words beyond those in the data
    freeze_embeddings: bool = False
    max_length: int = 0  # split training sentences longer than this (0: by level, 250 chars / no limit)
    dev_every: int = 20  # without a dev file: every n-th training sentence is held out as dev
    min_bigram_count: int = 1
    ema_decay: float = 0.999  # > 0: evaluate and keep an exponential moving average of the weights
    align_unseen: bool = False  # after training, map pretrained vectors of unseen words (kept if dev improves)
    embedding_dtype: str = "float32"  # "float16" stores the embedding tables in half the space
    language: str = "auto"  # "en", "zh", ...; "auto" guesses from the script of the corpus

    def __post_init__(self) -> None:
        if self.embedding_dtype not in ("float32", "float16"):
            raise ValueError(f"embedding_dtype must be float32 or float16, not {self.embedding_dtype!r}")

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown training settings: {sorted(unknown)}")
        return cls(**data)


@dataclass
class Corpora:
    train: list[Sentence]
    dev: list[Sentence]
    test: list[Sentence] = field(default_factory=list)
    dev_note: str = ""


def load_config(path: str | Path | None) -> tuple[dict, dict]:
    """``(model settings, training settings)`` from a TOML or JSON file with ``[model]`` and ``[train]``."""
    if path is None:
        return {}, {}
    text = Path(path).read_text(encoding="utf-8")
    data = json.loads(text) if str(path).endswith(".json") else tomllib.loads(text)
    unknown = set(data) - {"model", "train"}
    if unknown:
        raise ValueError(f"{path}: unknown sections {sorted(unknown)}; expected [model] and [train]")
    return data.get("model", {}), data.get("train", {})


def load_corpora(train: str, dev: str | None, test: str | None, dev_every: int) -> Corpora:
    train_sentences, _ = read_corpus(train)
    test_sentences = read_corpus(test)[0] if test else []
    if dev:
        return Corpora(train_sentences, read_corpus(dev)[0], test_sentences, f"dev file {dev}")
    held = [s for i, s in enumerate(train_sentences) if i % dev_every == dev_every - 1]
    kept = [s for i, s in enumerate(train_sentences) if i % dev_every != dev_every - 1]
    note = (
        f"no dev file: every {dev_every}th sentence of the training file "
        f"({len(held)} sentences) is held out as dev and not trained on"
    )
    return Corpora(kept, held, test_sentences, note)


def split_long(sentences: Sequence[Sentence], max_length: int) -> list[Sentence]:
    """Cut sentences longer than ``max_length`` at sentence punctuation outside entities."""
    if max_length <= 0:
        return list(sentences)
    out = []
    enders = {"。", "！", "？", "；", ".", "!", "?", ";", "，", ","}
    for sentence in sentences:
        tokens, tags = sentence.tokens, sentence.tags
        begin = 0
        while len(tokens) - begin > max_length:
            limit = begin + max_length
            cut = next(
                (
                    i + 1
                    for i in range(limit - 1, begin, -1)
                    if tokens[i] in enders and tags[i][0] in "OES" and tags[i + 1][0] in "OBS"
                ),
                None,
            )
            if cut is None:  # no punctuation: any boundary between entities
                cut = next(
                    (i + 1 for i in range(limit - 1, begin, -1) if tags[i][0] in "OES" and tags[i + 1][0] in "OBS"),
                    limit,
                )
            out.append(Sentence(tokens[begin:cut], tags[begin:cut]))
            begin = cut
        out.append(Sentence(tokens[begin:], tags[begin:]))
    return out


def batches(sentences: Sequence[Sentence], size: int, generator: torch.Generator) -> list[list[int]]:
    """Shuffled batches of sentence indices with similar lengths (little padding)."""
    noise = torch.rand(len(sentences), generator=generator).tolist()
    order = sorted(range(len(sentences)), key=lambda i: len(sentences[i].tokens) + 2 * noise[i])
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    return [groups[i] for i in torch.randperm(len(groups), generator=generator).tolist()]


def evaluate(tagger: Tagger, sentences: Sequence[Sentence]) -> dict:
    """Entity scores of ``tagger`` on gold ``sentences``."""
    predicted = tagger.predict_tags([s.tokens for s in sentences])
    return entity_scores([s.tags for s in sentences], predicted)


def build_vocab(
    config: TrainConfig, level: str, corpora: Corpora
) -> tuple[Vocabularies, list[str], torch.Tensor | None]:
    """Vocabularies, plus pretrained words and vectors to copy into the word embedding."""
    sentences = [s.tokens for s in corpora.train]
    tags = [s.tags for s in corpora.train]
    if level == "char" or not config.pretrained:
        return Vocabularies.build(level, sentences, tags, min_bigram_count=config.min_bigram_count), [], None
    in_data = {t.lower() for part in (corpora.train, corpora.dev, corpora.test) for s in part for t in s.tokens}
    words, vectors = load_vectors(config.pretrained)
    keep = [i for i, w in enumerate(words) if i < config.pretrained_top or w in in_data]
    kept_words = [words[i] for i in keep]
    vocab = Vocabularies.build(level, sentences, tags, extra_words=kept_words)
    return vocab, kept_words, torch.from_numpy(vectors[keep])


def make_model(config: ModelConfig, vocab: Vocabularies) -> NERModel:
    return NERModel(
        config,
        n_words=len(vocab.words),
        n_tags=len(vocab.tags),
        tags=vocab.tags.itos,
        n_chars=len(vocab.chars) if vocab.chars else 0,
        n_bigrams=len(vocab.bigrams) if vocab.bigrams else 0,
    )


def make_optimizer(config: TrainConfig, model: NERModel) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    raise ValueError(f"unknown optimizer {config.optimizer!r}; expected 'sgd' or 'adam'")


def _save_atomic(state: dict, path: Path) -> None:
    temporary = path.with_name(path.name + ".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def fit(
    train_path: str,
    dev_path: str | None,
    out: str | Path,
    model_config: ModelConfig | None = None,
    config: TrainConfig | None = None,
    test_path: str | None = None,
    resume: bool = False,
    command: str = "",
    name: str | None = None,
    data_terms: str = "",
    progress: bool = True,
) -> dict:
    """Train a model and save the best one (by dev F1) to ``out``; returns its metrics.

    Under torchrun, every process runs this; see :mod:`ner.distributed`.
    """
    config = config or TrainConfig()
    out = Path(out)
    work = out.with_name(out.name + ".training")
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    device = torch.device(config.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but torch sees no CUDA GPU")
    ranks = Distributed.start(device)
    if device.type == "cuda" and ranks.world > 1:
        device = torch.device("cuda", ranks.local_rank)
    progress = progress and ranks.main

    corpora = load_corpora(train_path, dev_path, test_path, config.dev_every)
    ratio = cjk_ratio("".join(t for s in corpora.train[:2000] for t in s.tokens))
    language = config.language if config.language != "auto" else ("zh" if ratio > 0.5 else "en")
    model_config = model_config or ModelConfig(level="char" if language in ("zh", "ja") else "word")
    max_length = config.max_length or (250 if model_config.level == "char" else 0)
    if config.pretrained == "auto":  # the 50-d GloVe vectors fit an English word model of 50 dimensions
        english_words = language == "en" and model_config.level == "word" and model_config.word_dim == 50
        config.pretrained = GLOVE_PACKAGE if english_words else None
    elif config.pretrained in ("", "none"):
        config.pretrained = None
    train_sentences = split_long(corpora.train, max_length)

    checkpoint_path = work / CHECKPOINT
    state = _load_checkpoint(checkpoint_path) if resume else None
    if state is not None:
        model_config = ModelConfig.from_dict(state["model_config"])
        vocab = Vocabularies.from_json(json.loads((work / "vocab.json").read_text(encoding="utf-8")))
        model = make_model(model_config, vocab)
    else:
        # Rank 0 builds the vocabulary and loads pretrained vectors; DDP copies its weights to the others.
        vocab, pretrained_words, vectors = (
            build_vocab(config, model_config.level, corpora) if ranks.main else (None, [], None)
        )
        vocab = Vocabularies.from_json(ranks.share(vocab.to_json() if vocab else None))
        if ranks.main:
            work.mkdir(parents=True, exist_ok=True)
            (work / "vocab.json").write_text(json.dumps(vocab.to_json(), ensure_ascii=False), encoding="utf-8")
        model = make_model(model_config, vocab)
        if vectors is not None:
            if vectors.shape[1] != model_config.word_dim:
                raise ValueError(
                    f"pretrained vectors have {vectors.shape[1]} dimensions, "
                    f"the model's word_dim is {model_config.word_dim}"
                )
            model.load_pretrained(torch.tensor(vocab.words.encode(pretrained_words)), vectors)
    if config.freeze_embeddings:
        model.word_embed.weight.requires_grad_(False)
    model.to(device)
    optimizer = make_optimizer(config, model)

    history: list[dict] = []
    best: dict = {"f1": -1.0, "epoch": 0}
    best_state = None
    first_epoch = 1
    commands = [command]  # with --resume: every command that contributed, in order
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history, best, best_state = state["history"], state["best"], state["best_state"]
        first_epoch = state["epoch"] + 1
        commands = [*state.get("commands", []), command]
        torch.set_rng_state(state["rng"])
        log.info("resumed from %s after epoch %d", checkpoint_path, state["epoch"])
    # A batch of one-token sentences leaves the CRF transitions without a gradient: tell DDP.
    trainer = DistributedDataParallel(model, find_unused_parameters=True) if ranks.world > 1 else model
    average = WeightAverage(
        model, config.ema_decay, state.get("ema") if state else None, state.get("ema_steps", 0) if state else 0
    )

    generator = torch.Generator()
    started = time.perf_counter() - sum(h["seconds"] for h in history)
    for epoch in range(first_epoch, config.epochs + 1):
        if best["epoch"] > 0 and epoch - best["epoch"] > config.patience:
            break
        generator.manual_seed(config.seed * 1000 + epoch)
        for group in optimizer.param_groups:
            group["lr"] = config.lr / (1 + config.lr_decay * (epoch - 1))
        model.train()
        epoch_start = time.perf_counter()
        total_loss, seen = 0.0, 0
        bar = tqdm(
            ranks.my_share(batches(train_sentences, config.batch_size, generator)),
            desc=f"epoch {epoch}",
            unit="batch",
            disable=not progress,
            dynamic_ncols=True,
        )
        for indices in bar:
            chunk = [train_sentences[i] for i in indices]
            batch = vocab.encode([s.tokens for s in chunk], [s.tags for s in chunk]).to(device)
            loss = trainer(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
            optimizer.step()
            average.update(model)
            total_loss += loss.item() * len(chunk)
            seen += len(chunk)
            bar.set_postfix(loss=f"{total_loss / seen:.3f}", sent_s=f"{seen / (time.perf_counter() - epoch_start):.0f}")
        train_seconds = time.perf_counter() - epoch_start
        total_loss, seen = ranks.total(total_loss, seen)
        if not math.isfinite(total_loss):
            raise FloatingPointError(f"epoch {epoch}: the loss became {total_loss}; lower the learning rate")

        if ranks.main:
            model.eval()
            raw_weights = average.swap_in(model)  # score (and keep) the averaged weights when averaging
            tagger = _scoring_tagger(model, vocab, name or out.name, language, device)
            dev = evaluate(tagger, corpora.dev)
            test = evaluate(tagger, corpora.test) if corpora.test else None
            history.append(
                {
                    "epoch": epoch,
                    "loss": total_loss / seen,
                    "dev_f1": dev["f1"],
                    "test_f1": test["f1"] if test else None,
                    "lr": optimizer.param_groups[0]["lr"],
                    "train_seconds": round(train_seconds, 1),
                    "sentences_per_second": round(seen / train_seconds, 1),
                    "seconds": round(time.perf_counter() - epoch_start, 1),
                }
            )
            improved = dev["f1"] > best["f1"]
            if improved:
                best = {"f1": dev["f1"], "epoch": epoch, "dev": dev, "test": test}
                best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            average.swap_out(model, raw_weights)
            _report(history[-1], improved, progress)
            _save_atomic(
                {
                    "model": model.state_dict(),
                    "model_config": model_config.to_dict(),
                    "optimizer": optimizer.state_dict(),
                    "epoch": epoch,
                    "history": history,
                    "best": best,
                    "best_state": best_state,
                    "rng": torch.get_rng_state(),
                    "ema": average.state,
                    "ema_steps": average.steps,
                    "commands": commands,
                },
                checkpoint_path,
            )
        best = ranks.share(best)  # every rank stops at the same epoch

    metrics = {}
    if ranks.main:
        model.load_state_dict(best_state)
        if config.align_unseen and config.pretrained and not config.freeze_embeddings:
            best = _align_if_better(model, vocab, corpora, config, best, name or out.name, language, device)
        if config.embedding_dtype == "float16":
            best = _round_embeddings_to_half(model, vocab, corpora, best, name or out.name, language, device)
        metrics = _package(
            model,
            vocab,
            history,
            best,
            out,
            work,
            name or out.name,
            language,
            config,
            corpora,
            train_path,
            test_path,
            commands,
            data_terms,
            device,
            time.perf_counter() - started,
        )
    ranks.barrier()
    ranks.stop()
    return metrics


class WeightAverage:
    """An exponential moving average of the weights, updated after every step (off when ``decay`` is 0).

    Averaged weights usually generalise a little better than the last ones; with averaging
    on, dev scores and the saved model use them.
    """

    def __init__(self, model: NERModel, decay: float, state: dict | None = None, steps: int = 0) -> None:
        self.decay = decay
        self.state: dict[str, torch.Tensor] | None = None
        self.steps = steps
        if decay > 0:
            self.state = state or {n: p.detach().clone() for n, p in model.named_parameters()}

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
    mapping = torch.linalg.lstsq(original[is_seen], embedding[rows[is_seen]]).solution
    embedding[rows[~is_seen]] = original[~is_seen] @ mapping
    return int((~is_seen).sum())


def _scoring_tagger(model: NERModel, vocab: Vocabularies, name: str, language: str, device: torch.device) -> Tagger:
    """A tagger over ``model`` as it is now, to score it on dev and test."""
    return Tagger(bundles.Bundle(model, vocab, name, language), device=device, batch_size=256)


def _align_if_better(
    model: NERModel,
    vocab: Vocabularies,
    corpora: Corpora,
    config: TrainConfig,
    best: dict,
    name: str,
    language: str,
    device: torch.device,
) -> dict:
    """Apply :func:`align_unseen_vectors` to the best model and keep it if dev F1 does not drop."""
    before = {k: v.clone() for k, v in model.state_dict().items()}
    seen = {t.lower() for s in corpora.train for t in s.tokens}
    moved = align_unseen_vectors(model, vocab, seen, config.pretrained)
    tagger = _scoring_tagger(model, vocab, name, language, device)
    dev = evaluate(tagger, corpora.dev)
    report = {"words_moved": moved, "dev_f1_before": best["f1"], "dev_f1_after": dev["f1"]}
    if dev["f1"] >= best["f1"]:
        test = evaluate(tagger, corpora.test) if corpora.test else None
        log.info("aligned %d unseen word vectors: dev F1 %.2f -> %.2f (kept)", moved, best["f1"], dev["f1"])
        return {**best, "f1": dev["f1"], "dev": dev, "test": test, "aligned_unseen": {**report, "kept": True}}
    model.load_state_dict(before)
    log.info("aligned %d unseen word vectors: dev F1 %.2f -> %.2f (not kept)", moved, best["f1"], dev["f1"])
    return {**best, "aligned_unseen": {**report, "kept": False}}


@torch.no_grad()
def _round_embeddings_to_half(
    model: NERModel,
    vocab: Vocabularies,
    corpora: Corpora,
    best: dict,
    name: str,
    language: str,
    device: torch.device,
) -> dict:
    """Round the embedding tables to float16 values, as they will be stored, and score the result again,
    so that the metrics describe exactly the saved model."""
    for key, table in model.state_dict().items():
        if key.endswith(bundles.EMBEDDING_SUFFIX):
            table.copy_(table.half().float())
    tagger = _scoring_tagger(model, vocab, name, language, device)
    dev = evaluate(tagger, corpora.dev)
    test = evaluate(tagger, corpora.test) if corpora.test else None
    log.info("embeddings rounded to float16: dev F1 %.2f -> %.2f", best["f1"], dev["f1"])
    return {**best, "f1": dev["f1"], "dev": dev, "test": test, "float32_dev_f1": best["f1"]}


def _load_checkpoint(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"--resume: no checkpoint at {path}")
    try:  # weights_only: a checkpoint is data, never code
        return torch.load(path, weights_only=True, map_location="cpu")
    except Exception as error:
        first_line = str(error).strip().splitlines()[0][:200]
        raise ValueError(f"{path}: not a loadable checkpoint ({first_line})") from None


def _report(record: dict, improved: bool, progress: bool) -> None:
    test = f", test F1 {record['test_f1']:.2f}" if record["test_f1"] is not None else ""
    line = f"epoch {record['epoch']}: loss {record['loss']:.4f}, dev F1 {record['dev_f1']:.2f}{test}"
    line += " (best)" if improved else ""
    if progress:
        tqdm.write(line)
    else:
        log.info(line)


def _package(
    model: NERModel,
    vocab: Vocabularies,
    history: list[dict],
    best: dict,
    out: Path,
    work: Path,
    name: str,
    language: str,
    config: TrainConfig,
    corpora: Corpora,
    train_path: str,
    test_path: str | None,
    commands: list[str],
    data_terms: str,
    device: torch.device,
    seconds: float,
) -> dict:
    """Write the model directory: weights of the best epoch, metrics, model card, learning curves."""
    plot = work / "curves.png"
    plot_curves(history, plot)
    train_rates = [h["sentences_per_second"] for h in history]
    metrics = {
        "best_epoch": best["epoch"],
        "dev": best.get("dev"),
        "test": best.get("test"),
        "epochs_run": len(history),
        "training_seconds": round(seconds, 1),
        "train_sentences_per_second": round(sum(train_rates) / len(train_rates), 1),
        "history": history,
    }
    if "aligned_unseen" in best:
        metrics["aligned_unseen"] = best["aligned_unseen"]
    if "float32_dev_f1" in best:
        metrics["float32_dev_f1"] = best["float32_dev_f1"]
    info = {
        "embedding_dtype": config.embedding_dtype,
        "version": "1.0.0",
        "created": time.strftime("%Y-%m-%d"),
        "training": {
            "data_terms": data_terms,
            "train": str(train_path),
            "dev": corpora.dev_note,
            "test": str(test_path) if test_path else None,
            "commands": commands,
            "config": asdict(config),
            "machine": _machine(device),
        },
    }
    result = bundles.Bundle(model, vocab, name, language, metrics=metrics, info=info)
    bundles.save(result, out, card=model_card(result), extra_files={"curves.png": plot})
    return metrics


def _machine(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


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


def _storage_line(bundle: bundles.Bundle) -> str:
    if bundle.info.get("embedding_dtype") != "float16":
        return ""
    return (
        "\n\nThe embedding tables are stored in float16 (half the size); the scores above are those of the "
        f"stored model (dev F1 in float32: {bundle.metrics.get('float32_dev_f1')})."
    )


def model_card(bundle: bundles.Bundle) -> str:
    """The README.md of a model directory."""
    m, info = bundle.metrics, bundle.info
    training = info.get("training", {})
    rows = []
    for split in ("dev", "test"):
        scores = m.get(split)
        if scores:
            rows.append(f"| {split} | {scores['precision']:.2f} | {scores['recall']:.2f} | {scores['f1']:.2f} |")
    per_type = ""
    best = m.get("test") or m.get("dev")
    if best:
        per_type = "\n".join(
            f"| {label} | {row['precision']:.2f} | {row['recall']:.2f} | {row['f1']:.2f} | {row['support']} |"
            for label, row in best["per_type"].items()
        )
    return f"""# {bundle.name}

A BiLSTM-CRF named-entity tagger ({bundle.model.config.level} level, language `{bundle.language}`).
Labels: {", ".join(bundle.labels)}.

## Data
- Train: `{training.get("train")}`
- Dev: {training.get("dev")}
- Test: `{training.get("test")}`

## Scores (strict entity level, percent)
| split | precision | recall | F1 |
|---|---|---|---|
{chr(10).join(rows)}

Per type ({"test" if m.get("test") else "dev"}):

| label | precision | recall | F1 | support |
|---|---|---|---|---|
{per_type}

{_calibration_line(bundle)}Best epoch {m.get("best_epoch")} of {m.get("epochs_run")}; training took \
{m.get("training_seconds")} s at {m.get("train_sentences_per_second")} sentences/s on {training.get("machine")}.

## How it was made
```
{chr(10).join(training_commands(training))}
```
Network: `{json.dumps(bundle.model.config.to_dict())}`{_storage_line(bundle)}

Training settings: `{json.dumps(training.get("config", {}))}`

## Licence
The code that trained this model is MIT-licensed. The weights are derived from the
training corpus, whose terms apply to them: {training.get("data_terms") or "see the corpus's own licence."}
"""
