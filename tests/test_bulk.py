"""Bulk tagging (`ner tag`, ner/bulk.py): one process or Ray Data on 2 local CPUs, text, JSONL and Parquet records,
bad records, and the message when Ray is not installed."""

from __future__ import annotations

import datetime
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ner import bulk
from ner.cli import main
from ner.corpus import read_conll
from ner.markup import read_markup

from .conftest import shared_data, shipped_model, synthetic_sentences

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")  # Ray's own, on copying
BAD_LINES = {
    2: ('{"id": 2, "txt": "no text field"}', "no 'text' field"),
    4: ("{not json", "invalid JSON"),
    5: ('{"id": 5, "text": 17}', "'text' is a number, not a string"),
    7: ('["an", "array"]', "an array, not a JSON object"),
    8: (b"\xff\xfe not UTF-8", "not UTF-8"),
    9: ('"a string"', "a string, not a JSON object"),
    10: ('{"text": "Paris", "x": NaN}', "NaN in it, which is no JSON value"),
    11: ("  ", "a blank line, no JSON object"),
}


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    """One local Ray of 2 CPUs for the module: every `ner tag --engine ray` below joins it."""
    pytest.importorskip("ray")
    with bulk.ray_session(cpus=2):
        yield


def tag(capsys: pytest.CaptureFixture, *arguments: object) -> tuple[list[str], str]:
    """The stdout lines and the stderr of ``ner tag --quiet ARGUMENTS``."""
    assert main(["tag", "--quiet", *map(str, arguments)]) == 0
    captured = capsys.readouterr()
    return captured.out.splitlines(), captured.err


def write_lines(path: Path, lines: list[str | bytes], end: bytes = b"\n") -> Path:
    path.write_bytes(b"".join((line if isinstance(line, bytes) else line.encode()) + end for line in lines))
    return path


def piped(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """``data`` on stdin, as a pipe gives it."""
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))


def jsonl_records(tmp_path: Path) -> Path:
    """Records with ids and metadata, and the bad lines of BAD_LINES among them."""
    lines: list[str | bytes] = []
    for number, pairs in enumerate(synthetic_sentences(40, 31), 1):
        if number in BAD_LINES:
            lines.append(BAD_LINES[number][0])
        else:
            text = " ".join(t for t, _ in pairs)
            lines.append(json.dumps({"id": number, "text": text, "meta": {"source": "wire", "n": [number]}}))
    return write_lines(tmp_path / "records.jsonl", lines)


def test_a_kill_under_ray_ends_as_ctrl_c_does(tiny_model: Path, tmp_path: Path) -> None:
    """ray.init puts its own SIGTERM handler in (exit status 15, no word said): `ner tag` puts its own back,
    which ends the run with 143 as any other command, Ray shut down and its folder removed, nothing under HOME."""
    pytest.importorskip("ray")
    lines = tmp_path / "in.txt"
    write_lines(lines, ["Peter Brown visited Tokyo with Acme Corp staff ."] * 200_000)
    command = [sys.executable, "-m", "ner", "tag", "--engine", "ray", "--workers", "1", "--quiet"]
    command += ["--model", str(tiny_model), "--threads", "1", str(lines)]
    # Ray's socket paths must stay within 107 bytes: a short folder of its own rather than tmp_path
    with tempfile.TemporaryDirectory(prefix="ray-kill-", dir="/tmp" if os.path.isdir("/tmp") else None) as temporary:
        home = Path(temporary) / "home"  # Ray wrote its token under HOME (~/.ray/auth_token): not any more
        home.mkdir()
        env = {**os.environ, "TMPDIR": temporary, "RAY_ADDRESS": "", "HOME": str(home)}
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        assert process.stdout is not None
        try:
            first = process.stdout.readline()  # Ray started and tagging: then the kill
            process.send_signal(signal.SIGTERM)
            _, error = process.communicate(timeout=120)
        finally:  # not left tagging beside the tests after it
            process.kill()
            process.wait()
        assert first and process.returncode == 143 and b"Traceback" not in error, error[-2000:]
        assert not list(Path(temporary).glob("ner-ray-*")) and not list(home.iterdir())


