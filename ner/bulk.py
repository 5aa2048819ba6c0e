"""Bulk tagging: lines of text, JSONL or Parquet records in; one JSON object (or Parquet row) per record out.

Two engines write the same records. By default this process streams its input in chunks, with bounded
memory. With Ray Data, actors each load the model once and tag batches in parallel on the cores of this
machine or of a cluster, reading any path Ray reads (local files, ``s3://``, ``gs://``) and writing to
stdout in input order or to sharded JSONL or Parquet files. A bad record (not UTF-8, invalid JSON, no
text) never stops a job: it becomes a :class:`Rejection` naming its file, line (or row) and reason.
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import functools
import gzip
import io
import json
import logging
import math
import os
import re
import secrets
import shutil
import signal
import socket
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from queue import Empty, Queue
from typing import IO, TYPE_CHECKING, Any, AnyStr, Literal, TypeVar

from ner.bundle import verify
from ner.markup import MARKUPS, Markup, PlainText, read_markup
from ner.router import Router
from ner.tagger import Alternative, Analysis, Tagger, TagOptions

if TYPE_CHECKING:
    import pyarrow as pa
    from ray.data import Dataset

    from ner.truecasing import Capitals

INPUT_FORMATS = ("text", "document", "jsonl", "parquet")  # a record: a line, a file, a JSON line, a row
OUTPUT_FORMATS = ("jsonl", "parquet")
ERRORS_FILE = "_errors.jsonl"  # the leading underscore keeps readers of the shard directory off it
SUCCESS_FILE = "_SUCCESS"  # written into --out last, when every shard is: the job finished
_KINDS = {
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    list: "an array",
    dict: "an object",
    type(None): "null",
}
MAX_CHARS = 1_000_000  # the characters of a record's text, by default
MAX_LINE_BYTES = 64 * 2**20  # of an input line: past it a line is rejected unread (a line-less bomb)
OVERLONG = b"\n"  # what lines() gives for such a line: no line it gives holds a line end
log = logging.getLogger("ner")
T = TypeVar("T")
OTHER_FIELDS = "fields"  # the column of a JSONL record's fields but its text, in Parquet output
# Columns that carry each record through Ray Data next to its own fields.
SOURCE, INDEX, LINE, ERROR, RECORD = "__ner_source", "__ner_index", "__ner_line", "__ner_error", "__ner_record"
# The fields --with-source adds to each output record: its file, and its line (from 1) or Parquet row (from 0).
ORIGIN, ORIGIN_LINE, ORIGIN_ROW = "_source", "_line", "_row"


@dataclass(frozen=True)
class Settings:
    """How to read each record, what to compute for it and in what form to give it back."""

    models: tuple[str, ...]  # model directories: with several, each text's runs of sentences go by ``lang``
    lang: str = "auto"  # Router.route's: a language, or auto (each run of sentences to the model of its script)
    input_format: str = "text"
    text_field: str = "text"
    output_format: str = "jsonl"
    scores: bool = True
    nbest: int = 0
    capitals: Capitals = "auto"  # TagOptions.capitals
    backend: str = "auto"
    threads: int = 1
    dictionary: tuple[tuple[str, str], ...] = ()  # (phrase, label) entries forced on every record
    ignore_case: bool = False
    max_chars: int = MAX_CHARS  # a longer text is rejected: tagging holds about 100 bytes a character
    with_source: bool = False  # each output record says where it came from: ORIGIN's fields
    # each text read as it is, or as HTML or Markdown (ner.markup); auto: a document by its file's name (markup_of)
    markup: Markup | Literal["auto"] = "text"

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError("no model to tag with")
        if self.input_format not in INPUT_FORMATS:
            raise ValueError(f"input format must be one of {INPUT_FORMATS}, not {self.input_format!r}")
        if self.output_format not in OUTPUT_FORMATS:
            raise ValueError(f"output format must be one of {OUTPUT_FORMATS}, not {self.output_format!r}")
        if self.markup not in (*MARKUPS, "auto"):
            raise ValueError(f"markup must be one of {(*MARKUPS, 'auto')}, not {self.markup!r}")
        if self.markup == "auto" and self.input_format != "document":
            raise ValueError("markup auto reads each file by its name's ending: it needs input format document")


@dataclass(frozen=True)
class Rejection:
    """A record that was not tagged: its file, its line (from 1) or Parquet row (from 0), and why."""

    source: str
    index: int
    reason: str
    unit: str = "line"  # record_unit's: line, row, or none (a document is its whole file)

    def to_dict(self) -> dict:
        return {"source": self.source, **({self.unit: self.index} if self.unit else {}), "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.source}{f' {self.unit} {self.index}' if self.unit else ''}: {self.reason}"


@dataclass
class Summary:
    """Records read and records rejected, and since when."""

    records: int = 0
    rejected: int = 0
    started: float = field(default_factory=time.monotonic)
    last_due: float = field(default_factory=time.monotonic)  # when :meth:`due` last said yes

    @property
    def tagged(self) -> int:
        return self.records - self.rejected

    def due(self, every_s: float) -> bool:
        """Whether ``every_s`` seconds have passed since this was last due (or since the start)."""
        if time.monotonic() - self.last_due < every_s:
            return False
        self.last_due = time.monotonic()
        return True

    def __str__(self) -> str:
        seconds = time.monotonic() - self.started
        per_second = self.records / seconds if seconds >= 1 else 0.0  # a rate of a moment says little
        shown = f"{per_second:,.0f}" if per_second >= 10 else f"{per_second:.2f}"  # 0.24, not 0
        rate = f", {shown} records/s" if per_second else ""
        return f"{self.records} records in, {self.tagged} tagged, {self.rejected} rejected in {seconds:.1f} s{rate}"


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_NOT_UTF16 = "ner.not-utf-16"
codecs.register_error(_NOT_UTF16, lambda error: ("\udfff", error.end))
_NOT_UTF16_MARK = "\udfff".encode("utf-8", "surrogatepass")


class BadRecord(ValueError):
    """Why a record cannot be tagged."""


def annotation(analysis: Analysis, nbest: int) -> dict:
    """The fields that tagging adds to a record: its entities (and n-best analyses)."""
    out: dict = {"entities": [e.to_dict() for e in analysis.entities]}
    if nbest:
        out["nbest"] = [*map(Alternative.to_dict, analysis.alternatives)]
    return out


def markup_of(path: str) -> Markup:
    """How a document is read by its file's name (``--markup auto``): ``.html``, ``.htm`` and ``.xhtml`` as
    HTML, ``.md`` and ``.markdown`` as Markdown (compressed or not: ``page.html.gz``), any other as text."""
    name = path.lower()
    name = next((name.removesuffix(ending) for ending in COMPRESSED if name.endswith(ending)), name)
    if name.endswith((".html", ".htm", ".xhtml")):
        return "html"
    return "markdown" if name.endswith((".md", ".markdown")) else "text"


def record_unit(input_format: str) -> str:
    """What a record's index counts in its file: lines (from 1), Parquet rows (from 0), or nothing (a document)."""
    return {"parquet": "row", "document": ""}.get(input_format, "line")


