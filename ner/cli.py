"""The ``ner`` command: train, evaluate, predict, tag, serve.

Input errors (a malformed corpus, a damaged model directory, a bad setting)
print one line naming the file and the reason, and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from collections.abc import Iterator, Sequence

from ner.bundle import BundleError
from ner.corpus import CorpusError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except (CorpusError, BundleError, ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"ner {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ner", description="BiLSTM-CRF named-entity recognition.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model on a CoNLL or JSONL corpus")
    train.add_argument("--train", required=True, help="training corpus (CoNLL columns or JSONL spans)")
    train.add_argument("--dev", help="dev corpus for early stopping (default: hold out part of train)")
    train.add_argument("--test", help="test corpus, scored each epoch and reported (never used to select)")
    train.add_argument("--out", required=True, help="model directory to write")
    train.add_argument("--config", help="TOML or JSON file with [model] and [train] settings")
    train.add_argument("--name", help="model name (default: the directory name)")
    train.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    train.add_argument("--data-terms", default="", help="licence or terms of the training data, for the model card")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    for flag, kind, what in [
        ("--epochs", int, "maximum number of epochs"),
        ("--batch-size", int, "sentences per batch"),
        ("--optimizer", str, "sgd or adam"),
        ("--lr", float, "learning rate"),
        ("--lr-decay", float, "lr / (1 + decay * epoch)"),
        ("--patience", int, "epochs without dev improvement before stopping"),
        ("--seed", int, "random seed"),
        ("--threads", int, "CPU threads"),
        ("--device", str, "cpu or cuda"),
        ("--pretrained", str, "glove-6b-50d or a GloVe/word2vec text file"),
        ("--language", str, "language code, or auto"),
        ("--dev-every", int, "without --dev: hold out every n-th training sentence"),
        ("--embedding-dtype", str, "float32, or float16 to store the embedding tables in half the space"),
    ]:
        train.add_argument(flag, type=kind, help=what)
    for flag, kind, what in [
        ("--level", str, "word or char"),
        ("--cell", str, "lstm or gru"),
        ("--char-encoder", str, "cnn or lstm"),
        ("--hidden", int, "recurrent units per direction"),
        ("--layers", int, "recurrent layers"),
        ("--word-dim", int, "word embedding size"),
        ("--dropout", float, "dropout rate"),
    ]:
        train.add_argument(flag, type=kind, help=what, dest=f"model_{flag[2:].replace('-', '_')}")
    train.set_defaults(run=run_train)

    evaluate = commands.add_parser("evaluate", help="score a model on an annotated corpus")
    evaluate.add_argument("model", help="model directory")
    evaluate.add_argument("file", help="annotated corpus")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--threads", type=int, default=2)
    evaluate.set_defaults(run=run_evaluate)

    predict = commands.add_parser("predict", help="append a predicted tag column to a CoNLL file")
    predict.add_argument("model")
    predict.add_argument("file")
    predict.add_argument("--out", help="output file (default: stdout)")
    predict.add_argument("--threads", type=int, default=2)
    predict.set_defaults(run=run_predict)

    calibrate = commands.add_parser("calibrate", help="fit the temperature of entity scores on a dev corpus")
    calibrate.add_argument("model")
    calibrate.add_argument("file", help="annotated dev corpus (not the test set)")
    calibrate.add_argument("--apply", action="store_true", help="write the temperature into the model directory")
    calibrate.add_argument("--threads", type=int, default=2)
    calibrate.set_defaults(run=run_calibrate)

    tag = commands.add_parser("tag", help="tag lines of raw text, one JSON object per line")
    tag.add_argument("--model", required=True)
    tag.add_argument("files", nargs="*", help="text files (default: stdin)")
    tag.add_argument("--nbest", type=int, default=0, help="also give the k best analyses")
    tag.add_argument("--no-scores", action="store_true", help="skip entity probabilities")
    tag.add_argument("--batch-lines", type=int, default=512, help="lines tagged together")
    tag.add_argument("--threads", type=int, default=2, help="CPU threads in all (shared among workers)")
    tag.add_argument("--workers", type=int, default=1, help="worker processes")
    tag.add_argument("--bfloat16", action="store_true", help="emissions in bfloat16 (faster on CPUs with AMX)")
    tag.add_argument("--quiet", action="store_true", help="no progress bar")
    tag.set_defaults(run=run_tag)

    serve = commands.add_parser("serve", help="start the HTTP service")
    serve.add_argument("--model", action="append", dest="models", help="model directory (repeatable)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(run=run_serve)
    return parser


def run_train(args: argparse.Namespace) -> int:
    from ner.model import ModelConfig
    from ner.train import TrainConfig, fit, load_config

    model_settings, train_settings = load_config(args.config)
    for key in (
        "epochs",
        "batch_size",
        "optimizer",
        "lr",
        "lr_decay",
        "patience",
        "seed",
        "threads",
        "device",
        "pretrained",
        "language",
        "dev_every",
        "embedding_dtype",
    ):
        if getattr(args, key) is not None:
            train_settings[key] = getattr(args, key)
    for key, value in vars(args).items():
        if key.startswith("model_") and value is not None:
            model_settings[key[len("model_") :]] = value
    train_config = TrainConfig.from_dict(train_settings)
    model_config = ModelConfig.from_dict(model_settings) if model_settings else None
    logging.getLogger("ner").setLevel(logging.INFO)
    metrics = fit(
        args.train,
        args.dev,
        args.out,
        model_config,
        train_config,
        test_path=args.test,
        resume=args.resume,
        command=shlex.join(["ner", *args.argv]),
        name=args.name,
        data_terms=args.data_terms,
        progress=not args.quiet,
    )
    if not metrics:  # a rank other than 0 of a distributed run: rank 0 reports
        return 0
    summary = {"out": args.out, "best_epoch": metrics["best_epoch"], "dev_f1": metrics["dev"]["f1"]}
    if metrics.get("test"):
        summary["test_f1"] = metrics["test"]["f1"]
    print(json.dumps(summary))
    return 0


def _load_tagger(path: str, threads: int):
    import torch

    from ner.tagger import Tagger

    torch.set_num_threads(threads)
    return Tagger.load(path)


def run_evaluate(args: argparse.Namespace) -> int:
    from ner.corpus import read_corpus
    from ner.train import evaluate

    tagger = _load_tagger(args.model, args.threads)
    sentences, _ = read_corpus(args.file)
    scores = evaluate(tagger, sentences)
    if args.json:
        print(json.dumps(scores))
        return 0
    print(f"{'':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for label, row in [("overall", scores), *scores["per_type"].items()]:
        print(f"{label:<10}{row['precision']:>10.2f}{row['recall']:>10.2f}{row['f1']:>10.2f}{row['support']:>10}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from ner.corpus import read_conll, write_conll_predictions

    tagger = _load_tagger(args.model, args.threads)
    sentences, scheme = read_conll(args.file)
    predicted = tagger.predict_tags([s.tokens for s in sentences])
    output = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    try:
        for line in write_conll_predictions(args.file, sentences, predicted, scheme):
            output.write(line + "\n")
    finally:
        if args.out:
            output.close()
    return 0


def run_calibrate(args: argparse.Namespace) -> int:
    from ner import bundle as bundles
    from ner.calibration import fit_temperature
    from ner.corpus import read_corpus
    from ner.train import model_card, training_commands

    tagger = _load_tagger(args.model, args.threads)
    result = fit_temperature(tagger, read_corpus(args.file)[0])
    result["fitted_on"] = str(args.file)
    print(json.dumps(result))
    if args.apply:
        bundle = tagger.bundle
        bundle.temperature = result["temperature"]
        bundle.metrics["calibration"] = result
        training = bundle.info.setdefault("training", {})
        training["commands"] = [*training_commands(training), shlex.join(["ner", *args.argv])]
        bundles.save(bundle, args.model, card=model_card(bundle))  # keeps curves.png and other extras
    return 0


def _lines(files: Sequence[str]) -> Iterator[str]:
    if not files:
        yield from (line.rstrip("\n") for line in sys.stdin)
        return
    for name in files:
        with open(name, encoding="utf-8") as handle:
            yield from (line.rstrip("\n") for line in handle)


def run_tag(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ner.bulk import tag_lines

    progress = tqdm(unit="line", file=sys.stderr, disable=args.quiet or not sys.stderr.isatty())
    chunks = tag_lines(
        args.model,
        _lines(args.files),
        workers=args.workers,
        threads=args.threads,
        chunk_lines=args.batch_lines,
        scores=not args.no_scores,
        nbest=args.nbest,
        bfloat16=args.bfloat16,
    )
    for chunk in chunks:
        sys.stdout.write("".join(line + "\n" for line in chunk))
        sys.stdout.flush()
        progress.update(len(chunk))
    progress.close()
    return 0


def run_serve(args: argparse.Namespace) -> int:
    try:
        from api.main import serve
    except ImportError as error:
        raise RuntimeError(
            f"the service needs its extra packages: pip install 'ner-service[serve]' ({error})"
        ) from None
    return serve(models=args.models, host=args.host, port=args.port, workers=args.workers)


if __name__ == "__main__":
    sys.exit(main())
