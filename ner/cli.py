"""The ``ner`` command: train, evaluate, predict, calibrate, export, words, truecase, inspect, tag,
serve.

Input errors (a malformed corpus, a damaged model directory, a bad setting)
print one line naming the file and the reason, and exit with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib.util
import io
import itertools
import json
import logging
import os
import select
import shlex
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ner import __version__
from ner.backends import BACKENDS
from ner.bulk import INPUT_FORMATS, MAX_CHARS, OUTPUT_FORMATS
from ner.bundle import BundleError
from ner.config import EMBEDDING_DTYPES, add_flags, flag_settings, load_config
from ner.corpus import CorpusError
from ner.corpus.schemes import NESTED
from ner.markup import MARKUPS
from ner.recipe import CHOSEN_FOR_CORPUS, GLOVE_SAVED_WORDS
from ner.signals import HeldSignals, handlers_set
from ner.truecasing import CAPITALS

if TYPE_CHECKING:
    from ner.bulk import Summary
    from ner.bundle import Bundle
    from ner.tagger import Tagger


PROGRESS_EVERY_S = 30  # ner tag's progress line off a terminal (a log), at most this often
STDIN_IDLE_S = 0.2  # lines read from a pipe are tagged once no more has come for this long
# What the training extra adds, as Python imports it: a command needing one of them says how to install it.
TRAINING_PACKAGES = (
    "torch",
    "onnx",
    "torchcrf",
    "seqeval",
    "matplotlib",
    "pyarrow",
    "jieba",
    "py3langid",
    "charset_normalizer",
)


def main(argv: Sequence[str] | None = None) -> int:
    code = _run(argv)
    bulk = sys.modules.get("ner.bulk")  # imported by ner tag, which may leave its reader of stdin blocked
    if argv is None and bulk and any(t.name == bulk.INPUT_THREAD and t.is_alive() for t in threading.enumerate()):
        # ner tag stopped while its reader of stdin waits for a line (tail -f | ner tag): the interpreter's exit
        # would wait for that reader's lock and abort (status 134); the output is written, so end here.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    return code


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _utf8_stdout()
    try:
        with _terminated_as_interrupted(args.command != "serve"):  # the server stops gracefully on its own
            code = args.run(args)
            with _said_of_stdout():
                if sys.stdout is not None:  # None when started with its descriptor closed
                    sys.stdout.flush()  # here, where a reader gone away is met, not as the interpreter exits
            return code
    except ModuleNotFoundError as error:  # a command of an extra the install lacks (train, export, words)
        package = _top_package(error)
        if package not in TRAINING_PACKAGES:
            raise
        print(f"ner {args.command}: error: needs {package}: pip install 'ner-service[train]'", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (| head): nothing more to say, to anyone
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (CorpusError, BundleError, ValueError, OSError, RuntimeError, FloatingPointError) as error:
        print(f"ner {args.command}: error: {error}", file=sys.stderr)
        return 2
    except MemoryError as error:
        print(f"ner {args.command}: error: {str(error) or 'out of memory'}", file=sys.stderr)
        return 2
    except Terminated:
        return 143
    except KeyboardInterrupt:
        return 130


def _utf8_stdout() -> None:
    """Write UTF-8 with the line ends given, whatever the locale: redirected on Windows, stdout would write
    its code page (no Chinese) and turn each ``\\n`` into ``\\r\\n`` (and a kept ``\\r\\n`` into ``\\r\\r\\n``)."""
    if isinstance(sys.stdout, io.TextIOWrapper):  # not None (started with it closed)
        with contextlib.suppress(ValueError):  # closed
            sys.stdout.reconfigure(encoding="utf-8", errors=sys.stdout.errors, newline="")


@contextlib.contextmanager
def _said_of_stdout() -> Iterator[None]:
    """An error writing stdout (a full disk) named as such: ``[Errno 28] No space left on device`` named
    no file. A reader gone away (BrokenPipeError) passes as it is."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as error:
        raise ValueError(f"stdout: {error.strerror or error}") from None


def _print(*parts: object, end: str = "\n") -> None:
    """print() of a result, through :func:`_write_out`."""
    _write_out(" ".join(map(str, parts)) + end)


def _write_out(text: str) -> None:
    """Write ``text`` to stdout whole, or raise. Unbuffered (``python -u``, ``PYTHONUNBUFFERED``, as the image
    runs), stdout's text sits on the file itself and drops what a short write leaves: on a disk filling
    up, ``ner tag > out`` was cut and exited 0."""
    stream = sys.stdout
    if stream is None:  # started with it closed, by a command whose result is written elsewhere too
        return
    if not (isinstance(stream, io.TextIOWrapper) and isinstance(stream.buffer, io.RawIOBase)):
        with _said_of_stdout():
            stream.write(text)
        return
    with _said_of_stdout():
        stream.flush()
        data = memoryview(text.encode(stream.encoding, stream.errors))
        while data:
            written = stream.buffer.write(data)
            if written is None:  # a pipe set not to block, full: wait until it takes more
                select.select([], [stream.fileno()], [])
            elif written == 0:
                raise OSError(errno.EIO, "took nothing more")
            else:
                data = data[written:]


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a scheduler's stop), met as Ctrl-C is: checkpoints kept, half-saved models undone."""