def test_two_ray_sessions_in_one_process(tmp_path: Path) -> None:
    """Ray keeps the first token a process gives it: a session's own fresh token failed the second session
    of a notebook or a library caller (InvalidAuthToken)."""
    pytest.importorskip("ray")
    script = (
        "import ray\nfrom ner.bulk import ray_session\n"
        "for _ in range(2):\n"
        "    with ray_session(cpus=1):\n"
        "        print(ray.get(ray.remote(lambda: 7).remote()))\n"
    )
    with tempfile.TemporaryDirectory(prefix="ray-two-", dir="/tmp" if os.path.isdir("/tmp") else None) as temporary:
        env = {**os.environ, "TMPDIR": temporary, "RAY_ADDRESS": "", "HOME": temporary}
        env = {k: v for k, v in env.items() if k not in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_AUTH_MODE")}
        result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.split() == ["7", "7"], result.stderr[-2000:]


@pytest.mark.parametrize("before", [signal.SIG_IGN, signal.SIG_DFL])
def test_a_ray_session_leaves_sigterm_as_the_caller_had_it(monkeypatch: pytest.MonkeyPatch, before) -> None:
    """During the session a handler of the caller's own stays (ignored stays ignored), the default gives way
    to Ray's (which runs the cleanup); after it, what was there. A stand-in for ray.init sets its handler
    as ray.init does, to check this without starting Ray (the kill test above runs the real one)."""
    from types import SimpleNamespace

    def rays(number: int, frame: object) -> None:
        raise SystemExit(number)

    fake = SimpleNamespace(
        is_initialized=lambda: False,
        init=lambda **_: signal.signal(signal.SIGTERM, rays),
        shutdown=lambda: None,
    )
    monkeypatch.setattr(bulk, "import_ray", lambda: fake)
    previous = signal.signal(signal.SIGTERM, before)
    try:
        with bulk.ray_session(address="ray://nowhere"):
            assert signal.getsignal(signal.SIGTERM) == (signal.SIG_IGN if before == signal.SIG_IGN else rays)
        assert signal.getsignal(signal.SIGTERM) == before
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_ray_engine_gives_the_single_process_output_on_eng_testb(
    ray_local: None, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    model = shipped_model("en-conll03")
    sentences = read_conll(shared_data("conll2003_en", "eng.testb"))[0][:400]
    source = write_lines(tmp_path / "testb.txt", [" ".join(s.tokens) for s in sentences])
    single, _ = tag(capsys, "--model", model, source)
    parallel, err = tag(capsys, "--model", model, "--engine", "ray", "--workers", 2, "--batch-lines", 64, source)
    assert parallel == single
    assert [json.loads(line)["text"] for line in parallel] == [" ".join(s.tokens) for s in sentences]
    assert sum(len(json.loads(line)["entities"]) for line in parallel) > 400
    assert err.strip().splitlines()[-1].startswith("ner tag: 400 records in, 400 tagged, 0 rejected in ")


def test_bulk_tagging_keeps_input_order(
    ray_local: None, tiny_model: Path, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    lines = [" ".join(t for t, _ in s) for s in synthetic_sentences(150, 21)] + ["", "   "]
    lines[0] = " ".join(lines * 20)  # a slow first block, which the others overtake
    first = write_lines(tmp_path / "first.txt", lines[:100], end=b"\r\n")
    second = write_lines(tmp_path / "second.txt", lines[100:])
    common = ["--model", tiny_model, "--batch-lines", 16, first, second]
    single, _ = tag(capsys, *common)
    parallel, _ = tag(capsys, "--engine", "ray", "--workers", 2, *common)
    assert parallel == single
    assert [json.loads(line)["text"] for line in parallel] == lines
    assert any(json.loads(line)["entities"] for line in parallel)


def test_capitals_restored_in_every_record_when_asked(tiny_model: Path, capsys, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "chat.txt", ["Angela merkel visited paris on monday .", "angela merkel met ibm ."])
    entities = {
        capitals: [
            json.loads(line)["entities"]
            for line in tag(capsys, "--model", tiny_model, "--capitals", capitals, source)[0]
        ]
        for capitals in ("auto", "restore", "as_written")
    }
    assert entities["restore"][0] != entities["auto"][0]  # the first record mixes cases
    assert entities["restore"][1] == entities["auto"][1] != entities["as_written"][1]  # the second is in one case


def test_bulk_tagging_gives_the_same_records_on_either_backend(tiny_model: Path) -> None:
    lines = [" ".join(t for t, _ in s) for s in synthetic_sentences(150, 23)]
    numbered = [("-", number, line.encode()) for number, line in enumerate(lines, 1)]

    def entities(backend: str) -> list[list[tuple[int, int, str, float]]]:
        settings = bulk.Settings(models=(str(tiny_model),), backend=backend)
        records = (json.loads(line) for chunk in bulk.tag_stream(numbered, settings) for line in chunk)
        return [[(e["start"], e["end"], e["label"], e["score"]) for e in r["entities"]] for r in records]

    on_onnx, on_torch = entities("onnx"), entities("torch")
    assert any(on_onnx)
    for a, b in zip(on_onnx, on_torch, strict=True):
        assert [e[:3] for e in a] == [e[:3] for e in b]
        assert [e[3] for e in a] == pytest.approx([e[3] for e in b], abs=2e-4)


def test_a_field_of_html_is_tagged_as_its_text_with_offsets_into_the_field(
    tiny_model: Path, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    pages = ["<p><b>John Smith</b> visited <i>Berlin</i> &amp; Oslo.</p>", "<td>Maria Garcia</td><td>Siemens</td>"]
    source = write_lines(tmp_path / "pages.jsonl", [json.dumps({"id": i, "html": p}) for i, p in enumerate(pages)])
    common = ["--model", tiny_model, "--input-format", "jsonl", "--text-field", "html", source]
    as_html = [json.loads(line) for line in tag(capsys, *common, "--markup", "html")[0]]
    as_text = [json.loads(line) for line in tag(capsys, *common)[0]]
    assert [r["html"] for r in as_html] == pages and as_html != as_text
    read = write_lines(tmp_path / "read.jsonl", [json.dumps({"text": read_markup(p, "html").text}) for p in pages])
    expected = [
        json.loads(line)["entities"] for line in tag(capsys, "--model", tiny_model, "--input-format", "jsonl", read)[0]
    ]
    for record, entities in zip(as_html, expected, strict=True):
        assert [(e["text"], e["label"]) for e in record["entities"]] == [(e["text"], e["label"]) for e in entities]
        assert all(
            read_markup(record["html"][e["start"] : e["end"]], "html").text == e["text"] for e in record["entities"]
        )
    assert ("John Smith", "PER") in {(e["text"], e["label"]) for e in as_html[0]["entities"]}


def test_jsonl_records_keep_their_fields_and_bad_ones_are_set_aside_with_their_line(
    ray_local: None, tiny_model: Path, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    source = jsonl_records(tmp_path)
    common = ["--model", tiny_model, "--input-format", "jsonl", "--batch-lines", 8]
    errors = tmp_path / "errors.jsonl"
    single, err = tag(capsys, *common, "--errors", errors, source)
    assert err.strip().startswith("ner tag: 40 records in, 32 tagged, 8 rejected in ")
    parallel, err = tag(capsys, *common, "--engine", "ray", "--workers", 2, source)
    assert parallel == single
    rejected = [line.removeprefix(f"ner tag: rejected {source} line ") for line in err.splitlines()[:-1]]
    assert [int(r.split(":")[0]) for r in rejected] == sorted(BAD_LINES)
    assert err.splitlines()[-1].startswith("ner tag: 40 records in, 32 tagged, 8 rejected in ")

    records = [json.loads(line) for line in single]
    assert [r["id"] for r in records] == [n for n in range(1, 41) if n not in BAD_LINES]
    assert all(r["meta"] == {"source": "wire", "n": [r["id"]]} for r in records)
    assert any(r["entities"] for r in records)
    reasons = [json.loads(line) for line in errors.read_text().splitlines()]
    assert [(r["source"], r["line"]) for r in reasons] == [(str(source), n) for n in sorted(BAD_LINES)]
    assert all(r["reason"].startswith(BAD_LINES[r["line"]][1]) for r in reasons)

    out = tmp_path / "out"
    _, err = tag(capsys, *common, "--engine", "ray", "--workers", 2, "--out", out, source)
    assert err.strip().startswith("ner tag: 40 records in, 32 tagged, 8 rejected in ")
    shards = sorted(out.glob("part-*.jsonl"))
    assert len(shards) > 1
    assert [line for shard in shards for line in shard.read_text().splitlines()] == single
    written = [json.loads(line) for line in (out / bulk.ERRORS_FILE).read_text().splitlines()]
    assert written == reasons
    assert (out / bulk.SUCCESS_FILE).is_file()  # written last
    assert main(["tag", "--model", str(tiny_model), "--engine", "ray", "--out", str(out), str(source)]) == 2
    assert "is not empty: it holds a finished job's shards" in capsys.readouterr().err

    pq = pytest.importorskip("pyarrow.parquet")
    columns = tmp_path / "columns"
    tag(capsys, *common, "--engine", "ray", "--workers", 2, "--out", columns, "--output-format", "parquet", source)
    table = pq.read_table(columns)
    assert table.schema.field("fields").type == "string"  # the fields but the text, as one JSON object
    assert [{**json.loads(row.pop("fields")), **row} for row in table.to_pylist()] == records


def test_jsonl_fields_of_any_types_become_parquet_shards_of_one_schema(
    ray_local: None, tiny_model: Path, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    """An id that is a number in some records and a string in others, an empty object, a field only some
    records have: none may stop the job or leave shards that cannot be read as one table."""
    pq = pytest.importorskip("pyarrow.parquet")
    fields = [{"id": 1}, {"id": "x"}, {"meta": {}}, {"id": 2**70}, {}, {"id": [1, "a"]}, {"big": None}]
    lines = [json.dumps({**f, "text": "Peter Brown ."}) for f in fields]
    lines[-1] = '{"big": 1e400, "text": "Peter Brown ."}'  # a float beyond float64: written as null, as in JSONL
    source = write_lines(tmp_path / "mixed.jsonl", lines)
    out = tmp_path / "out"
    common = ["--model", tiny_model, "--input-format", "jsonl", "--output-format", "parquet", "--batch-lines", 2]
    _, err = tag(capsys, *common, "--engine", "ray", "--workers", 2, "--out", out, source)
    assert err.strip().startswith("ner tag: 7 records in, 7 tagged, 0 rejected in ")
    assert [json.loads(row["fields"]) for row in pq.read_table(out).to_pylist()] == fields


def test_parquet_round_trip_keeps_columns_and_their_types(
    ray_local: None, tiny_model: Path, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    texts: list[str | None] = [" ".join(t for t, _ in s) for s in synthetic_sentences(30, 37)]
    texts[6] = None
    table = pa.table(
        {
            "doc_id": pa.array(range(100, 130), pa.int32()),
            "text": texts,
            "published": [datetime.datetime(2024, 1, 1) + datetime.timedelta(days=i) for i in range(30)],
        }
    )
    source = tmp_path / "docs.parquet"
    pq.write_table(table, source, row_group_size=7)
    out = tmp_path / "out"
    _, err = tag(
        capsys,
        *("--model", tiny_model, "--engine", "ray", "--workers", 2, "--batch-lines", 8),
        *("--input-format", "parquet", "--output-format", "parquet", "--out", out, source),
    )
    assert err.strip().startswith("ner tag: 30 records in, 29 tagged, 1 rejected in ")
    tagged = pq.read_table(out)  # the errors file is not read as data
    kept = table.filter(pa.compute.is_valid(table["text"]))
    assert tagged.select(["doc_id", "text", "published"]).equals(kept)
    assert tagged.column_names == ["doc_id", "text", "published", "entities"]

    numbered = [("-", i, t.encode()) for i, t in enumerate(kept["text"].to_pylist(), 1)]
    chunks = bulk.tag_stream(numbered, bulk.Settings(models=(str(tiny_model),)))
    entities = tagged["entities"].to_pylist()
    assert entities == [json.loads(line)["entities"] for chunk in chunks for line in chunk]
    assert any(entities)
    (rejection,) = [json.loads(line) for line in (out / bulk.ERRORS_FILE).read_text().splitlines()]
    assert rejection == {"source": str(source), "row": 6, "reason": "'text' is null, not a string"}


def test_with_source_each_record_says_its_file_and_line_in_either_engine(
    ray_local: None, tiny_model: Path, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    """Output records of text lines carried no way back to their input, and a rejected line shifted every
    one after it."""
    first = write_lines(tmp_path / "a.txt", ["Ann Lee .", b"bad \xff line", "Bob Smith ."])
    second = write_lines(tmp_path / "b.jsonl", [json.dumps({"text": "Ann Lee .", "_source": "theirs"})])
    out, _ = tag(capsys, "--model", tiny_model, "--with-source", first, tmp_path / "a.txt")
    assert [(r["_source"], r["_line"], r["text"]) for r in map(json.loads, out)] == [
        (str(first), 1, "Ann Lee ."),
        (str(first), 3, "Bob Smith ."),
    ] * 2
    ray_out, _ = tag(capsys, "--model", tiny_model, "--with-source", "--engine", "ray", "--workers", 1, first)
    assert ray_out == out[:2]  # the same records from Ray
    assert main(["tag", "--model", str(tiny_model), "--with-source", "--input-format", "jsonl", str(second)]) == 1
    assert "a field '_source' of its own, which --with-source would write over" in capsys.readouterr().err
    second.write_text(json.dumps({"text": "Ann Lee .", "_row": 5}) + "\n")  # not written by a JSONL input: kept
    (kept,) = tag(capsys, "--model", tiny_model, "--with-source", "--input-format", "jsonl", second)[0]
    assert (json.loads(kept)["_row"], json.loads(kept)["_line"]) == (5, 1)
    pa, pq = pytest.importorskip("pyarrow"), pytest.importorskip("pyarrow.parquet")
    parquet, texts = tmp_path / "docs.parquet", ["Ann Lee .", "Bob Smith ."]
    pq.write_table(pa.table({"text": texts}), parquet)
    ray_job = ["--model", tiny_model, "--with-source", "--engine", "ray", "--workers", 1, "--input-format", "parquet"]
    tag(capsys, *ray_job, "--output-format", "parquet", "--out", tmp_path / "out", parquet)
    tagged = pq.read_table(tmp_path / "out").select(["text", "_source", "_row"]).to_pylist()
    assert tagged == [{"text": text, "_source": str(parquet), "_row": row} for row, text in enumerate(texts)]
    pq.write_table(pa.table({"text": ["Ann Lee ."], "_source": ["theirs"]}), tmp_path / "own.parquet")
    assert main(["tag", *map(str, ray_job), "--output-format", "parquet", "--out", str(tmp_path / "own"),
                 str(tmp_path / "own.parquet")]) == 1  # fmt: skip
    assert "a field '_source' of its own" in (tmp_path / "own" / bulk.ERRORS_FILE).read_text()


def test_flags_of_the_ray_engine_are_refused_without_it_and_a_bad_model_before_ray_starts(
    tiny_model: Path, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    assert main(["tag", "--model", str(tiny_model), "--workers", "2", "in.txt"]) == 2
    assert capsys.readouterr().err == "ner tag: error: --workers: needs --engine ray\n"
    assert main(["tag", "--model", str(tiny_model), "--engine", "ray", "--output-format", "parquet", "x"]) == 2
    assert capsys.readouterr().err == "ner tag: error: --output-format parquet needs --out DIR\n"
    assert main(["tag", "--model", str(tiny_model), "--engine", "ray", "in.txt", "also.txt"]) == 2
    assert capsys.readouterr().err == "ner tag: error: no such file or directory: in.txt, also.txt\n"
    source = str(write_lines(tmp_path / "in.txt", ["Peter Brown ."]))
    assert main(["tag", "--model", str(tiny_model.parent / "none"), "--engine", "ray", source]) == 2
    assert capsys.readouterr().err == f"ner tag: error: {tiny_model.parent / 'none'}: not a model directory\n"


def test_the_ray_engine_not_installed_is_one_line_saying_what_to_install(tiny_model: Path, tmp_path: Path) -> None:
    source = write_lines(tmp_path / "in.txt", ["Peter Brown visited Tokyo ."])
    without_ray = "import sys; sys.modules['ray'] = None; from ner.cli import main; sys.exit(main(sys.argv[1:]))"
    for extra in ([], ["--out", str(tmp_path / "out")]):
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                without_ray,
                "tag",
                "--model",
                str(tiny_model),
                "--engine",
                "ray",
                *extra,
                str(source),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr == "ner tag: error: the ray engine needs Ray Data: pip install 'ner-service[ray]'\n"
    assert not (tmp_path / "out").exists()


def test_a_dictionary_file_constrains_every_record_and_a_foreign_label_stops_before_work(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    source = write_lines(tmp_path / "in.txt", ["John Smith visited Berlin with Acme Corp staff"])
    terms = tmp_path / "terms.tsv"
    terms.write_text("Berlin\tO\nAcme Corp staff\tORG\n")
    (line,), _ = tag(capsys, "--model", tiny_model, "--dictionary", terms, source)
    found = {(e["text"], e["label"]) for e in json.loads(line)["entities"]}
    assert ("Acme Corp staff", "ORG") in found and not any(text == "Berlin" for text, _ in found)
    terms.write_text("Berlin\tGPE\n")
    assert main(["tag", "--model", str(tiny_model), "--dictionary", str(terms), str(source)]) == 2
    assert "GPE" in capsys.readouterr().err


def test_several_models_share_each_line_out_by_script_as_the_service_does(
    tiny_model: Path, tiny_zh_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """One --model read a mixed file's Chinese with the English model or its English with the Chinese one."""
    from ner import Router, Tagger

    texts = ["李明在北京工作。John Smith visited Berlin.", "John Smith visited Berlin.", "王芳是北京大学的教授。"]
    source = write_lines(tmp_path / "in.txt", texts)
    terms = tmp_path / "terms.tsv"
    terms.write_text("Berlin\tO\n北京大学\tORG\n")  # a label of each model
    lines, said = tag(capsys, "--model", tiny_model, "--model", tiny_zh_model, "--dictionary", terms, source)
    router = Router([Tagger.load(tiny_model), Tagger.load(tiny_zh_model)])
    expected = router.analyze(texts, dictionaries=router.dictionaries({"Berlin": "O", "北京大学": "ORG"}))
    found = [[(e["start"], e["end"], e["label"]) for e in json.loads(line)["entities"]] for line in lines]
    assert found == [[(e.start, e.end, e.label) for e in analysis.entities] for analysis in expected]
    assert any(texts[0][start] == "李" for start, _, _ in found[0]) and any(e[2] == "ORG" for e in found[2])
    only_zh, _ = tag(capsys, "--model", tiny_model, "--model", tiny_zh_model, "--lang", "zh", source)
    chinese = router.analyze(texts, lang="zh")
    assert [[e["start"] for e in json.loads(line)["entities"]] for line in only_zh] == [
        [e.start for e in analysis.entities] for analysis in chinese
    ]
    assert "warning" not in said
    _, said = tag(capsys, "--model", tiny_zh_model, "--model", shipped_model("zh-resume"), source)
    assert f"warning: {shipped_model('zh-resume')} tags nothing: {tiny_zh_model} is the model for its script" in said
    assert main(["tag", "--model", str(tiny_model), "--lang", "fr", str(source)]) == 2
    assert "--lang fr: no model for it; the models are for en" in capsys.readouterr().err


def test_a_utf16_file_splits_lines_as_utf8_does_and_loses_only_what_is_no_utf16() -> None:
    """A lone carriage return inside a line is no line end, and half a character (a lone surrogate, a file
    cut short) makes only its own line bad, as PowerShell's files can be."""
    import io

    text = "\ufeffAngela Merkel met\rEmmanuel Macron.\r\nBerlin \ud800 is big.\nParis\n".encode(
        "utf-16-le", "surrogatepass"
    )
    numbered = list(bulk.lines(io.BufferedReader(io.BytesIO(text + b"X")), "in.txt"))
    assert [line for _, _, line in numbered[:1]] == [b"Angela Merkel met\rEmmanuel Macron."]
    assert [number for _, number, _ in numbered] == [1, 2, 3, 4]
    assert numbered[2][2] == b"Paris"
    settings = bulk.Settings(models=("unused",))
    for bad in (numbered[1][2], numbered[3][2]):
        with pytest.raises(bulk.BadRecord, match="not UTF-16"):
            bulk.parse(bad, settings)


def test_ray_names_rejected_records_files_as_given_and_in_input_order(
    ray_local: None, tiny_model: Path, capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_lines(tmp_path / "z.jsonl", ['{"text": "Peter Brown ."}', "{bad"])
    write_lines(tmp_path / "a.jsonl", ["{bad", '{"text": "Peter Brown ."}'])
    common = ["--model", tiny_model, "--input-format", "jsonl"]
    tag(capsys, *common, "--errors", "single.jsonl", "z.jsonl", "a.jsonl")
    single = [json.loads(line) for line in Path("single.jsonl").read_text().splitlines()]
    assert [(r["source"], r["line"]) for r in single] == [("z.jsonl", 2), ("a.jsonl", 1)]
    tag(capsys, *common, "--engine", "ray", "--workers", 2, "--out", "out", "z.jsonl", "a.jsonl")
    assert [json.loads(line) for line in Path("out", bulk.ERRORS_FILE).read_text().splitlines()] == single


def test_a_record_too_big_to_tag_is_set_aside_and_the_others_tagged(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """One record killed the job with a MemoryError, the good ones before it lost: a line without end (four
    gigabytes of 'a' from a 17 MB .gz file), a 22 MB text, JSON nested 100,000 deep."""
    import gzip

    monkeypatch.setattr(bulk, "MAX_LINE_BYTES", 250_000)
    source = tmp_path / "in.jsonl.gz"
    records = [
        '{"text": "John lives in Paris"}',
        '{"text": "' + "a" * 300_000 + '"}',  # read in pieces of 250,000 bytes, never whole
        '{"text": "' + "Ann is here . " * 5 + '"}',
        '{"text": "x", "deep": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"text": "Mary is in Berlin"}',
        "b" * 260_000,  # the file's end, with no line end
    ]
    source.write_bytes(gzip.compress("\n".join(records).encode()))
    with gzip.open(source) as handle:
        read = [line for _, _, line in bulk.lines(handle, "in")]
    assert read.count(bulk.OVERLONG) == 2 and max(map(len, read)) < 250_000  # none held while others are read
    out, err = tag(capsys, "--model", tiny_model, "--input-format", "jsonl", "--max-chars", 40, source)
    assert [json.loads(line)["text"] for line in out] == ["John lives in Paris", "Mary is in Berlin"]
    assert err.splitlines()[:-1] == [
        f"ner tag: rejected {source} line 2: a line of over 250,000 bytes",
        f"ner tag: rejected {source} line 3: a text of 70 characters; at most 40 (--max-chars)",
        f"ner tag: rejected {source} line 4: JSON nested too deep",
        f"ner tag: rejected {source} line 6: a line of over 250,000 bytes",
    ]
    assert err.splitlines()[-1].startswith("ner tag: 6 records in, 2 tagged, 4 rejected in ")
    xz = tmp_path / "in.txt.xz"
    xz.write_bytes(b"\xfd7zXZ\x00")
    assert main(["tag", "--model", str(tiny_model), str(xz)]) == 2
    assert "in.txt.xz: compressed in a way not read here (.gz .bz2 .lz4 .zst are)" in capsys.readouterr().err


def test_a_ray_job_that_fails_names_its_cause_in_one_line_and_leaves_no_success_mark(
    ray_local: None, tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture
) -> None:
    """A damaged input under Ray was a 195-line trace of Ray's processes that never named the file, and the
    shards written before it looked like a finished job's."""
    import gzip

    inputs = tmp_path / "in"
    inputs.mkdir()
    write_lines(inputs / "a.txt", ["John lives in Paris"] * 50)
    (inputs / "b.txt.gz").write_bytes(gzip.compress(b"Mary is in Berlin\n" * 500)[:60])
    out = tmp_path / "out"
    ray_job = ["tag", "--model", str(tiny_model), "--engine", "ray", "--workers", "1", "--out", str(out), str(inputs)]
    assert main(ray_job) == 2
    err = capsys.readouterr().err
    assert f"ner tag: error: {inputs / 'b.txt.gz'}: a damaged or truncated compressed file" in err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert f"{out} is incomplete: the job did not finish" in caplog.text
    assert not (out / bulk.SUCCESS_FILE).exists()
    (out / "part-00000.jsonl").write_text('{"text": "John lives in Paris", "entities": []}\n')  # as an interrupted job
    assert main(ray_job) == 2
    assert "the shards of a job that did not finish (no _SUCCESS); remove it" in capsys.readouterr().err


def test_a_ray_cluster_address_that_nothing_answers_is_refused_at_once() -> None:
    """Ray retried for minutes, saying only that it failed to connect."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=f"no Ray cluster answers at 127.0.0.1:{port}"):
        bulk._check_reachable(f"127.0.0.1:{port}")
    assert time.monotonic() - started < 10


def test_a_line_cut_at_the_limit_is_rejected_never_shortened(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cut line lost its last byte to the \\r trimmed from a line's end, or three to the byte-order mark,
    and came in under the limit: a shortened record tagged, the rest of the line lost."""
    import io

    monkeypatch.setattr(bulk, "MAX_LINE_BYTES", 16)
    text = b"\xef\xbb\xbf" + b"a" * 16 + b"\nbbbbbbbbbbbbbbb\rcc\n" + b"c" * 14 + b"\r\n" + b"d" * 17
    numbered = list(bulk.lines(io.BufferedReader(io.BytesIO(text)), "in.txt"))
    settings = bulk.Settings(models=("unused",))
    verdicts = []
    for _, number, line in numbered:
        try:
            verdicts.append((number, bulk.parse(line, settings)[1]))
        except bulk.BadRecord as error:
            verdicts.append((number, str(error)))
    over = "a line of over 16 bytes"
    assert verdicts == [(1, "a" * 16), (2, over), (3, "c" * 14), (4, over)]


def test_a_ray_tasks_error_is_raised_as_its_cause_in_one_line() -> None:
    ray = pytest.importorskip("ray")
    causes = {
        "[Errno 28] No space left on device": OSError(28, "No space left on device", "Failed to write\nafter 1 try"),
        "[Errno 2] No such file or directory: 'in/part-3.txt'": FileNotFoundError(
            2, "No such file or directory", "in/part-3.txt"
        ),
        "When uploading part: AWS Error ACCESS_DENIED": OSError("When uploading part: AWS Error ACCESS_DENIED\nnotes"),
        "in.gz: a damaged or truncated compressed file": ValueError(
            "in.gz: a damaged or truncated compressed file\nnotes"
        ),
    }
    for said, cause in causes.items():
        with pytest.raises(type(cause)) as raised, bulk._causes_raised():
            raise ray.exceptions.RayTaskError("Write", "a trace", cause)
        assert str(raised.value) == said


def test_an_interrupted_run_says_where_it_stopped_and_skip_goes_on_from_there(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C left no word on stderr and no way to go on; rejected records leave no line, so the output's
    length did not say where. Off a terminal, a line now and then says how far a run is."""
    import ner.cli

    source = write_lines(tmp_path / "in.jsonl", [json.dumps({"text": f"Ann met Bob in Paris {i} ."}) for i in range(9)])
    source.write_text(source.read_text().replace('"Ann met Bob in Paris 3 ."', "3"))  # a record rejected
    everything = tmp_path / "all-errors.jsonl"
    full, _ = tag(capsys, "--model", tiny_model, "--input-format", "jsonl", "--batch-lines", 2, "--errors", everything,
                  source)  # fmt: skip
    rejected = tmp_path / "errors.jsonl"
    chunks = bulk.tag_stream

    def interrupted(*args: object, **kwargs: object) -> Iterator[list]:
        stream = chunks(*args, **kwargs)
        yield next(stream)
        yield next(stream)
        raise KeyboardInterrupt

    monkeypatch.setattr(bulk, "tag_stream", interrupted)
    monkeypatch.setattr(ner.cli, "PROGRESS_EVERY_S", 0)  # a progress line after every chunk
    command = ["tag", "--model", str(tiny_model), "--input-format", "jsonl", "--batch-lines", "2", str(source)]
    assert main([*command, "--errors", str(rejected)]) == 130
    captured = capsys.readouterr()
    first = captured.out.splitlines()
    assert first == full[:3]  # records 1-4, the fourth rejected
    *progress, said = [line for line in captured.err.splitlines() if " records in, " in line]
    assert progress[0].startswith("ner tag: so far: 2 records in, 2 tagged")  # not to be read as the summary
    assert progress[1].startswith("ner tag: so far: 4 records in")
    assert said.startswith("ner tag: interrupted: 4 records in, 3 tagged, 1 rejected in ")
    assert said.endswith("the output holds the first 4 records' lines: to go on, run it again with --skip 4, "
                         f"appending (>>) to it; --errors {rejected} is appended to")  # fmt: skip
    monkeypatch.setattr(bulk, "tag_stream", chunks)
    rest, _ = tag(capsys, "--model", tiny_model, "--input-format", "jsonl", "--batch-lines", 2, "--skip", 4,
                  "--errors", rejected, source)  # fmt: skip
    assert first + rest == full and rejected.read_text() == everything.read_text() != ""


def test_what_would_be_read_as_garbage_is_refused_before_any_work(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compressed data named without its ending (or with it in capitals, which Ray Data does not
    decompress either), an archive inside a directory and UTF-32 were read as text: every line rejected,
    or tagged as noise, and exit 0."""
    import gzip
    import lzma

    text = b"Ann Lee lives in Paris .\n" * 5
    cases = {
        "in.txt": (gzip.compress(text), "gzip-compressed, but its name does not end in .gz: rename it"),
        "IN.TXT.GZ": (gzip.compress(text), "gzip-compressed, but its name does not end in .gz"),
        "in.txt.zstd": (b"\x28\xb5\x2f\xfd" + text, "zstd-compressed, but its name does not end in .zst"),
        "in.dat": (lzma.compress(text), "xz-compressed, which is not read here: decompress it (xzcat)"),
        "u32.txt": (text.decode().encode("utf-32"), "UTF-32 text: convert it to UTF-8 (iconv -f UTF-32 -t UTF-8)"),
    }
    for name, (data, said) in cases.items():
        folder = tmp_path / name.replace(".", "-")
        folder.mkdir()
        (folder / name).write_bytes(data)
        assert main(["tag", "--model", str(tiny_model), str(folder)]) == 2  # found in a directory too
        err = capsys.readouterr().err
        assert err.startswith(f"ner tag: error: {folder / name}: {said}") and err.count("\n") == 1, err
    for start in (b"BZh9 is no bzip2 file", b"PAR1 is no Parquet file", b"PK is no zip"):  # a text may start so
        (tmp_path / "fine.txt").write_bytes(start + b"\n")
        assert json.loads(tag(capsys, "--model", tiny_model, tmp_path / "fine.txt")[0][0])["text"] == start.decode()
    piped(monkeypatch, gzip.compress(text))
    assert main(["tag", "--model", str(tiny_model), str(tmp_path / "fine.txt"), "-"]) == 2
    captured = capsys.readouterr()  # refused before the file before it was tagged
    assert "stdin: gzip-compressed: decompress it into the pipe (zcat FILE | ner tag ...)" in captured.err
    assert captured.out == ""
    (tmp_path / "broken").symlink_to(tmp_path / "nowhere")
    assert main(["tag", "--model", str(tiny_model), str(tmp_path / "fine.txt"), str(tmp_path / "broken")]) == 2
    assert capsys.readouterr().err == f"ner tag: error: no such file or directory: {tmp_path / 'broken'}\n"
    pa, pq = pytest.importorskip("pyarrow"), pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"text": ["Ann Lee ."]}), tmp_path / "records.txt")
    assert main(["tag", "--model", str(tiny_model), str(tmp_path / "records.txt")]) == 2
    assert "records.txt: a Parquet file: it is read by --engine ray" in capsys.readouterr().err
    parquet = (tmp_path / "records.txt").read_bytes()
    piped(monkeypatch, parquet)
    assert main(["tag", "--model", str(tiny_model)]) == 2
    assert "stdin: a Parquet file" in capsys.readouterr().err


def test_stdin_as_a_dash_among_files_and_as_a_pipes_path(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``-`` was a file name that did not exist, ``/dev/stdin`` on a pipe failed, and ``--errors -``
    wrote a file named ``-``."""

    first = write_lines(tmp_path / "a.txt", ["Ann Lee ."])
    (tmp_path / "-").mkdir()  # a directory of that name is not read for it
    write_lines(tmp_path / "-" / "b.txt", ["Not this ."])
    monkeypatch.chdir(tmp_path)
    piped(monkeypatch, b"Bob Smith .\n")
    out, _ = tag(capsys, "--model", tiny_model, first, "-")
    assert [json.loads(line)["text"] for line in out] == ["Ann Lee .", "Bob Smith ."]
    (tmp_path / "-" / "b.txt").unlink()
    (tmp_path / "-").rmdir()
    assert main(["tag", "--model", str(tiny_model), "--errors", "-", str(first)]) == 2
    assert "--errors -: rejections go to stderr without --errors" in capsys.readouterr().err
    assert not (tmp_path / "-").exists()
    monkeypatch.setattr(sys, "stdin", None)  # closed: ner tag <&-
    assert main(["tag", "--model", str(tiny_model)]) == 2
    assert "the input is stdin, which is closed" in capsys.readouterr().err
    through_dev_stdin = subprocess.run(
        [sys.executable, "-m", "ner", "tag", "--quiet", "--model", str(tiny_model), "/dev/stdin"],
        input=b"Ann Lee .\n",
        capture_output=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert through_dev_stdin.returncode == 0 and json.loads(through_dev_stdin.stdout)["text"] == "Ann Lee .", (
        through_dev_stdin.stderr
    )


def test_a_damaged_input_among_others_keeps_what_was_read_before_and_says_how_to_go_on(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The chunk being filled when a compressed file turned out damaged was lost (507 of 792 lines
    written), with no word of where to go on from."""
    import gzip

    before = write_lines(tmp_path / "a.txt", [f"Ann met Bob in Paris {i} ." for i in range(7)])
    damaged = tmp_path / "b.txt.gz"
    whole = gzip.compress(b"Mary is in Berlin .\n" * 50)
    damaged.write_bytes(whole[:30])
    command = ["tag", "--quiet", "--model", str(tiny_model), "--batch-lines", "4", str(before), str(damaged)]
    assert main(command) == 2
    captured = capsys.readouterr()
    texts = [json.loads(line)["text"] for line in captured.out.splitlines()]  # a.txt's, and what b.txt.gz gave
    assert texts[:7] == [f"Ann met Bob in Paris {i} ." for i in range(7)] and set(texts[7:]) <= {"Mary is in Berlin ."}
    done = len(texts)
    assert f"ner tag: stopped: {done} records in, {done} tagged, 0 rejected in " in captured.err
    assert f"to go on, once the input is mended, run it again with --skip {done}, appending (>>) to it" in captured.err
    assert f"ner tag: error: {damaged}: a damaged or truncated compressed file" in captured.err
    damaged.write_bytes(whole)
    rest, _ = tag(capsys, "--model", tiny_model, "--skip", done, before, damaged)
    full, _ = tag(capsys, "--model", tiny_model, before, damaged)
    assert captured.out.splitlines() + rest == full and len(full) == 57
    assert main(["tag", "--model", str(tiny_model), "--skip", "57", str(before), str(damaged)]) == 0
    assert "ner tag: warning: --skip 57 passed over every record of the input" in capsys.readouterr().err


def test_a_chunk_is_written_whole_whatever_signal_comes_meanwhile() -> None:
    """A SIGTERM while a slow reader held the write up cut the last line in half."""
    from ner.signals import HeldSignals

    written, signals = [], HeldSignals(second_acts=True)
    with pytest.raises(KeyboardInterrupt), signals.held():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        written.append(True)  # not interrupted within the block
    assert written == [True] and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert not signals.broke_off
    with pytest.raises(KeyboardInterrupt), signals.held():  # a second one acts at once, and says so
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        written.append(False)
    assert written == [True] and signals.broke_off


def test_documents_each_file_one_record_with_offsets_into_it_in_either_engine(
    ray_local: None, tiny_model: Path, capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder of articles was tagged a line a record, each offset counting from its line and a name
    wrapped over two lines cut in two; a document is its whole file, its line ends kept."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"Peter Brown visited\r\nTokyo .\r\n\r\nAnn Lee left .\n")
    (folder / "b.html").write_bytes(b"<p>Peter <b>Brown</b> visited Tokyo .</p>")
    (folder / "c.txt").write_bytes("\ufeffAnn Lee visited Tokyo .".encode("utf-16-le"))  # PowerShell's
    (folder / "d.txt").write_bytes(b"Peter \xff Brown")
    (folder / "e.txt").write_bytes(b"Ann Lee " * 20)
    # a web page is held to --max-chars by the text it shows (its source: 8 times that); a .docx is rejected alone
    (folder / "f.html").write_bytes(b"<script>" + b"x" * 500 + b"</script><p>Ann Lee visited Tokyo .</p>")
    (folder / "g.docx").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    (folder / "h.html").write_bytes(b"<!-- saved -->Ann Lee visited Tokyo .")  # read as one piece, past 0
    errors = tmp_path / "errors.jsonl"
    common = ["--model", tiny_model, "--input-format", "document", "--with-source", "--max-chars", 100]
    out, _ = tag(capsys, *common, "--errors", errors, folder)
    records = [json.loads(line) for line in out]
    assert [(r["_source"], "_line" in r) for r in records] == [
        (str(folder / n), False) for n in ("a.txt", "b.html", "c.txt", "f.html", "h.html")
    ]
    a, b, c, _, h = records
    assert a["text"] == (folder / "a.txt").read_bytes().decode() and c["text"] == "Ann Lee visited Tokyo ."
    for r in (a, c, h):
        assert all(r["text"][e["start"] : e["end"]] == e["text"] for e in r["entities"]) and r["entities"]
    assert [json.loads(line) for line in errors.read_text().splitlines()] == [
        {"source": str(folder / "d.txt"), "reason": "not UTF-8 (invalid start byte at byte 6)"},
        {"source": str(folder / "e.txt"), "reason": "a text of 160 characters; at most 100 (--max-chars)"},
        {"source": str(folder / "g.docx"), "reason": "a zip archive, which is not read here: decompress it (unzip -p)"},
    ]
    # read by its name's ending (--markup auto, a document's default): b.html as a web page, offsets into it
    assert b["entities"] and [re.sub("<[^>]*>", "", b["text"][e["start"] : e["end"]]) for e in b["entities"]] == [
        e["text"] for e in b["entities"]
    ]
    assert [len(chunk) for chunk in bulk._chunks([("f", 1, b"x" * 2**20)] * 20, 512)] == [8, 8, 4]  # 8 MiB at most
    names = ["a.html", "A.HTM", "b.xhtml.gz", "c.md", "d.markdown.zst", "e.txt", "f", "g.html.txt", "<stdin>"]
    assert [bulk.markup_of(name) for name in names] == ["html"] * 3 + ["markdown"] * 2 + ["text"] * 4
    assert main(["tag", "--model", str(tiny_model), "--markup", "auto", str(folder / "a.txt")]) == 2
    assert (
        "--markup auto reads each file by its name's ending: it needs --input-format document"
        in capsys.readouterr().err
    )
    piped(monkeypatch, (folder / "a.txt").read_bytes())
    (whole,) = tag(capsys, "--model", tiny_model, "--input-format", "document")[0]
    assert json.loads(whole)["text"] == a["text"]
    ray_out, said = tag(capsys, *common, "--engine", "ray", "--workers", 1, folder)
    assert ray_out == out and f"{folder / 'd.txt'}: not UTF-8" in said and "line" not in said.split("rejected")[1]