def origin_fields(settings: Settings) -> tuple[str, ...]:
    """The fields ``with_source`` writes: the file, and the line (or a Parquet input's row; a document has
    none)."""
    unit = record_unit(settings.input_format)
    return (ORIGIN, ORIGIN_ROW if unit == "row" else ORIGIN_LINE) if unit else (ORIGIN,)


def record(fields: dict, analysis: Analysis, nbest: int, origin: dict | None = None) -> str:
    """One output line: the record's own fields, where it came from (``origin``: :data:`ORIGIN`'s fields)
    and its annotation, as JSON (a Parquet float that is not a number, which JSON cannot hold, as null)."""
    out = {**fields, **(origin or {}), **annotation(analysis, nbest)}
    try:
        return json.dumps(out, ensure_ascii=False, default=str, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(out), ensure_ascii=False, default=str)


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float inside it replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _no_constant(name: str) -> None:
    raise BadRecord(f"{name} in it, which is no JSON value")


def parse(raw: bytes | dict, settings: Settings, markup: Markup = "text") -> tuple[dict, str]:
    """The fields of a record (a line of bytes, a document, or a Parquet row) and its text, read in ``markup``
    (its source may be :data:`MARKUP_SOURCE_TIMES` as long); raises :class:`BadRecord`."""
    if isinstance(raw, dict):
        fields = raw
    else:
        if raw == OVERLONG or len(raw) > MAX_LINE_BYTES:
            whole = "file" if settings.input_format == "document" else "line"
            raise BadRecord(f"a {whole} of over {MAX_LINE_BYTES:,} bytes")
        if settings.input_format == "document" and (reason := unread_content(raw[:10], "")):
            raise BadRecord(reason)  # one of a folder's files (a .docx, a .pdf): the others are tagged
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            if _NOT_UTF16_MARK in raw:  # a line of a UTF-16 file (lines)
                raise BadRecord("not UTF-16 (half a character, or the file cut short)") from None
            raise BadRecord(f"not UTF-8 ({error.reason} at byte {error.start})") from None
        if settings.input_format in ("text", "document"):
            return {"text": _checked_length(line, settings, markup)}, line
        if not line.strip():
            raise BadRecord("a blank line, no JSON object")
        try:
            fields = json.loads(line, parse_constant=_no_constant)
        except json.JSONDecodeError as error:
            raise BadRecord(f"invalid JSON ({error})") from None
        except RecursionError:
            raise BadRecord("JSON nested too deep") from None
        if not isinstance(fields, dict):
            raise BadRecord(f"{_KINDS[type(fields)]}, not a JSON object")
        if _SURROGATE_ESCAPE.search(line):  # "\ud83d" alone decodes to a character no output can hold
            try:
                json.dumps(fields, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError as error:
                raise BadRecord(f"a lone surrogate {error.object[error.start]!r}, half of a character") from None
    if settings.with_source and (own := [key for key in origin_fields(settings) if key in fields]):
        raise BadRecord(f"a field {own[0]!r} of its own, which --with-source would write over")
    field = settings.text_field
    if field not in fields:
        raise BadRecord(f"no {field!r} field")
    text = fields[field]
    if not isinstance(text, str):
        raise BadRecord(f"{field!r} is {_KINDS.get(type(text), type(text).__name__)}, not a string")
    return fields, _checked_length(text, settings, markup)


def _checked_length(text: str, settings: Settings, markup: Markup = "text") -> str:
    """``text``, unless it is too long to tag: ``max_chars``, or as markup, whose text is checked once read,
    :data:`MARKUP_SOURCE_TIMES` that (a web page's scripts and styles)."""
    times = 1 if markup == "text" else MARKUP_SOURCE_TIMES
    if len(text) > times * settings.max_chars:
        what, limit = ("a text", "") if markup == "text" else (markup, f"{times} x ")
        raise BadRecord(
            f"{what} of {len(text):,} characters; at most {times * settings.max_chars:,} ({limit}--max-chars)"
        )
    return text


MARKUP_SOURCE_TIMES = 8  # an HTML or Markdown source may be this many times --max-chars


def lines(handle: IO[bytes], source: str) -> Iterator[tuple[str, int, bytes]]:
    """``(source, line number from 1, the line without its \\n or \\r\\n)`` for each line of a binary file,
    in UTF-8: a UTF-8 byte-order mark is dropped, and a file with UTF-16's (Windows PowerShell's ``>``
    writes one) is read as UTF-16."""
    head = handle.peek(4)[:4] if hasattr(handle, "peek") else b""
    if head.startswith(codecs.BOM_UTF8):
        handle.read(len(codecs.BOM_UTF8))
    raw: Iterable[bytes] = _bounded_lines(handle.readline, b"\n")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not head.startswith(codecs.BOM_UTF32_LE):
        # Lines end at \n alone, as in UTF-8; what is no UTF-16 (half a character, a file cut short) becomes
        # a lone surrogate, which makes that line alone no UTF-8.
        text = io.TextIOWrapper(handle, encoding="utf-16", errors=_NOT_UTF16, newline="\n")
        raw = (line.encode("utf-8", "surrogatepass") for line in _bounded_lines(text.readline, "\n"))
    for number, line in enumerate(raw, 1):
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):  # cut short: not held while others are read
            yield source, number, OVERLONG
            continue
        if number == 1 and not head:  # a handle that cannot peek: the mark is found here
            line = line.removeprefix(codecs.BOM_UTF8)
        yield source, number, line.removesuffix(b"\n").removesuffix(b"\r")