@contextlib.contextmanager
def _terminated_as_interrupted(wanted: bool) -> Iterator[None]:
    def terminated(number: int, frame: object) -> None:
        raise Terminated

    with handlers_set({signal.SIGTERM: terminated} if wanted else {}):
        yield


class _OneFile(argparse.Action):
    """A corpus flag given once: a second ``--train`` replaced the first without a word, where a user meant both."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, value: object, flag: str | None = None
    ) -> None:
        if (before := getattr(namespace, self.dest, None)) is not None:
            parser.error(
                f"{flag} given twice ({before}, {value}): one file each; to train on both, put them in one file "
                "of one format (the page's JSONL corrections append to a JSONL corpus)"
            )
        setattr(namespace, self.dest, value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ner", description="BiLSTM-CRF named-entity recognition.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_train_parser(commands)
    running = argparse.ArgumentParser(add_help=False)
    running.add_argument("--threads", type=_positive, default=2, help="CPU threads")
    running.add_argument(
        "--backend", choices=BACKENDS, default="auto", help="onnx, torch, or auto (onnx where the model has it)"
    )
    running.add_argument("--quiet", action="store_true", help="no progress, and no log lines but warnings and errors")

    reading = argparse.ArgumentParser(add_help=False)
    reading.add_argument(
        "--tag-column", type=int, default=-1, help="CoNLL files: the column of entity tags, from 0 (default: the last)"
    )
    reading.add_argument(
        "--nested",
        choices=NESTED,
        default="refuse",
        help="JSONL and brat corpora: entities inside or across others refused, or the outer or inner ones kept",
    )

    _add_corpus_parsers(commands, running, reading)
    _add_tag_parser(commands, running)
    _add_model_parsers(commands, running, reading)
    return parser


def _add_train_parser(commands: argparse._SubParsersAction) -> None:
    """``ner train``: its files and options, then one flag per setting."""
    train = commands.add_parser("train", help="train a model on a CoNLL, JSONL or brat corpus")
    train.add_argument(
        "--train",
        required=True,
        action=_OneFile,
        help="training corpus: CoNLL columns, JSONL spans, or a folder of brat .ann/.txt",
    )
    train.add_argument("--dev", action=_OneFile, help="dev corpus for early stopping (default: hold out part of train)")
    train.add_argument(
        "--test",
        action=_OneFile,
        help="test corpus, scored each epoch and reported (never used to select or to build the vocabulary)",
    )
    train.add_argument("--out", required=True, help="model directory to write")
    train.add_argument("--config", help="TOML or JSON file with [model] and [train] settings")
    train.add_argument("--name", help="model name (default: the directory name)")
    train.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    train.add_argument("--data-terms", default="", help="licence or terms of the training data, for the model card")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    add_flags(train, CHOSEN_FOR_CORPUS)
    train.set_defaults(run=run_train)


def _add_corpus_parsers(
    commands: argparse._SubParsersAction, running: argparse.ArgumentParser, reading: argparse.ArgumentParser
) -> None:
    """The commands that read an annotated corpus: ``evaluate``, ``predict``, ``calibrate``, ``inspect``."""
    evaluate = commands.add_parser("evaluate", parents=[running, reading], help="score a model on an annotated corpus")
    evaluate.add_argument("model", help="model directory")
    evaluate.add_argument("file", help="annotated corpus")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument(
        "--as-text",
        action="store_true",
        help="tag each document written out as text, as the service gets it, and score exact character spans: "
        "what the corpus's own tokens and sentences hide (an entity inside a word) counts",
    )
    _add_capitals(evaluate)
    evaluate.set_defaults(run=run_evaluate)

    predict = commands.add_parser(
        "predict", parents=[running, reading], help="append a predicted tag column to a CoNLL file"
    )
    predict.add_argument("model")
    predict.add_argument("file")
    predict.add_argument("--out", help="output file (default: stdout)")
    _add_capitals(predict)
    predict.set_defaults(run=run_predict)

    calibrate = commands.add_parser(
        "calibrate", parents=[running, reading], help="fit the temperature of entity scores on a dev corpus"
    )
    calibrate.add_argument("model")
    calibrate.add_argument("file", help="annotated dev corpus (not the test set)")
    calibrate.add_argument("--apply", action="store_true", help="write the temperature into the model directory")
    calibrate.set_defaults(run=run_calibrate)

    inspect = commands.add_parser(
        "inspect", parents=[reading], help="say how a corpus reads: its format, sentences and entity types"
    )
    inspect.add_argument("file", help="annotated corpus: CoNLL columns, a table, JSONL spans, or a brat folder")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.set_defaults(run=run_inspect)


def _add_model_parsers(
    commands: argparse._SubParsersAction, running: argparse.ArgumentParser, reading: argparse.ArgumentParser
) -> None:
    """The commands that rewrite or serve model directories: ``export``, ``words``, ``truecase``, ``serve``."""
    export = commands.add_parser("export", help="add the ONNX encoder to a model directory (serving without torch)")
    export.add_argument("model", help="model directory")
    export.set_defaults(run=run_export)

    words = commands.add_parser(
        "words", parents=[reading], help="set which pretrained words a trained word model holds (ner/words.py)"
    )
    words.add_argument("model", help="model directory, rewritten in place")
    words.add_argument("--threads", type=_positive, default=2, help="CPU threads (torch's, scoring dev and test)")
    words.add_argument("--train", required=True, help="the corpus it was trained on: its words stay")
    words.add_argument("--dev", help="its dev corpus: its words stay; scored again")
    words.add_argument("--test", help="scored again for the card (its words stay only if another reason keeps them)")
    words.add_argument(
        "--pretrained-top", type=int, default=GLOVE_SAVED_WORDS, help="the most frequent pretrained words to hold"
    )
    words.add_argument("--embedding-dtype", choices=EMBEDDING_DTYPES, help="store the tables so")
    words.set_defaults(run=run_words)

    truecase = commands.add_parser(
        "truecase",
        parents=[running, reading],
        help="learn how a word model reads text without capitals (ner/truecasing.py; ner train does it too)",
    )
    truecase.add_argument("model", help="model directory, rewritten in place")
    truecase.add_argument("--train", required=True, help="the corpus it was trained on: its words' usual capitals")
    truecase.add_argument(
        "--dev", help="its dev corpus, lowercased, chooses how unseen words are written (without it: lowercase)"
    )
    truecase.set_defaults(run=run_truecase)

    serve = commands.add_parser("serve", help="start the HTTP service")
    serve.add_argument("--model", action="append", dest="models", help="model directory (repeatable)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument("--backend", choices=BACKENDS, help="onnx, torch, or auto (NER_BACKEND)")
    serve.set_defaults(run=run_serve)


def _at_least(least: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``least``."""

    def checked(value: str) -> int:
        number = int(value)
        if number < least:
            raise argparse.ArgumentTypeError(f"{value}: must be at least {least}")
        return number

    checked.__name__ = "integer"  # argparse's "invalid integer value: 'x'"
    return checked