def whole(handle: IO[bytes], source: str) -> Iterator[tuple[str, int, bytes]]:
    """``(source, 1, the file's bytes)``: a document, one record, in UTF-8 as :func:`lines` reads a line (its
    line ends kept, so offsets count them); :data:`OVERLONG` for a file over :data:`MAX_LINE_BYTES`, unread
    past them."""
    content = handle.read(MAX_LINE_BYTES + 1)
    if len(content) > MAX_LINE_BYTES:
        yield source, 1, OVERLONG
        return
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not content.startswith(codecs.BOM_UTF32_LE):
        content = content.decode("utf-16", errors=_NOT_UTF16).encode("utf-8", "surrogatepass")
    yield source, 1, content.removeprefix(codecs.BOM_UTF8)


def records_of(input_format: str) -> Callable[[IO[bytes], str], Iterator[tuple[str, int, bytes]]]:
    """How a file of ``input_format`` (not Parquet) is read into ``(source, index, raw record)``s."""
    return whole if input_format == "document" else lines


class DamagedInput(ValueError):
    """A compressed input file that could not be read to its end; ``read_before``: the lines of the chunk
    being read when it failed, which :func:`tag_stream` tags (set by :func:`_chunks`; stdin, which
    :func:`_prompt_chunks` reads, takes no compressed data)."""

    read_before: list | None = None


def file_records(handle: IO[bytes], path: str, input_format: str) -> Iterator[tuple[str, int, bytes]]:
    """The records of an input file (:func:`records_of`), where a compressed one that is damaged or cut
    short is named as such."""
    try:
        yield from records_of(input_format)(handle, path)
    except (EOFError, zlib.error, OSError) as error:  # EOFError, zlib.error: the decompressors' own
        if not path.endswith(COMPRESSED):
            raise
        raise DamagedInput(f"{path}: a damaged or truncated compressed file ({error})") from None


def _bounded_lines(readline: Callable[[int], AnyStr], newline: AnyStr) -> Iterator[AnyStr]:
    """The lines ``readline`` gives, each cut to one unit over :data:`MAX_LINE_BYTES` (its rest read past
    in pieces of that size), so that memory stays bounded whatever the input (ten gigabytes of zeros
    decompressed from a few megabytes): :func:`lines` gives :data:`OVERLONG` for such a line."""
    while line := readline(MAX_LINE_BYTES + 1):
        if len(line) > MAX_LINE_BYTES and not line.endswith(newline):
            while (rest := readline(MAX_LINE_BYTES)) and not rest.endswith(newline):
                pass
        yield line


def local_files(name: str) -> list[str]:
    """The files an input path names, as Ray Data lists them: the file itself, or each file under a
    directory (at any depth, in order of path, but those whose path in it starts with ``.`` or ``_``)."""
    if "://" in name or not os.path.isdir(name):
        return [name]
    found = (os.path.join(folder, file) for folder, _, files in os.walk(name) for file in files)
    return sorted(path for path in found if not os.path.relpath(path, name).startswith((".", "_")))