_positive, _natural = _at_least(1), _at_least(0)


def _add_tag_parser(commands: argparse._SubParsersAction, running: argparse.ArgumentParser) -> None:
    """``ner tag``: bulk tagging, in this process or on Ray."""
    tag = commands.add_parser(
        "tag", parents=[running], help="tag lines of text or records, one JSON object per record, in input order"
    )
    tag.add_argument(
        "--model",
        action="append",
        dest="models",
        required=True,
        help="model directory; repeated, each run of sentences goes to the model of its script (--lang auto)",
    )
    tag.add_argument("--lang", default="auto", help="the language of the model to tag with, or auto (by script)")
    tag.add_argument(
        "files",
        nargs="*",
        metavar="INPUT",
        help="files or directories, compressed by their endings (.gz .bz2 .zst .lz4) or not; - or none: stdin "
        "(Ray also reads s3://, gs://)",
    )
    tag.add_argument(
        "--input-format",
        choices=INPUT_FORMATS,
        default="text",
        help="text lines, documents (each file one text, its offsets into the file: .txt, .html, .md), JSONL, Parquet",
    )
    tag.add_argument("--text-field", default="text", help="the field of JSONL and Parquet records to tag")
    tag.add_argument(
        "--markup",
        choices=(*MARKUPS, "auto"),
        help="read each text as it is, or as the HTML page or Markdown document a reader sees (tags and marks "
        "left out; offsets into the text as given); auto, a document's default: by its file's ending (.html .htm "
        ".xhtml, .md .markdown); else text",
    )
    tag.add_argument("--nbest", type=int, default=0, help="also give the k best analyses")
    tag.add_argument("--no-scores", action="store_true", help="skip entity probabilities")
    _add_capitals(tag)
    tag.add_argument(
        "--batch-lines",
        type=_positive,
        default=512,
        help=f"records tagged together (from a pipe fewer, once no line has come for {STDIN_IDLE_S} s or the first "
        "has waited a second: tail -f log | ner tag)",
    )
    tag.add_argument(
        "--max-chars", type=_positive, default=MAX_CHARS, help="a longer text is rejected (tagging it takes memory)"
    )
    tag.add_argument("--engine", choices=("process", "ray"), default="process", help="this process alone, or Ray Data")
    tag.add_argument("--workers", type=_positive, help="Ray actors, one core each (default: every CPU of the cluster)")
    tag.add_argument("--address", help="a running Ray cluster to join (default: start Ray on this machine)")
    tag.add_argument("--out", help="write shards part-NNNNN.jsonl (or .parquet) here instead of stdout (Ray)")
    tag.add_argument("--output-format", choices=OUTPUT_FORMATS, default="jsonl", help="of the shards under --out")
    tag.add_argument("--errors", help="rejected records as JSONL (default: stderr, or _errors.jsonl under --out)")
    tag.add_argument(
        "--dictionary", help="phrases forced to a label: a file of phrase<TAB>LABEL lines (LABEL O blocks)"
    )
    tag.add_argument("--ignore-case", action="store_true", help="match the dictionary's phrases regardless of case")
    tag.add_argument(
        "--with-source",
        action="store_true",
        help="add to each record its file and line (_source, _line; Parquet's _row, from 0), to join it back",
    )
    tag.add_argument(
        "--skip",
        type=_natural,
        default=0,
        metavar="N",
        help="pass over the first N records (to resume, as an interrupted run says; this process alone)",
    )
    tag.set_defaults(run=run_tag)