def check_inputs(names: Sequence[str], input_format: str) -> list[str]:
    """The files input paths name (:func:`local_files`; ``-`` and ``/dev/stdin`` are :data:`STDIN`). Refuses,
    before any work, a local path that does not exist, and a file that would be read as garbage, every line
    of it rejected: one compressed in a way not read here, or compressed with a name that does not say so,
    or in UTF-32, or Parquet (a document, one record, is rejected alone: :func:`parse`)."""
    inputs = [path for name in names for path in ([STDIN] if name in STDIN_NAMES else local_files(name))]
    if missing := [path for path in inputs if local_path(path) and not os.path.exists(path)]:
        raise FileNotFoundError(f"no such file or directory: {', '.join(missing)}")
    unread = []
    for path in inputs if input_format != "document" else ():
        if path.endswith(UNREAD_COMPRESSED):
            unread.append(f"{path}: compressed in a way not read here ({' '.join(COMPRESSED)} are)")
        elif input_format != "parquet" and local_path(path) and os.path.isfile(path):  # not a pipe: never read twice
            with open(path, "rb") as handle:
                if reason := unread_content(handle.read(10), path):
                    unread.append(f"{path}: {reason}")
    if unread:
        more = f" (and {len(unread) - 3} more)" if len(unread) > 3 else ""
        raise ValueError("; ".join(unread[:3]) + more)
    return inputs


STDIN = "-"  # an input path that stands for stdin
STDIN_NAMES = (STDIN, "/dev/stdin")


def local_path(path: str) -> bool:
    """Whether an input path (of :func:`check_inputs`) is a file here: not stdin, not ``s3://`` and the like."""
    return "://" not in path and path not in STDIN_NAMES


COMPRESSED = (".gz", ".bz2", ".lz4", ".zst")  # the endings Ray Data decompresses by (case matters, as there)
UNREAD_COMPRESSED = (".xz", ".lzma", ".zip", ".7z", ".br", ".snappy")  # read as text, every line would be rejected
# Data that is no text, by its first bytes: (their pattern, what it is, the ending that has it read, how to
# decompress it). A text may start with "BZh9" or "PK": bzip2's block mark is checked too.
NOT_TEXT = (
    (rb"\x1f\x8b", "gzip-compressed", ".gz", "zcat"),
    (rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)", "bzip2-compressed", ".bz2", "bzcat"),
    (rb"\x28\xb5\x2f\xfd", "zstd-compressed", ".zst", "zstd -dc"),
    (rb"\x04\x22\x4d\x18", "lz4-compressed", ".lz4", "lz4 -dc"),
    (rb"\xfd7zXZ\x00", "xz-compressed", None, "xzcat"),
    (rb"PK\x03\x04", "a zip archive", None, "unzip -p"),
    (rb"7z\xbc\xaf\x27\x1c", "a 7z archive", None, "7z x -so"),
)


def unread_content(head: bytes, name: str | None) -> str | None:
    """Why data whose first bytes are ``head`` would not be read as lines of text under the file name
    ``name`` (None: stdin), or None when it would."""
    if name is not None and name.endswith(COMPRESSED):  # decompressed by the ending; damage is found as it is read
        return None
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "UTF-32 text: convert it to UTF-8 (iconv -f UTF-32 -t UTF-8)"
    if head.startswith(b"PAR1\x15"):  # its mark, then a page header (a text may start with "PAR1")
        return "a Parquet file: it is read by --engine ray --input-format parquet"
    for pattern, kind, ending, tool in NOT_TEXT:
        if not re.match(pattern, head):
            continue
        if ending is None:
            return f"{kind}, which is not read here: decompress it ({tool})"
        if name is None:
            return f"{kind}: decompress it into the pipe ({tool} FILE | ner tag ...), or give the file ({ending})"
        return f"{kind}, but its name does not end in {ending}: rename it (inputs are decompressed by their endings)"
    return None


def open_input(path: str) -> IO[bytes]:
    """A file to read lines from, decompressed as Ray Data does by its name's ending: ``.gz`` and ``.bz2``
    by the standard library, ``.lz4`` and ``.zst`` by pyarrow (installed with the training or Ray extra)."""
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith(".bz2"):
        return bz2.open(path, "rb")
    if path.endswith(COMPRESSED):
        import pyarrow as pa

        return io.BufferedReader(pa.input_stream(path, compression="detect"))
    return open(path, "rb")


def _shown(path: str, inputs: Sequence[tuple[str, str]]) -> tuple[int, str]:
    """Which input a path Ray lists comes from (its position among ``inputs``, pairs of an input as the user
    wrote it and as Ray was given it, absolute), and the path as the user wrote it."""
    for position, (name, absolute) in enumerate(inputs):
        if path == absolute:
            return position, name
        if path.startswith(absolute.rstrip("/") + "/"):
            return position, name.rstrip("/") + path[len(absolute.rstrip("/")) :]
    return len(inputs), path


def _entity_type() -> pa.DataType:
    import pyarrow as pa

    return pa.list_(
        pa.struct(
            [
                ("start", pa.int64()),
                ("end", pa.int64()),
                ("label", pa.string()),
                ("text", pa.string()),
                ("score", pa.float64()),
            ]
        )
    )