def run_train(args: argparse.Namespace) -> int:
    from ner.train import CHECKPOINT, Job, fit

    file_model, file_train = load_config(args.config)
    flag_model, flag_train = flag_settings(args)
    logging.getLogger("ner").setLevel(logging.INFO)
    job = Job(
        args.train,
        Path(args.out),
        args.dev,
        args.test,
        {**file_model, **flag_model},
        {**file_train, **flag_train},
        name=args.name,
        resume=args.resume,
        command=_command(args.argv),
        data_terms=args.data_terms,
        progress=not args.quiet,
    )
    try:
        metrics = fit(job)
    except KeyboardInterrupt:
        saved = job.work / CHECKPOINT
        told = f"the last finished epoch is in {saved}: the same command with --resume goes on from it"
        print(f"ner train: interrupted; {told if saved.is_file() else 'no epoch had finished'}", file=sys.stderr)
        raise
    if metrics:  # rank 0 of a distributed run, or the only process, reports
        summary = {"out": args.out, "best_epoch": metrics["best_epoch"]}
        for split in ("dev", "test"):
            if metrics.get(split):
                summary[f"{split}_f1"] = metrics[split]["f1"]
        _print(json.dumps(summary))
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        _leave_distributed_run()
    return 0


def _leave_distributed_run() -> None:
    """End a rank of a finished distributed run at once: the model is saved and the process group
    destroyed, and Python's teardown after gloo has been seen to abort a rank now and then ("terminate
    called without an active exception"), which fails the whole finished job under torchrun."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _load_tagger(args: argparse.Namespace) -> Tagger:
    from ner.tagger import Tagger

    logging.getLogger("ner").setLevel(logging.WARNING if args.quiet else logging.INFO)
    return Tagger.load(args.model, backend=args.backend, threads=args.threads)


def _add_capitals(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--capitals",
        choices=CAPITALS,
        default="auto",
        help="when a word model restores its training words' capitals: in text written in one case (auto), in "
        "every text (restore: chat that capitalizes only first words), never (as_written)",
    )


def run_evaluate(args: argparse.Namespace) -> int:
    from ner.corpus import read_corpus
    from ner.metrics import corpus_problems, evaluate, evaluate_as_text

    if importlib.util.find_spec("seqeval") is None:  # said before the tagging, not after it
        raise ModuleNotFoundError(name="seqeval")
    _refuse_closed_stdout()
    tagger = _load_tagger(args)
    with _regular_file(args.file) as source:
        sentences, _ = read_corpus(source, args.tag_column, args.nested)
    for problem in corpus_problems(tagger, sentences, args.file):
        logging.getLogger("ner").warning("%s", problem)
    started = time.perf_counter()
    scores = (evaluate_as_text if args.as_text else evaluate)(tagger, sentences, args.capitals)
    about = {
        "model": tagger.name,
        "file": str(args.file),
        "sentences": len(sentences),
        "scored_in": "text" if args.as_text else "characters" if tagger.char_level else "tokens",
        "seconds": round(time.perf_counter() - started, 2),
    }
    if args.json:
        _print(json.dumps(about | scores, ensure_ascii=False))
        return 0
    rows = [("overall", scores), *scores["per_type"].items(), ("macro avg", scores["macro"])]
    rows.append(("weighted avg", scores["weighted"]))
    width = max(10, *(len(label) + 2 for label, _ in rows))
    _print(f"{'':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}{'predicted':>10}")
    for label, row in rows:
        counts = f"{row['support']:>10}{row['predicted']:>10}" if "support" in row else ""
        _print(f"{label:<{width}}{row['precision']:>10.2f}{row['recall']:>10.2f}{row['f1']:>10.2f}{counts}")
    _print("errors: " + ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in scores["errors"].items()))
    _print(f"{tagger.name} on {args.file}: {len(sentences)} sentences, in {about['scored_in']}, {about['seconds']} s")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    from ner.corpus import read_corpus_noted, summary

    _refuse_closed_stdout()
    with _regular_file(args.file) as source:
        sentences, scheme, notes = read_corpus_noted(source, args.tag_column, args.nested)
    found = {"file": str(args.file), "scheme": scheme, "reading": notes, **summary(sentences)}
    if args.json:
        _print(json.dumps(found, ensure_ascii=False))
        return 0
    _print(
        f"{found['file']}: {found['sentences']} sentences in {found['documents']} documents, {found['tokens']} tokens"
    )
    _print(f"tags: {scheme}; longest sentence {found['longest_sentence']} tokens")
    _print("".join(f"read: {note}\n" for note in notes), end="")
    _print(
        f"entities: {found['entities']}"
        + "".join(f"\n  {label:<12}{count:>8}" for label, count in found["types"].items())
    )
    first = " ".join(found["first_sentence"])
    _print("first sentence: " + (first if len(first) <= 300 else first[:300] + " …"))  # a line, even of a huge one
    return 0


def _regular_stdin() -> bool:
    """Whether stdin is a file (read as fast as a file), not a pipe or a terminal."""
    try:
        return stat.S_ISREG(os.fstat(sys.stdin.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # no descriptor behind it (replaced, closed)
        return False


def _refuse_closed_stdout(place: str = "> result.txt") -> None:
    """Before any work: a command whose result goes to stdout, started with stdout closed, printed nothing
    and exited 0."""
    if sys.stdout is None:
        raise ValueError(f"the output is stdout, which is closed: give it a place ({place})")


def run_predict(args: argparse.Namespace) -> int:
    from ner.corpus import corpus_format, read_conll, write_conll_predictions
    from ner.corpus.encoding import read_bytes

    out = Path(args.out) if args.out and args.out != "-" else None  # -: stdout, as without --out
    if out is None:
        _refuse_closed_stdout("--out FILE")
    stream = bool(out and out.exists() and not out.is_dir() and not out.is_file())  # /dev/stdout, a pipe, a device
    if out and not stream:
        out = out.resolve()  # a link's target is written, not the link
        if out.is_dir() or not out.parent.is_dir():  # found before the work, not after it
            raise ValueError(f"--out {args.out}: " + ("a directory" if out.is_dir() else f"no folder {out.parent}"))
    tagger = _load_tagger(args)
    with _regular_file(args.file) as source:  # read twice: a pipe is copied to a file first
        if (kind := corpus_format(source)) != "conll":
            raise ValueError(f"{args.file} is {kind}: ner predict adds a column to CoNLL files; tag text with ner tag")
        sentences, scheme = read_conll(source, args.tag_column)
        predicted = tagger.predict_corpus_tags(sentences, args.capitals)
        ending = "\r\n" if read_bytes(source).split(b"\n", 1)[0].endswith(b"\r") else "\n"  # its own line ends
        lines = [line + ending for line in write_conll_predictions(source, sentences, predicted, scheme)]
    if not out:
        _write_out("".join(lines))
        return 0
    if stream:  # written to, never replaced
        with open(out, "w", encoding="utf-8", newline="") as handle:
            handle.writelines(lines)
        return 0
    partial = out.with_name(f".{out.name}.partial")  # then renamed: --out may be the input file itself
    try:
        replaced = out.exists()
        if replaced:  # the file keeps who may read it, and is no wider while being written
            partial.touch(mode=0o600)
        partial.write_text("".join(lines), encoding="utf-8", newline="")
        if replaced:
            shutil.copymode(out, partial)
        partial.replace(out)
    except OSError as error:  # said of --out, not of the partial file beside it
        raise ValueError(f"--out {args.out}: cannot write there: {error.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
    return 0


@contextlib.contextmanager
def _regular_file(path: str) -> Iterator[Path]:
    """``path``, or for ``-`` (stdin) or a pipe (``/dev/stdin``, ``<(...)``) a temporary copy of what it gives."""
    if path != "-" and (Path(path).is_file() or Path(path).is_dir() or not Path(path).exists()):
        yield Path(path)  # a file, a brat folder, or none: its reader says so
        return
    if path == "-" and sys.stdin is None:
        raise ValueError("the input is stdin, which is closed: give a file")
    from ner.corpus import CorpusError

    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / ("stdin" if path == "-" else Path(path).name)
        copy.write_bytes(sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes())
        try:
            yield copy
        except CorpusError as error:  # named as given, not as the copy
            raise CorpusError(path, error.line, error.reason) from None


def run_calibrate(args: argparse.Namespace) -> int:
    from ner import bundle as bundles
    from ner.calibration import fit_temperature
    from ner.corpus import read_corpus
    from ner.metrics import labels_problem

    if args.apply:
        bundles.check_destination(args.model)
    else:  # the temperature goes to stdout alone
        _refuse_closed_stdout()
    tagger = _load_tagger(args)
    with _regular_file(args.file) as source:
        sentences = read_corpus(source, args.tag_column, args.nested)[0]
    if problem := labels_problem(tagger.labels, sentences, args.file):
        message, unusable = problem
        if unusable:
            raise ValueError(f"{message}: no temperature can be fitted on it")
        logging.getLogger("ner").warning("%s", message)
    result = fit_temperature(tagger, sentences)
    if not result["entities"]:
        raise ValueError(f"{args.file}: the model predicts no entity in it, so no temperature can be fitted there")
    result["fitted_on"] = str(args.file)
    if args.apply:
        bundle = tagger.bundle
        bundle.temperature = result["temperature"]
        bundle.metrics["calibration"] = result
        _save_rewritten(bundle, args)
    _print(json.dumps(result))  # once applied, where asked
    return 0


def run_export(args: argparse.Namespace) -> int:
    from ner import bundle as bundles
    from ner.export import export
    from ner.torch_backend import TorchBackend

    bundles.check_destination(args.model)
    bundle = bundles.load(args.model)
    bundle.encoder = export(TorchBackend.from_bundle(bundle).model, bundle.vocab)
    bundle.format_version = bundles.FORMAT_VERSION
    _save_rewritten(bundle, args)
    _print(json.dumps({"model": args.model, "encoder_bytes": len(bundle.encoder)}))
    return 0


def run_words(args: argparse.Namespace) -> int:
    import torch

    from ner import bundle as bundles
    from ner.words import renew

    bundles.check_destination(args.model)
    torch.set_num_threads(args.threads)
    files = {split: path for split, path in (("train", args.train), ("dev", args.dev), ("test", args.test)) if path}
    model = bundles.load(args.model)
    bundle, dropped, added = renew(
        model, files, args.pretrained_top, args.embedding_dtype, args.tag_column, args.nested
    )
    _save_rewritten(bundle, args)
    scores = {f"{split}_f1": bundle.metrics[split]["f1"] for split in ("dev", "test") if split in files}
    _print(json.dumps({"model": args.model, "dropped": dropped, "added": added, **scores}))
    return 0


def run_truecase(args: argparse.Namespace) -> int:
    from ner import bundle as bundles
    from ner.card import scored_dev_file
    from ner.corpus import read_corpus
    from ner.metrics import labels_problem
    from ner.truecasing import fit, has_one_case_documents

    bundles.check_destination(args.model)
    tagger = _load_tagger(args)
    if tagger.char_level:
        raise ValueError(f"{args.model} reads characters: only a word model restores capitals")
    train = read_corpus(args.train, args.tag_column, args.nested)[0]
    dev = read_corpus(args.dev, args.tag_column, args.nested)[0] if args.dev else None
    if dev and (problem := labels_problem(tagger.labels, dev, args.dev)) and problem[1]:
        raise ValueError(f"{problem[0]}: dev chooses how to read text in one case by its entities")
    truecaser, record = fit(tagger, train, dev, tagger.vocab.truecaser)
    if not record:
        raise ValueError(f"{args.train}: no sentence mixes capitals and small letters, so none can be learned")
    scored = {args.dev: dev} if dev else {}
    training = tagger.bundle.info.get("training", {})
    read_as = training.get("config", {})  # the card's files, read as its training read them
    for file in (scored_dev_file(training), training.get("test")):  # the files the card's scores are of
        if file and file not in scored and Path(file).is_file():
            scored[file] = read_corpus(file, read_as.get("tag_column", -1), read_as.get("nested", "refuse"))[0]
    stale = [file for file, sentences in scored.items() if has_one_case_documents(sentences)]
    if stale and truecaser != tagger.vocab.truecaser:
        logging.getLogger("ner").warning(
            "%s: documents written in one case, read otherwise now; their scores in the card were measured before "
            "(ner evaluate gives them now)",
            ", ".join(stale),
        )
    tagger.bundle.vocab.truecaser = truecaser
    tagger.bundle.metrics["truecasing"] = record
    _save_rewritten(tagger.bundle, args)
    _print(json.dumps({"model": args.model, **record}))
    return 0


def _command(argv: Sequence[str]) -> str:
    """``ner train``'s command line as the card records it, torchrun's part included when it started this
    process (its rendezvous flags aside)."""
    processes = int(os.environ.get("WORLD_SIZE", "1"))
    if processes <= 1:
        return shlex.join(["ner", *argv])
    per_node = int(os.environ.get("LOCAL_WORLD_SIZE", processes))
    nodes = [f"--nnodes={-(-processes // per_node)}"] if processes > per_node else []
    return shlex.join(["torchrun", *nodes, f"--nproc_per_node={per_node}", "-m", "ner", *argv])


def _save_rewritten(bundle: Bundle, args: argparse.Namespace) -> None:
    """Save ``bundle`` over the model directory it came from, this command last in its card's list of the
    commands that made it (files the directory holds beyond the model's, curves.png say, stay)."""
    from ner import bundle as bundles
    from ner.card import model_card, training_commands

    training = bundle.info.setdefault("training", {})
    training["commands"] = [*training_commands(training), shlex.join(["ner", *args.argv])]
    bundles.save(bundle, args.model, card=model_card(bundle))


def _records(files: Sequence[str], input_format: str) -> Iterator[tuple[str, int, bytes]]:
    """The numbered records (lines, or documents) of the input files (:data:`ner.bulk.STDIN`: stdin), or of
    stdin when there are none."""
    from ner.bulk import STDIN, file_records, open_input, records_of

    for path in files or [STDIN]:
        if path == STDIN:
            yield from records_of(input_format)(sys.stdin.buffer, "<stdin>")
            continue
        with open_input(path) as handle:
            yield from file_records(handle, path, input_format)


def _check_stdin() -> None:
    """Refuse, before any work, data on stdin that would be read as garbage (looked at, not read: a pipe's
    bytes stay for the reading)."""
    from ner.bulk import unread_content

    stdin = sys.stdin.buffer
    if hasattr(stdin, "peek") and (reason := unread_content(stdin.peek(10)[:10], None)):
        raise ValueError(f"stdin: {reason}")


def _check_languages(models: Sequence[str], lang: str) -> None:
    """Refuse a ``lang`` none of ``models`` is for, and say which of them tag nothing: under ``lang`` auto the
    model a router prefers for a script takes its text (:func:`ner.router.unrouted`), else the one for ``lang``."""
    from ner import bundle as bundles
    from ner.router import preference, unrouted

    languages = []
    for model in models:
        bundles.verify(model)  # what is no model directory says so
        languages.append(bundles.model_language(model))
    if lang != "auto" and lang not in languages:
        raise ValueError(f"--lang {lang}: no model for it; the models are for {', '.join(sorted(set(languages)))}")
    given = list(zip(models, languages))
    if lang == "auto":
        takers = {
            model: f"{taker} is the model for its script under --lang auto" for model, taker in unrouted(given).items()
        }
    else:
        first = next(model for model, language in preference(given) if language == lang)
        takers = {
            model: f"{first} is the model for {lang}"
            for model, language in given
            if language == lang and model != first
        }
    for model, taker in takers.items():
        print(f"ner tag: warning: {model} tags nothing: {taker}", file=sys.stderr)


def _dictionary_for(models: Sequence[str], path: str) -> dict[str, str]:
    """The entries of a dictionary file, checked against the models' labels before any work starts."""
    from ner.bundle import load
    from ner.dictionary import DictionaryFile

    return DictionaryFile(path, labels=sorted({label for model in models for label in load(model).labels})).entries()


def _refuse_tag_arguments(args: argparse.Namespace) -> bool:
    """Refuse, before any work, ``ner tag``'s arguments that do not go together; whether it reads stdin."""
    from ner.bulk import STDIN, STDIN_NAMES

    if not args.out:
        _refuse_closed_stdout("> tagged.jsonl")
    reads_stdin = not args.files or any(name in STDIN_NAMES for name in args.files)
    if reads_stdin and sys.stdin is None:
        raise ValueError("the input is stdin, which is closed: give INPUT files")
    if args.errors == STDIN:
        raise ValueError("--errors -: rejections go to stderr without --errors; give it a file")
    if args.engine == "process":
        ray_only = {"--workers": args.workers, "--address": args.address, "--out": args.out}
        ray_only["--input-format parquet"] = args.input_format == "parquet"
        if given := [flag for flag, value in ray_only.items() if value]:
            raise ValueError(f"{', '.join(given)}: needs --engine ray")
    elif reads_stdin:
        raise ValueError("--engine ray reads INPUT paths, not stdin")
    elif args.skip:
        raise ValueError("--skip resumes this process's runs (--engine process), whose output is in input order")
    if args.output_format == "parquet" and not args.out:
        raise ValueError("--output-format parquet needs --out DIR")
    if args.input_format in ("text", "document") and args.text_field != "text":
        raise ValueError("--text-field names a field of records: it needs --input-format jsonl or parquet")
    if args.markup == "auto" and args.input_format != "document":
        raise ValueError("--markup auto reads each file by its name's ending: it needs --input-format document")
    if args.ignore_case and not args.dictionary:
        raise ValueError("--ignore-case matches a dictionary's phrases: it needs --dictionary")
    return reads_stdin


def run_tag(args: argparse.Namespace) -> int:
    from ner import bulk

    reads_stdin = _refuse_tag_arguments(args)
    inputs = bulk.check_inputs(args.files, args.input_format)  # directories' files, each one
    if reads_stdin:
        _check_stdin()
    _refuse_writing_into_inputs(args, inputs)
    use_ray = args.engine == "ray"
    if args.lang != "auto" or len(args.models) > 1:
        _check_languages(args.models, args.lang)
    entries = _dictionary_for(args.models, args.dictionary) if args.dictionary else {}
    settings = bulk.Settings(
        models=tuple(str(Path(model).absolute()) if use_ray else model for model in args.models),
        lang=args.lang,
        input_format=args.input_format,
        text_field=args.text_field,
        output_format=args.output_format,
        scores=not args.no_scores,
        nbest=args.nbest,
        capitals=args.capitals,
        backend=args.backend,
        threads=1 if use_ray else args.threads,
        dictionary=tuple(entries.items()),
        ignore_case=args.ignore_case,
        max_chars=args.max_chars,
        with_source=args.with_source,
        markup=args.markup or ("auto" if args.input_format == "document" else "text"),
    )
    terminal = sys.stderr.isatty()
    where = {"workers": args.workers, "address": args.address, "batch_lines": args.batch_lines}
    if args.out:
        progress = terminal and not args.quiet  # Ray's own bars: its shards are written where ner cannot count
        summary = bulk.ray_write(args.files, args.out, settings, errors=args.errors, progress=progress, **where)
        print(f"ner tag: {summary}", file=sys.stderr)
        return _tag_status(summary)
    if use_ray:  # ner's progress, not Ray's: its bars go where ours would, and it logs none off a terminal
        chunks = bulk.ray_stream(args.files, settings, progress=False, **where)
    else:
        # Lines from a pipe or a terminal are tagged once none has come for a moment (tail -f log | ner tag).
        from_pipe = all(name in bulk.STDIN_NAMES for name in inputs) and not _regular_stdin()
        idle = STDIN_IDLE_S if from_pipe else None
        numbered = itertools.islice(_records(inputs, args.input_format), args.skip, None)
        chunks = bulk.tag_stream(numbered, settings, args.batch_lines, idle)
    summary, signals = bulk.Summary(), HeldSignals(second_acts=True)
    try:
        # documents are counted before they are read, so the bar shows a share and the time left
        counted = args.input_format == "document" and all(map(bulk.local_path, inputs))  # not stdin, not s3://
        total = max(len(inputs) - args.skip, 0) if counted else None
        _write_chunks(chunks, args, summary, signals, terminal, total)
    except (KeyboardInterrupt, bulk.DamagedInput) as stop:
        done = args.skip + summary.records
        holds = f"the output holds the first {done} records' lines"
        if signals.broke_off:
            holds += f" and then part of the next ones: cut it after them ({summary.tagged} lines from this run)"
        engine = " --engine process (without --workers and --address)" if use_ray else ""
        errors = f"; --errors {args.errors} is appended to" if args.errors else ""
        damaged = isinstance(stop, bulk.DamagedInput)
        when = "once the input is mended, " if damaged else ""
        go_on = f"to go on, {when}run it again with --skip {done}{engine}, appending (>>) to it{errors}"
        if use_ray and args.input_format == "parquet":
            go_on = "Parquet is read by Ray alone, which has no --skip: tag the inputs again, or the rest of them"
        print(f"ner tag: {'stopped' if damaged else 'interrupted'}: {summary}; {holds}: {go_on}", file=sys.stderr)
        raise
    print(f"ner tag: {summary}", file=sys.stderr)
    if args.skip and not summary.records:
        print(f"ner tag: warning: --skip {args.skip} passed over every record of the input", file=sys.stderr)
    return _tag_status(summary)


def _write_chunks(
    chunks: Iterable[list],
    args: argparse.Namespace,
    summary: Summary,
    signals: HeldSignals,
    terminal: bool,
    total: int | None = None,
) -> None:
    """Write the tagged records of each chunk to stdout, its rejections to ``--errors`` or stderr, counting
    them in ``summary``, with progress; Ctrl-C and SIGTERM are met between chunks (``signals``)."""
    from tqdm import tqdm

    from ner.bulk import Rejection

    appended = "a" if args.skip else "w"  # a resumed run's rejections follow the first run's
    with (
        tqdm(total=total, unit="record", file=sys.stderr, disable=args.quiet or not terminal) as bar,
        open(args.errors, appended, encoding="utf-8") if args.errors else contextlib.nullcontext() as errors,
    ):
        for chunk in chunks:
            with signals.held():  # a chunk is written and counted whole, or not at all: never half a line
                _write_out("".join(f"{item}\n" for item in chunk if isinstance(item, str)))
                sys.stdout.flush()
                for rejection in (item for item in chunk if isinstance(item, Rejection)):
                    summary.rejected += 1
                    if errors:
                        errors.write(json.dumps(rejection.to_dict()) + "\n")
                    else:
                        bar.write(f"ner tag: rejected {rejection}", file=sys.stderr)
                summary.records += len(chunk)
            bar.update(len(chunk))
            if not (args.quiet or terminal) and summary.due(PROGRESS_EVERY_S):  # a log's line, now and then
                print(f"ner tag: so far: {summary}", file=sys.stderr, flush=True)


def _refuse_writing_into_inputs(args: argparse.Namespace, inputs: Sequence[str]) -> None:
    """Refuse an output among the input files (or under an input directory): writing it would erase an
    input, or grow one as it is read, without end (``ner tag data/ > data/out.jsonl``)."""
    from ner.bulk import local_path

    local = [name for name in inputs if local_path(name)]
    resolved = [Path(name).resolve() for name in local]
    named = [name for name in args.files if local_path(name)]
    directories = [Path(name).resolve() for name in named if Path(name).is_dir()]
    for flag, given in (("--errors", args.errors), ("--out", args.out)):
        if given and "://" not in given:
            path = Path(given).resolve()
            output = path.stat() if path.exists() else None  # the same file by another name (a link, a case)
            same_file = output is not None and any(_same_file(output, name) for name in local)
            if same_file or path in resolved or any(folder == path or folder in path.parents for folder in directories):
                raise ValueError(f"{flag} {given} is among the inputs: give a place outside them")
    try:
        written = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no file behind stdout (a test's capture; closed: None)
        return
    if any(_same_file(written, name) for name in local):
        raise ValueError("the output (stdout) is one of the input files: write it outside the inputs")


def _same_file(status: os.stat_result, name: str) -> bool:
    """Whether ``name`` is the regular file of ``status`` (a terminal or a pipe may be both stdin and
    stdout)."""
    try:
        return stat.S_ISREG(status.st_mode) and os.path.samestat(status, os.stat(name))
    except OSError:
        return False


def _api_folder() -> Path | None:
    """Where the ``api`` package that ``import api`` finds lives, without running it; None if there is none."""
    module = sys.modules.get("api")
    if module is not None:
        file, folders = getattr(module, "__file__", None), list(getattr(module, "__path__", []))
    else:
        spec = importlib.util.find_spec("api")
        if spec is None:
            return None
        file, folders = (spec.origin if spec.has_location else None), list(spec.submodule_search_locations or [])
    if file:
        return Path(file) if Path(file).name != "__init__.py" else Path(file).parent
    return Path(folders[0]) if folders else None


def _top_package(error: ModuleNotFoundError) -> str:
    return (error.name or "").partition(".")[0]


def _tag_status(summary: Summary) -> int:
    """1 when records came and none could be tagged (a wrong --text-field, say), else 0."""
    if summary.records and not summary.tagged:
        print("ner tag: every record was rejected", file=sys.stderr)
        return 1
    return 0


def run_serve(args: argparse.Namespace) -> int:
    found = _api_folder()
    if found is not None and found.resolve() != Path(__file__).resolve().parent.parent / "api":
        # A folder or module of that common name ahead of ours on sys.path (a FastAPI project's own).
        raise RuntimeError(f"the package 'api' found is not the service's ({found}): run from another folder")
    try:
        from api.main import serve
    except ModuleNotFoundError as error:
        if _top_package(error) not in ("api", "ner"):
            raise RuntimeError(f"the service needs {_top_package(error)}: pip install 'ner-service[serve]'") from None
        raise
    return serve(models=args.models, host=args.host, port=args.port, workers=args.workers, backend=args.backend)