class BatchTagger:
    """Tags batches of raw records with a model loaded once: the worker of the single-process engine, and
    the callable class that each Ray actor runs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        taggers = [Tagger.load(model, backend=settings.backend, threads=settings.threads) for model in settings.models]
        self.router = Router(taggers)
        self.router.choose(lang=settings.lang)  # a language no model is for: refused before any record
        self.dictionaries = (
            self.router.dictionaries(dict(settings.dictionary), settings.ignore_case, lang=settings.lang)
            if settings.dictionary
            else None
        )
        self.options = TagOptions(scores=settings.scores, nbest=settings.nbest, capitals=settings.capitals)
        self._origin_fields = origin_fields(settings) if settings.with_source else None

    def analyze(self, raws: Sequence[bytes | dict], sources: Sequence[str]) -> list[tuple[dict, Analysis] | str]:
        """For each raw record (of its file in ``sources``), its fields and analysis, or the reason it was
        rejected."""
        parsed: list[tuple[dict, PlainText] | str] = []
        for raw, source in zip(raws, sources):
            markup = markup_of(source) if self.settings.markup == "auto" else self.settings.markup
            try:
                fields, text = parse(raw, self.settings, markup)
                plain = read_markup(text, markup)
                _checked_length(plain.text, self.settings)
            except BadRecord as error:
                parsed.append(str(error))
                continue
            parsed.append((fields, plain))
        analyses = iter(self._analyze([p[1] for p in parsed if not isinstance(p, str)]))
        return [p if isinstance(p, str) else (p[0], next(analyses)) for p in parsed]

    def _analyze(self, plains: list[PlainText]) -> list[Analysis]:
        """Each text, read from its markup, tagged; offsets into the source."""
        analyses = self._analyze_read([plain.text for plain in plains])
        as_given = ([0], [0], [None])  # a text read as it is: its offsets are the source's
        return [
            analysis if (plain.offsets, plain.sources, plain.ends) == as_given else plain.source_analysis(analysis)
            for plain, analysis in zip(plains, analyses)
        ]

    def _analyze_read(self, texts: list[str]) -> list[Analysis]:
        (only, *others) = self.router.taggers.values()
        if others or self.settings.lang != "auto":  # the models share the texts out
            return self.router.analyze(texts, self.options, lang=self.settings.lang, dictionaries=self.dictionaries)
        dictionary = self.dictionaries and self.dictionaries[only.name]
        return only.analyze(texts, replace(self.options, dictionary=dictionary))

    def records(self, chunk: Sequence[tuple[str, int, bytes]]) -> list[str | Rejection]:
        """An output line or a rejection for each ``(source, line number, raw line)``, in order."""
        results = self.analyze([raw for _, _, raw in chunk], [source for source, _, _ in chunk])
        return [
            Rejection(source, number, result, record_unit(self.settings.input_format))
            if isinstance(result, str)
            else record(*result, self.settings.nbest, self._origin(source, number))
            for (source, number, _), result in zip(chunk, results)
        ]

    def _origin(self, source: str, index: int) -> dict | None:
        """The fields that say where a record came from, when asked for (``with_source``)."""
        return None if self._origin_fields is None else dict(zip(self._origin_fields, (source, index)))

    def __call__(self, batch: pa.Table) -> pa.Table:
        """A Ray Data batch of records (source, index and raw line, or Parquet columns) with its
        rejections and either its output lines or its fields and entities as columns."""
        import pyarrow as pa

        parquet_in = self.settings.input_format == "parquet"
        results = self.analyze(
            batch.drop_columns([SOURCE, INDEX]).to_pylist() if parquet_in else batch[LINE].to_pylist(),
            batch[SOURCE].to_pylist(),
        )
        errors = pa.array([r if isinstance(r, str) else None for r in results], pa.string())
        if self.settings.output_format == "jsonl":
            places = zip(batch[SOURCE].to_pylist(), batch[INDEX].to_pylist())
            outputs = [
                None if isinstance(r, str) else record(*r, self.settings.nbest, self._origin(*place))
                for r, place in zip(results, places)
            ]
            return (
                batch.select([SOURCE, INDEX])
                .append_column(ERROR, errors)
                .append_column(RECORD, pa.array(outputs, pa.string()))
            )
        if not parquet_in:
            batch = self._columns(batch.select([SOURCE, INDEX]), results)
        annotations = [None if isinstance(r, str) else annotation(r[1], self.settings.nbest) for r in results]
        batch = batch.drop_columns([c for c in ("entities", "nbest") if c in batch.column_names])
        entities = _entity_type()
        batch = batch.append_column("entities", pa.array([a and a["entities"] for a in annotations], entities))
        if self.settings.nbest:
            nbest = pa.list_(pa.struct([("probability", pa.float64()), ("entities", entities)]))
            batch = batch.append_column("nbest", pa.array([a and a["nbest"] for a in annotations], nbest))
        if (origin := self._origin_fields) is not None:  # a record's own such field was rejected: its column goes
            batch = batch.drop_columns([c for c in origin if c in batch.column_names])
            for field, column in zip(origin, (SOURCE, INDEX)):
                batch = batch.append_column(field, batch[column])
        return batch.append_column(ERROR, errors)

    def _columns(self, batch: pa.Table, results: list[tuple[dict, Analysis] | str]) -> pa.Table:
        """Text lines or JSONL records as Parquet columns: the text, and a JSONL record's other fields as one
        JSON object (its fields may differ in type or presence from record to record, and every shard must
        have the same schema)."""
        import pyarrow as pa

        field = self.settings.text_field
        texts = [None if isinstance(r, str) else r[0][field] for r in results]
        batch = batch.append_column(field, pa.array(texts, pa.string()))
        if self.settings.input_format in ("text", "document"):
            return batch
        others = [
            None
            if isinstance(r, str)
            else json.dumps(_finite({k: v for k, v in r[0].items() if k != field}), ensure_ascii=False)
            for r in results
        ]
        return batch.append_column(
            OTHER_FIELDS if field != OTHER_FIELDS else f"_{OTHER_FIELDS}", pa.array(others, pa.string())
        )


def tag_stream(
    numbered: Iterable[tuple[str, int, bytes]], settings: Settings, chunk_lines: int = 512, idle: float | None = None
) -> Iterator[list[str | Rejection]]:
    """The single-process engine: output lines and rejections for ``(source, line number, raw line)``
    triples, one list per chunk of lines, in input order. An input that cannot be read on
    (:class:`DamagedInput`) ends it, after the records read before it. ``idle``: a chunk also ends once
    no line has come for that many seconds (a pipe fed slowly, ``tail -f log | ner tag``)."""
    tagger = BatchTagger(settings)
    chunks = _chunks(numbered, chunk_lines) if idle is None else _prompt_chunks(numbered, chunk_lines, idle)
    while True:
        try:
            chunk = next(chunks, None)
        except DamagedInput as damaged:
            if damaged.read_before:  # what was read before a failure stays
                yield tagger.records(damaged.read_before)
            raise
        if chunk is None:
            return
        yield tagger.records(chunk)


def _chunks(items: Iterable[tuple[str, int, bytes]], size: int) -> Iterator[list[tuple[str, int, bytes]]]:
    """``(source, index, raw record)`` items in lists of ``size``, or fewer whose records hold
    :data:`CHUNK_BYTES` (512 documents of a megabyte would be held, and tagged, at once); one that fails is
    raised with the list it cut short (:attr:`DamagedInput.read_before`)."""
    iterator = iter(items)
    while True:
        chunk: list[tuple[str, int, bytes]] = []
        held = 0
        try:
            while len(chunk) < size and held < CHUNK_BYTES and (item := next(iterator, None)) is not None:
                chunk.append(item)
                held += len(item[2])
        except DamagedInput as damaged:
            damaged.read_before = chunk
            raise
        if not chunk:
            return
        yield chunk


CHUNK_BYTES = 8 * 2**20


_END = object()  # the reader thread's last item
INPUT_THREAD = "ner-input"  # the thread that reads a pipe for _prompt_chunks
CHUNK_MAX_AGE_S = 1.0  # a chunk read from a pipe is tagged once its first line has waited this long


def _prompt_chunks(items: Iterable[T], size: int, idle: float) -> Iterator[list[T]]:
    """:func:`_chunks`, read by a thread, a list ending early once no item has come for ``idle`` seconds or
    its first item has waited :data:`CHUNK_MAX_AGE_S` (a log written a line every 0.1 s)."""
    queue: Queue = Queue(maxsize=size)

    def read() -> None:
        try:
            for item in items:
                queue.put(item)
            queue.put(_END)
        except BaseException as error:  # handed to the reader of the queue, raised there
            queue.put(error)

    threading.Thread(target=read, name=INPUT_THREAD, daemon=True).start()  # a blocked read ends with the process
    chunk: list[T] = []
    due = math.inf  # when the chunk must go, whatever comes
    while True:
        try:
            item = queue.get(timeout=max(0.0, min(idle, due - time.monotonic())) if chunk else None)
        except Empty:
            yield chunk
            chunk = []
            continue
        if item is _END:
            break
        if isinstance(item, BaseException):
            raise item
        if not chunk:
            due = time.monotonic() + CHUNK_MAX_AGE_S
        chunk.append(item)
        if len(chunk) == size or time.monotonic() >= due:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def import_ray() -> Any:
    """The ``ray`` module, or a RuntimeError that says what to install."""
    try:
        import ray
    except ImportError:
        raise RuntimeError("the ray engine needs Ray Data: pip install 'ner-service[ray]'") from None
    return ray


@contextlib.contextmanager
def ray_session(address: str | None = None, cpus: int | None = None) -> Iterator[None]:
    """Ray for the length of the block: the cluster at ``address``, or a new local one with ``cpus`` CPUs
    (default: all), its own temporary directory and no dashboard. A Ray already started is used as it is."""
    ray = import_ray()
    if ray.is_initialized():
        yield
        return
    if address:
        _check_reachable(address)
    terminated = signal.getsignal(signal.SIGTERM)
    main = terminated is not None and threading.current_thread() is threading.main_thread()
    temp = None if address else tempfile.mkdtemp(prefix="ner-ray-")
    # A new local cluster's token is this process's own, not one Ray would write under HOME (~/.ray/auth_token,
    # which a read-only HOME refuses); the same for each session, since Ray keeps the first it was given.
    token = {} if address or _RAY_TOKEN_SOURCES & os.environ.keys() else {"RAY_AUTH_TOKEN": _PROCESS_TOKEN}
    os.environ.update(token)
    try:
        local = {"num_cpus": cpus, "include_dashboard": False, "_temp_dir": temp}
        ray.init(
            address=address or "local", **({} if address else local), logging_level=logging.ERROR, log_to_driver=False
        )
        # Ray's handler exits with status 15 (on POSIX). During the session the caller's own is put back (`ner`'s
        # ends as Ctrl-C does: 143, through the cleanup below; or SIGTERM ignored), but not the default, which
        # would skip that cleanup; after it, whatever was there.
        if main and terminated != signal.SIG_DFL:
            signal.signal(signal.SIGTERM, terminated)
        yield
    finally:
        ray.shutdown()
        if main:
            signal.signal(signal.SIGTERM, terminated)
        for name in token:
            os.environ.pop(name, None)
        if temp:
            shutil.rmtree(temp, ignore_errors=True)


_RAY_TOKEN_SOURCES = {"RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"}  # a token the user gives Ray
_PROCESS_TOKEN = secrets.token_hex(32)  # the local clusters' of this process


def _check_reachable(address: str, timeout_s: float = 10.0) -> None:
    """Refuse a cluster ``address`` (``host:port`` or ``ray://host:port``) that nothing answers at: Ray itself
    retries for minutes, saying only that it failed to connect. ``auto`` and other forms are left to Ray."""
    host, colon, port = address.removeprefix("ray://").rpartition(":")
    if not colon or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as error:
        raise RuntimeError(f"no Ray cluster answers at {address} ({error.strerror or error})") from None


def _parquet_batches(f: pa.NativeFile, path: str, rows: int) -> Iterator[pa.Table]:
    """A Parquet file's rows, ``rows`` at a time, each with its file and its row number from 0."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    start = 0
    for batch in pq.ParquetFile(f).iter_batches(batch_size=rows):
        table = pa.Table.from_batches([batch])
        indices = pa.array(range(start, start + table.num_rows), pa.int64())
        yield table.append_column(SOURCE, pa.array([path] * table.num_rows)).append_column(INDEX, indices)
        start += table.num_rows


@functools.cache
def _ray_classes() -> tuple[type, type]:
    """Ray Data's file reader and writer for records; defined on first use, as importing Ray takes a second."""
    import pyarrow as pa
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq
    from ray.data.block import BlockAccessor
    from ray.data.datasource import Datasink, FileBasedDatasource

    class Records(FileBasedDatasource):
        """Each record of text, JSONL or Parquet files with its file and line (or row), read ``rows`` at a
        time."""

        def __init__(self, inputs: Sequence[str], input_format: str, rows: int) -> None:
            self.inputs = [(name, _uri(name)) for name in inputs]  # here, in the driver's folder
            super().__init__([absolute for _, absolute in self.inputs])
            self.input_format = input_format
            self.rows = rows

        def _open_input_source(self, filesystem: Any, path: str, **open_args: Any) -> pa.NativeFile:
            if self.input_format == "parquet":  # random access, for the footer
                return filesystem.open_input_file(path)
            return super()._open_input_source(filesystem, path, **open_args)

        def _read_stream(self, f: pa.NativeFile, path: str) -> Iterator[pa.Table]:
            path = _shown(path, self.inputs)[1]
            if self.input_format == "parquet":
                yield from _parquet_batches(f, path, self.rows)
                return
            for chunk in _chunks(file_records(io.BufferedReader(f), path, self.input_format), self.rows):
                sources, numbers, raws = zip(*chunk)
                yield pa.table(
                    {SOURCE: sources, INDEX: pa.array(numbers, pa.int64()), LINE: pa.array(raws, pa.binary())}
                )

    class Shards(Datasink):
        """Writes the tagged records of each write task to a shard ``part-NNNNN`` under ``out`` and the
        rejections of all of them, in order, to one JSONL file; keeps the counts in ``summary``."""

        def __init__(self, out: str, output_format: str, errors: str, unit: str, inputs: Sequence[str]) -> None:
            self.out, self.output_format, self.errors, self.unit = out, output_format, errors, unit
            self.inputs = [(name, name) for name in inputs]  # as rejections name their files: as given
            self.summary = Summary()

        def write(self, blocks: Iterable[Any], ctx: Any) -> tuple[int, list[tuple[str, int, str]]]:
            import pyarrow.compute as pc

            tables = [BlockAccessor.for_block(b).to_arrow() for b in blocks]
            if not tables:
                return 0, []
            table = pa.concat_tables(tables, promote_options="permissive")
            ok = pc.is_null(table[ERROR])
            good = table.filter(ok)
            rejected = table.filter(pc.invert(ok)).select([SOURCE, INDEX, ERROR]).to_pylist()
            if good.num_rows:
                filesystem, root = pafs.FileSystem.from_uri(self.out)
                path = f"{root}/part-{ctx.task_idx:05d}.{self.output_format}"
                if self.output_format == "parquet":
                    pq.write_table(good.drop_columns([SOURCE, INDEX, ERROR]), path, filesystem=filesystem)
                else:
                    with filesystem.open_output_stream(path) as stream:
                        stream.write("".join(f"{line}\n" for line in good[RECORD].to_pylist()).encode())
            return table.num_rows, [(r[SOURCE], r[INDEX], r[ERROR]) for r in rejected]

        def on_write_complete(self, write_result: Any) -> None:
            rejections = sorted(
                (r for _, rejected in write_result.write_returns for r in rejected),
                key=lambda r: (_shown(r[0], self.inputs)[0], r[0], r[1]),  # in input order
            )
            filesystem, path = pafs.FileSystem.from_uri(self.errors)
            with filesystem.open_output_stream(path) as stream:
                for source, index, reason in rejections:
                    stream.write((json.dumps(Rejection(source, index, reason, self.unit).to_dict()) + "\n").encode())
            self.summary = Summary(sum(n for n, _ in write_result.write_returns), len(rejections))
            filesystem, root = pafs.FileSystem.from_uri(self.out)
            with filesystem.open_output_stream(f"{root}/{SUCCESS_FILE}"):
                pass

    return Records, Shards


def _session(settings: Settings, workers: int | None, address: str | None) -> contextlib.AbstractContextManager:
    """The Ray session of a job. On this machine the model is checked first: an actor that cannot load it
    would fail in a long trace of Ray's."""
    if address is None:
        for model in settings.models:
            verify(model)
    return ray_session(address, workers and workers * settings.threads)


def _uri(path: str) -> str:
    return path if "://" in path else os.path.abspath(path)


def _dataset(
    inputs: Sequence[str], settings: Settings, workers: int | None, batch_lines: int, progress: bool
) -> Dataset:
    ray = import_ray()
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = progress
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)  # a failed job's error is raised here, in one line
    if workers is None:
        workers = max(1, int(ray.cluster_resources().get("CPU", 1)) // settings.threads)
    reader, _ = _ray_classes()
    # Reading takes no CPU of its own: the tagging actors hold every core and would wait for it forever.
    # Four blocks per actor (at least: Ray still splits its blocks at 128 MiB) keep the actors evenly busy,
    # where Ray's default of blocks over 1 MiB leaves a small file to one actor, and keep Ray's cost per
    # block small next to tagging it.
    dataset = ray.data.read_datasource(
        reader(inputs, settings.input_format, batch_lines),
        num_cpus=0,
        override_num_blocks=4 * workers,
    )
    return dataset.map_batches(
        BatchTagger,
        fn_constructor_args=(settings,),
        batch_size=batch_lines,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=settings.threads,
    )


def ray_stream(
    inputs: Sequence[str],
    settings: Settings,
    workers: int | None = None,
    address: str | None = None,
    batch_lines: int = 512,
    progress: bool = False,
) -> Iterator[list[str | Rejection]]:
    """The Ray engine, to this process: output lines and rejections in input order, one list per block.

    ``workers`` actors of ``settings.threads`` cores each (default: as many as the cluster's CPUs allow).
    """
    unit = record_unit(settings.input_format)
    with _session(settings, workers, address), _causes_raised():
        for batch in _dataset(inputs, settings, workers, batch_lines, progress).iter_batches(
            batch_size=None, batch_format="pyarrow"
        ):
            yield [
                Rejection(source, index, error, unit) if error is not None else line
                for source, index, error, line in zip(*(batch[c].to_pylist() for c in (SOURCE, INDEX, ERROR, RECORD)))
            ]


def ray_write(
    inputs: Sequence[str],
    out: str,
    settings: Settings,
    errors: str | None = None,
    workers: int | None = None,
    address: str | None = None,
    batch_lines: int = 512,
    progress: bool = False,
) -> Summary:
    """The Ray engine, to files: shards ``out/part-NNNNN.jsonl`` (or ``.parquet``), in input order, and the
    rejections in ``errors`` (default: ``out/_errors.jsonl``). ``out`` must be new or empty."""
    started = time.monotonic()
    import_ray()
    import pyarrow.fs as pafs

    out = _uri(out)
    filesystem, root = pafs.FileSystem.from_uri(out)
    if filesystem.get_file_info(root).type != pafs.FileType.NotFound and (
        names := {info.base_name for info in filesystem.get_file_info(pafs.FileSelector(root))}
    ):
        held = ": it holds a finished job's shards" if SUCCESS_FILE in names else ""
        if not held and any(name.startswith("part-") or name == ERRORS_FILE for name in names):
            held = f": it holds the shards of a job that did not finish (no {SUCCESS_FILE})"
        raise ValueError(f"{out} is not empty{held}; remove it, or give another --out")
    _, shards = _ray_classes()
    sink = shards(
        out,
        settings.output_format,
        _uri(errors) if errors else f"{out}/{ERRORS_FILE}",
        record_unit(settings.input_format),
        inputs,
    )
    with _session(settings, workers, address), _causes_raised():
        filesystem.create_dir(root)
        try:
            dataset = _dataset(inputs, settings, workers, batch_lines, progress)
            dataset.write_datasink(sink, ray_remote_args={"num_cpus": 0})
        except BaseException:
            log.warning("%s is incomplete: the job did not finish (no %s)", out, SUCCESS_FILE)
            raise
    sink.summary.started = started  # counted at the end, on the driver
    return sink.summary


@contextlib.contextmanager
def _causes_raised() -> Iterator[None]:
    """An error raised in a Ray task (a full disk, a damaged input) as itself: one line, where Ray's own
    error carries the trace of every process it passed through."""
    import ray

    try:
        yield
    except ray.exceptions.RayTaskError as error:
        cause = getattr(error, "cause", None)
        if isinstance(cause, OSError) and cause.errno is not None:  # a full disk, a missing file
            named = isinstance(cause.filename, str) and "\n" not in cause.filename  # not Ray's notes on retrying
            raise OSError(cause.errno, cause.strerror, cause.filename if named else None) from None
        # An object store's error (pyarrow's, without errno) or ours (a damaged input): its first line, the
        # notes Ray adds after it left out.
        if isinstance(cause, OSError):
            raise OSError(str(cause).partition("\n")[0]) from None
        if isinstance(cause, ValueError):
            raise ValueError(str(cause).partition("\n")[0]) from None
        raise
