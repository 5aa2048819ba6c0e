"""The service over real HTTP: uvicorn on a free loopback port, every endpoint, limit and error."""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import json
import logging
import math
import re
import shutil
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.logs import SERVICE_LOGGER, JsonLines
from api.schemas import TagRequest
from ner.markup import read_markup
from ner.truecasing import CAPITALS

from .conftest import reseal, shipped_model
from .server import free_port, running_server

LIMITS = {"max_chars": 2000, "max_texts": 16, "max_body_bytes": 50_000, "max_nbest": 5, "max_tokens": 3000}
TEXT = "John Smith visited Berlin on Monday. Maria Garcia works for Siemens in Oslo."


@pytest.fixture(scope="module")
def metrics_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory, metrics_port: int) -> Iterator[str]:
    log = tmp_path_factory.mktemp("logs") / "server.log"
    with running_server([tiny_model], log, metrics_port=metrics_port, **LIMITS) as url:
        yield url


def scrape(port: int) -> str:
    """Prometheus metrics, from their own port (no API key there)."""
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert response.status_code == 200
    return response.text


@pytest.fixture(scope="module")
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as c:
        yield c


def tag(client: httpx.Client, **body: object) -> httpx.Response:
    return client.post("/tag", json=body)


def test_health_ready_models(client: httpx.Client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}  # details go to the log only
    models = client.get("/models").json()
    assert models["default"] == "tiny-en" and models["languages"] == {"en": "tiny-en"}
    assert models["scripts"] == {"any": "tiny-en"}
    (info,) = models["models"]
    assert info["labels"] == ["LOC", "ORG", "PER"] and info["language"] == "en" and info["default"]
    assert info["scores"]["dev"]["f1"] > 80 and info["version"] == "1.0.0"


def test_head_is_answered_as_get_without_a_body(client: httpx.Client) -> None:
    for path in ("/health", "/ready", "/models", "/"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == got.headers["content-length"]
    assert client.head("/tag").status_code == 405  # POST only
    assert client.post("/health").headers["allow"] == "GET, HEAD"


def test_tag_returns_entities_with_offsets_and_scores(client: httpx.Client) -> None:
    response = tag(client, text=TEXT)
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "tiny-en"
    entities = body["results"][0]["entities"]
    assert {(e["text"], e["label"]) for e in entities} >= {("John Smith", "PER"), ("Berlin", "LOC")}
    for e in entities:
        assert TEXT[e["start"] : e["end"]] == e["text"]
        assert 0 <= e["score"] <= 1
    assert "tokens" not in body["results"][0] and "nbest" not in body["results"][0]


def test_texts_tokens_nbest_and_min_score(client: httpx.Client) -> None:
    texts = [TEXT, "Nothing happened today.", "Ana Silva visited Lima on Monday."]
    body = tag(client, texts=texts, tokens=True, nbest=3).json()
    assert len(body["results"]) == 3
    first = body["results"][0]
    assert [t["text"] for t in first["tokens"]][:4] == ["John", "Smith", "visited", "Berlin"]
    assert first["tokens"][0]["tag"] == "B-PER" and first["tokens"][1]["tag"] == "E-PER"
    for t in first["tokens"]:
        assert TEXT[t["start"] : t["end"]] == t["text"]
    nbest = first["nbest"]
    assert 1 <= len(nbest) <= 3
    assert [a["probability"] for a in nbest] == sorted((a["probability"] for a in nbest), reverse=True)
    assert [(e["start"], e["end"]) for e in nbest[0]["entities"]] == [(e["start"], e["end"]) for e in first["entities"]]
    assert body["results"][1]["entities"] == []
    everything = tag(client, text=TEXT).json()["results"][0]["entities"]
    confident = tag(client, text=TEXT, min_score=0.999999).json()["results"][0]["entities"]
    assert all(e["score"] >= 0.999999 for e in confident) and len(confident) <= len(everything)
    unscored = tag(client, text=TEXT, scores=False).json()["results"][0]["entities"]
    assert all("score" not in e for e in unscored)
    cut = sorted(e["score"] for e in everything)[len(everything) // 2]  # a threshold that drops some
    assert any(e["score"] < cut for e in everything)
    filtered = tag(client, text=TEXT, scores=False, min_score=cut).json()["results"][0]["entities"]
    assert all("score" not in e for e in filtered)  # scored to filter, not shown
    kept = [(e["start"], e["end"]) for e in everything if e["score"] >= cut]
    assert [(e["start"], e["end"]) for e in filtered] == kept


def test_improbable_analyses_keep_six_significant_digits_not_six_decimals() -> None:
    from ner.tagger import Alternative

    assert Alternative([], math.log(1.2345678e-12)).to_dict() == {"probability": 1.23457e-12, "entities": []}
    assert Alternative([], math.log(0.87654321)).to_dict()["probability"] == 0.876543


@pytest.mark.parametrize(
    "text",
    [
        "John Smith 👍🏽 visited Berlin 👨‍👩‍👧 today.",
        "Cafe\u0301 owner John Smith visited Berlin.",
        "שלום John Smith visited Berlin مرحبا",
        "John\x00 Smith\x07 visited\u200b Berlin\u202e today.",
        "\ud83d\ude00 John Smith visited Berlin",  # a surrogate pair as two code points from JSON escapes
        "John \ud800 Smith visited \udfff Berlin",  # lone surrogates, escaped in JSON
        "  \t\n John Smith visited Berlin\n\n\nAna Silva visited Lima  ",
    ],
)
def test_unicode_keeps_offsets_right(client: httpx.Client, text: str) -> None:
    raw = json.dumps({"text": text, "tokens": True})  # ensure_ascii: escapes reach the server as in the wild
    response = client.post("/tag", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    decoded = json.loads(raw)["text"]
    result = response.json()["results"][0]
    for item in result["entities"] + result["tokens"]:
        assert decoded[item["start"] : item["end"]] == item["text"]


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        (b"{not json", 400, "invalid_json"),
        (b'{"text": "a \xff b"}', 400, "invalid_json"),  # not UTF-8
        (b"", 400, "invalid_json"),
        (b"[" * 20_000 + b"]" * 20_000, 400, "invalid_json"),  # nested past any parser's depth
        (b'{"text": 5}', 422, "invalid_request"),
        (b'{"texts": "a string"}', 422, "invalid_request"),
        (b'{"text": ""}', 422, "invalid_request"),
        (b'{"text": "   "}', 422, "invalid_request"),
        (b"{}", 422, "invalid_request"),
        (b'{"text": "a", "texts": ["b"]}', 422, "invalid_request"),
        (b'{"text": "a", "unknown_field": 1}', 422, "invalid_request"),
        (b'{"text": "a", "nbest": -1}', 422, "invalid_request"),
        (b'{"text": "a", "min_score": 2}', 422, "invalid_request"),
        (b'{"text": "a", "model": "no-such-model"}', 404, "unknown_model"),
        (b'{"text": "a", "lang": "xx"}', 404, "unknown_model"),
        (b'{"text": null, "texts": ["a"]}', 422, "invalid_request"),
        (b'{"texts": []}', 422, "invalid_request"),
        (b"[1, 2]", 422, "invalid_request"),
    ],
)
def test_bad_requests_get_clear_4xx(client: httpx.Client, body: bytes, status: int, kind: str) -> None:
    response = client.post("/tag", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == kind and error["message"] and error["request_id"]


def test_bodies_only_the_standard_json_parser_reads_are_answered_as_before(client: httpx.Client) -> None:
    """orjson parses bodies first; what it refuses goes to ``json`` (UTF-16, NaN); an integer over 64 bits,
    a float to orjson, is refused as too large as before."""
    headers = {"content-type": "application/json"}
    utf16 = json.dumps({"text": TEXT}).encode("utf-16")
    response = client.post("/tag", content=utf16, headers=headers)
    assert response.status_code == 200 and response.json() == tag(client, text=TEXT).json()
    nan = client.post("/tag", content=b'{"text": "a", "min_score": NaN}', headers=headers)
    assert nan.status_code == 422 and nan.json()["error"]["message"].startswith(
        "min_score: Value error, must be a number"
    )
    huge = client.post("/tag", content=b'{"text": "a", "nbest": 100000000000000000000}', headers=headers)
    assert huge.status_code == 422 and huge.json()["error"]["limit"] == "max_nbest"
    too_long = client.post("/tag", content=b'{"text": "a", "nbest": 1' + b"0" * 5000 + b"}", headers=headers)
    assert too_long.status_code == 400 and too_long.json()["error"]["type"] == "invalid_json"
    surrogate = client.post("/tag", content=b'{"text": "a", "model": "\\ud800"}', headers=headers)
    assert surrogate.status_code == 404 and surrogate.json()["error"]["type"] == "unknown_model"


@pytest.mark.parametrize(
    ("body", "status", "limit"),
    [
        ({"text": "a" * (LIMITS["max_chars"] + 1)}, 422, "max_chars"),
        ({"texts": ["a"] * (LIMITS["max_texts"] + 1)}, 422, "max_texts"),
        ({"text": "a", "nbest": LIMITS["max_nbest"] + 1}, 422, "max_nbest"),
        ({"texts": ["b" * 1000] * 60}, 413, "max_body_bytes"),
        ({"text": "a " * 999, "nbest": 5}, 422, "max_tokens"),  # 999 tokens x (1 + 5)
        ({"texts": ["a " * 999] * 4}, 422, "max_tokens"),
        ({"texts": ["a," * 999] * 2}, 422, "max_tokens"),  # a run of characters each, 3,996 tokens once tokenized
    ],
)
def test_limits_are_named(client: httpx.Client, body: dict, status: int, limit: str) -> None:
    response = tag(client, **body)
    assert response.status_code == status
    assert response.json()["error"]["limit"] == limit


def test_a_request_far_over_the_token_limit_is_refused_before_it_is_tokenized(client: httpx.Client) -> None:
    """Every run of characters between spaces is a token at least: that count is enough to refuse."""
    early = tag(client, texts=["a " * 999] * 4).json()["error"]
    assert early["limit"] == "max_tokens" and early["message"].startswith("at least 3996 tokens;")
    counted = tag(client, texts=["a," * 999] * 2).json()["error"]
    assert counted["limit"] == "max_tokens" and counted["message"].startswith("3996 tokens;")
    # runs of characters that show nothing (zero-width spaces) are no tokens
    assert tag(client, texts=["a " * 400 + "\u200b " * 600] * 4).status_code == 200  # 1,600 tokens


def test_body_limit_holds_without_content_length(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    response = client.post("/tag", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


@pytest.mark.parametrize("kind", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data", None])
def test_a_body_not_labelled_json_gets_415(client: httpx.Client, kind: str | None) -> None:
    headers = {"content-type": kind} if kind else {}
    response = client.post("/tag", content=json.dumps({"text": TEXT}), headers=headers)
    assert response.status_code == 415 and response.json()["error"]["type"] == "unsupported_media_type"
    labelled = client.post(
        "/tag", content=json.dumps({"text": TEXT}), headers={"content-type": "application/json; charset=utf-8"}
    )
    assert labelled.status_code == 200


def test_request_id_is_echoed_or_made(client: httpx.Client) -> None:
    assert client.get("/health", headers={"x-request-id": "abc123"}).headers["x-request-id"] == "abc123"
    assert re.fullmatch(r"[0-9a-f]{32}", client.get("/health").headers["x-request-id"])


def test_concurrent_requests_match_sequential_ones(client: httpx.Client, server: str, metrics_port: int) -> None:
    texts = [
        f"{name} visited {place} on Monday."
        for name in ("John Smith", "Ana Silva", "Wei Zhang", "Peter Brown")
        for place in ("Paris", "Tokyo", "Lima", "Oslo", "Cairo", "Berlin", "Rio de Janeiro", "New York")
    ]
    sequential = [tag(client, text=t).json()["results"][0] for t in texts]

    def one(text: str) -> dict:
        with httpx.Client(base_url=server, timeout=30) as own:
            return own.post("/tag", json={"text": text}).json()["results"][0]

    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        concurrent_results = list(pool.map(one, texts))
    for a, b in zip(sequential, concurrent_results, strict=True):
        assert [(e["start"], e["end"], e["label"]) for e in a["entities"]] == [
            (e["start"], e["end"], e["label"]) for e in b["entities"]
        ]
        for x, y in zip(a["entities"], b["entities"]):
            assert x["score"] == pytest.approx(y["score"], abs=1e-3)
    sizes = _histogram(scrape(metrics_port), "ner_batch_texts")
    assert sizes["count"] >= 1 and sizes["sum"] / sizes["count"] >= 1


def _histogram(metrics: str, name: str) -> dict[str, float]:
    out = {"count": 0.0, "sum": 0.0}
    for line in metrics.splitlines():
        for part in ("count", "sum"):
            if line.startswith(f"{name}_{part}{{"):
                out[part] += float(line.rsplit(" ", 1)[1])
    return out


def test_metrics_count_requests_by_endpoint_and_model(client: httpx.Client, metrics_port: int) -> None:
    tag(client, text=TEXT)
    tag(client, text="")
    metrics = scrape(metrics_port)
    assert re.search(r'ner_requests_total\{endpoint="/tag",model="tiny-en",status="200"\} \d+', metrics)
    assert re.search(r'ner_requests_total\{endpoint="/tag",model="",status="422"\} \d+', metrics)
    assert "ner_request_seconds_bucket" in metrics and "ner_errors_total" in metrics
    assert 'ner_queue_work{lane="interactive"}' in metrics and 'ner_shed_total{lane="bulk"}' in metrics
    assert client.get("/metrics").status_code == 404  # not on the API port


def test_openapi_and_docs(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    post = schema["paths"]["/tag"]["post"]
    assert "422" in post["responses"] and "413" in post["responses"]
    assert "Retry-After" in post["responses"]["503"]["headers"]
    for path in ("/tag", "/models", "/health", "/ready"):  # the middleware's answers, on every route
        (operation,) = schema["paths"][path].values()
        assert {"408", "413", "431", "500", "503"} <= operation["responses"].keys(), path
        assert operation["operationId"] == path[1:]  # a generated client's names: tag, not tag_tag_post
    assert "401" in schema["paths"]["/models"]["get"]["responses"]
    ready = schema["paths"]["/ready"]["get"]["responses"]
    assert "StatusResponse" in json.dumps(ready["503"]) and "ErrorResponse" in json.dumps(ready["503"])
    request_schema = schema["components"]["schemas"]["TagRequest"]
    assert "oneOf" not in request_schema  # which kept openapi-python-client from making a TagRequest class
    assert "tokens per request" in request_schema["description"]
    assert request_schema["examples"] and "nbest" in request_schema["properties"]
    assert request_schema["properties"]["text"]["maxLength"] == LIMITS["max_chars"]
    assert request_schema["properties"]["dictionary"]["anyOf"][0]["maxProperties"] == 10_000  # the default
    assert "Swagger" in client.get("/docs").text


def test_page_is_served_with_a_policy_that_runs_only_its_own_script(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'id="output"' in page.text
    script = page.text.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = dict(part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";"))
    assert policy["script-src"] == f"'sha256-{digest}'" and policy["default-src"] == "'none'"
    assert policy["connect-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    for answer in (page, client.get("/health"), client.post("/tag", content=b"{")):
        assert answer.headers["x-content-type-options"] == "nosniff" and answer.headers["x-frame-options"] == "DENY"


def test_a_path_with_a_trailing_slash_is_not_redirected(client: httpx.Client) -> None:
    """Starlette's redirect would be built from the client's Host header (an open redirect)."""
    answer = client.post("/tag/", json={"text": TEXT}, headers={"host": "attacker.example"})
    assert answer.status_code == 404 and "location" not in answer.headers


def test_api_keys_rotate_and_are_logged_by_id(tiny_model: Path, tmp_path: Path) -> None:
    keys = {"old": "s3cret-key-one", "new": "s3cret-key-two"}
    log = tmp_path / "log"
    setting = ",".join(f"{key_id}:{key}" for key_id, key in keys.items())
    with running_server([tiny_model], log, api_keys=setting) as url, httpx.Client(base_url=url) as c:
        assert c.get("/health").status_code == 200
        assert c.get("/ready").status_code == 200
        assert c.get("/").status_code == 200
        assert c.get("/models").status_code == 401
        # The schema and its UI are open (a browser opens a page without a key), and say what takes one.
        schema = c.get("/openapi.json").json()
        assert schema["components"]["securitySchemes"] == {"apiKey": {"type": "http", "scheme": "bearer"}}
        assert schema["paths"]["/tag"]["post"]["security"] == schema["paths"]["/models"]["get"]["security"]
        assert schema["paths"]["/tag"]["post"]["security"] == [{"apiKey": []}]
        assert "security" not in schema["paths"]["/health"]["get"]
        assert "swagger-ui-dist@5." in c.get("/docs").text
        assert c.post("/tag", json={"text": TEXT}).status_code == 401
        too_long = b'{"text": "a", "nbest": 1' + b"0" * 5000 + b"}"
        for body in (b"garbage", b"", b'{"text": 5}', too_long):  # the key is asked for before the body is judged
            assert c.post("/tag", content=body, headers={"content-type": "application/json"}).status_code == 401
        wrong = c.post("/tag", json={"text": TEXT}, headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"]["type"] == "unauthorized"
        assert c.post("/tag", json={"text": TEXT}, headers={"authorization": "Basic s3cret-key-one"}).status_code == 401
        for key_id, key in keys.items():
            right = c.post(
                "/tag", json={"text": TEXT}, headers={"authorization": f"Bearer {key}", "x-request-id": key_id}
            )
            assert right.status_code == 200
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert {r["request_id"]: r.get("key") for r in records if r.get("status") == 200 and r["path"] == "/tag"} == {
        "old": "old",
        "new": "new",
    }
    assert {"event": "auth", "mode": "keys", "ids": ["new", "old"]} in records
    assert not any(key in log.read_text() for key in keys.values())


def test_a_single_api_key_still_works(tiny_model: Path, tmp_path: Path) -> None:
    with running_server([tiny_model], tmp_path / "log", api_key="only-key") as url:
        assert httpx.post(f"{url}/tag", json={"text": TEXT}).status_code == 401
        assert httpx.post(f"{url}/tag", json={"text": TEXT}, headers={"authorization": "Bearer only-key"}).is_success
    assert "only-key" not in (tmp_path / "log").read_text()


def test_long_strings_are_refused_and_not_echoed(tiny_model: Path, tmp_path: Path) -> None:
    cases = [
        ({"text": "a", "model": "m" * 1_500_000}, "model"),
        ({"text": "a", "lang": "x" * 100_000}, "lang"),
        ({"text": "a", "x" * 100_000: 1}, "x" * 40 + "..."),  # an unknown field: its name is cut short
    ]
    with running_server([tiny_model], tmp_path / "log", max_body_bytes=3_000_000) as url:
        for body, what in cases:
            response = httpx.post(f"{url}/tag", json=body, timeout=30)
            assert response.status_code == 422 and what in response.json()["error"]["message"]
            assert len(response.content) < 1000


def test_structured_request_log(tiny_model: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    with running_server([tiny_model], log) as url:
        httpx.post(f"{url}/tag", json={"text": TEXT}, headers={"x-request-id": "trace-42"})
    records = [json.loads(line) for line in log.read_text().splitlines()]  # every line, uvicorn's too
    (record,) = [r for r in records if r.get("request_id") == "trace-42"]
    assert record["path"] == "/tag" and record["status"] == 200 and record["model"] == "tiny-en" and record["ms"] > 0
    started = {"event": "log", "level": "info", "logger": "uvicorn.error", "message": "Application startup complete."}
    assert started in records


def test_every_library_logs_json_lines_at_the_services_level() -> None:
    """asyncio's and other libraries' lines were plain text, and a warning came at any NER_LOG_LEVEL."""
    script = (
        "import logging, logging.config, warnings; from api.logs import log_config\n"
        "logging.config.dictConfig(log_config('error')); logging.captureWarnings(True)\n"
        "logging.getLogger('asyncio').error('Task exception was never retrieved')\n"
        "logging.getLogger('asyncio').info('not at level error'); warnings.warn('not at level error either')\n"
        "logging.getLogger('ner').warning('nor this')"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert [json.loads(line) for line in run.stderr.splitlines()] == [
        {"event": "log", "level": "error", "logger": "asyncio", "message": "Task exception was never retrieved"}
    ]


def test_offsets_in_utf16_units_and_utf8_bytes_for_other_languages_strings(client: httpx.Client) -> None:
    """Offsets were code points only: JavaScript's text.slice(start, end) read every entity after an emoji
    one unit early ("\\ude00 Angela Merk")."""
    text = "😀 𝐀 John Smith visited Zürich on Monday."
    body = {"text": text, "tokens": True, "nbest": 2}
    plain = tag(client, **body).json()["results"][0]
    assert plain["entities"], plain
    units = text.encode("utf-16-le")
    for unit, cut in (
        ("utf16", lambda s, e: units[2 * s : 2 * e].decode("utf-16-le")),
        ("utf8", lambda s, e: text.encode()[s:e].decode()),
    ):
        result = tag(client, **body, offsets=unit).json()["results"][0]
        spans = [*result["entities"], *result["tokens"], *(e for a in result["nbest"] for e in a["entities"])]
        assert all(cut(span["start"], span["end"]) == span["text"] for span in spans), (unit, result)
        assert [e["text"] for e in result["entities"]] == [e["text"] for e in plain["entities"]]
        assert result["entities"][0]["start"] > plain["entities"][0]["start"]  # moved, not left as it was
    ascii_text = tag(client, text="John Smith visited Berlin.", offsets="utf16").json()["results"][0]
    assert ascii_text == tag(client, text="John Smith visited Berlin.").json()["results"][0]
    refused = tag(client, text=text, offsets="bytes")
    assert refused.status_code == 422 and "offsets" in refused.json()["error"]["message"]


def test_capitals_restored_on_request_in_text_that_mixes_cases(client: httpx.Client) -> None:
    """Asked to restore capitals, chat is also cut into tokens and sentences as text in one case is."""
    chat, lower = "Angela merkel met mr. smith in paris. he left.", "angela merkel met mr. smith in paris. he left."

    def spans(text: str, **options: object) -> list[tuple]:
        return [
            (e["start"], e["end"], e["label"])
            for e in tag(client, text=text, **options).json()["results"][0]["entities"]
        ]

    def tokens(text: str, **options: object) -> list[tuple]:
        result = tag(client, text=text, tokens=True, **options).json()["results"][0]
        return [(t["start"], t["end"], t["tag"]) for t in result["tokens"]]

    assert spans(chat, capitals="restore") == spans(lower) != spans(chat)
    assert tokens(chat, capitals="restore") == tokens(lower) != tokens(chat)
    assert spans(lower, capitals="as_written") != spans(lower)
    assert typing.get_args(TagRequest.model_fields["capitals"].annotation) == CAPITALS  # the CLI's choices
    refused = tag(client, text=chat, capitals="always")
    assert refused.status_code == 422 and "capitals" in refused.json()["error"]["message"]


def test_markup_is_read_as_text_and_every_offset_points_into_the_text_sent(client: httpx.Client) -> None:
    """``"markup": "html"``: tagged as the page's text, its entities, tokens and n-best in the page's own
    offsets, in each unit; ``text`` is what was read there (``&amp;`` as ``&``)."""
    page = "<p>😀 <b>John Smith</b> visited <i>Berlin</i> on Monday.</p><p>Maria Garcia works for Siemens &amp; Co.</p>"
    read = "😀 John Smith visited Berlin on Monday.\n\nMaria Garcia works for Siemens & Co."
    body = {"tokens": True, "nbest": 2}
    as_text = tag(client, text=read, **body).json()["results"][0]
    assert as_text["entities"]
    units = page.encode("utf-16-le")
    for unit, cut in (
        ("code_points", lambda s, e: page[s:e]),
        ("utf16", lambda s, e: units[2 * s : 2 * e].decode("utf-16-le")),
    ):
        result = tag(client, text=page, markup="html", offsets=unit, **body).json()["results"][0]
        for key in ("entities", "tokens"):
            assert [e["text"] for e in result[key]] == [e["text"] for e in as_text[key]]
        spans = [*result["entities"], *result["tokens"], *(e for a in result["nbest"] for e in a["entities"])]
        assert all(read_markup(cut(s["start"], s["end"]), "html").text == s["text"] for s in spans), result
    assert tag(client, text=page, markup="xml").status_code == 422
    too_many = tag(client, text="<b>" * 700 + "x", markup="html")  # 2,101 characters sent, 1 read
    assert too_many.status_code == 422 and too_many.json()["error"]["type"] == "text_too_long"


def test_a_library_line_with_a_traceback_is_one_line_of_json() -> None:
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        record = logging.LogRecord("ner.dictionary", logging.WARNING, __file__, 1, "read %s", ("a\nb",), sys.exc_info())
    line = JsonLines().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["event"] == "log" and parsed["level"] == "warning" and parsed["logger"] == "ner.dictionary"
    assert parsed["message"] == "read a\nb" and "ValueError: bad\nvalue" in parsed["traceback"]


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_the_backend_setting_reaches_every_model(tiny_model: Path, tiny_zh_model: Path, backend: str) -> None:
    from api.app import ServiceState
    from api.settings import Settings

    state = ServiceState(Settings(models=[str(tiny_model), str(tiny_zh_model)], backend=backend))
    state.load_models()
    assert state.router is not None and not state.load_errors
    assert [t.backend.name for t in state.router.taggers.values()] == [backend, backend]


def test_a_model_that_lang_auto_sends_no_text_to_is_logged_at_start(
    tiny_zh_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two models for one script: the second got no text under lang auto, and nothing said so."""
    from api.app import ServiceState
    from api.settings import Settings

    resume = shipped_model("zh-resume")
    with caplog.at_level("INFO", logger=SERVICE_LOGGER):
        ServiceState(Settings(models=[str(tiny_zh_model), str(resume)])).load_models()
    (line,) = [json.loads(r.message) for r in caplog.records if "model_not_routed" in r.message]
    assert line["name"] == "zh-resume" and line["why"].startswith("tiny-zh takes the text of its script")


def test_a_configured_dictionary_with_a_label_the_model_lacks_leaves_its_model_out(
    tiny_model: Path, tmp_path: Path
) -> None:
    """Not a 422 on every request, none of which sent a dictionary; nor the model served without it."""
    from api.app import ServiceState
    from api.settings import Settings

    terms = tmp_path / "terms.tsv"
    terms.write_text("Acme Corp\tCOMPANY\n")
    state = ServiceState(Settings(models=[str(tiny_model)], dictionaries=f"tiny-en={terms}"))
    state.load_models()
    assert list(state.load_errors) == [str(tiny_model), "router"] and "COMPANY" in state.load_errors[str(tiny_model)]
    assert not state.dictionary_files and state.router is None


def test_the_documented_example_answer_is_the_shipped_models_answer() -> None:
    from api.schemas import EXAMPLE_TEXT, TagResponse
    from ner import Tagger

    from .conftest import shipped_model

    (example,) = TagResponse.model_config["json_schema_extra"]["examples"]  # type: ignore[index]
    tagger = Tagger.load(shipped_model("en-conll03"))
    assert example["model"] == tagger.name
    assert example["results"] == [{"entities": [e.to_dict() for e in tagger.tag(EXAMPLE_TEXT)]}]


def test_under_lang_auto_a_dictionary_serves_every_model_a_text_may_go_to() -> None:
    """Whether a request's dictionary is accepted does not hang on which models its texts went to: each
    model takes the entries of its labels, and a label of none of them is refused."""
    import asyncio

    from api.app import ServiceState
    from api.settings import Settings
    from ner.dictionary import DictionaryError

    from .conftest import shipped_model

    state = ServiceState(Settings(models=[str(shipped_model("en-conll03")), str(shipped_model("zh-msra"))]))
    state.load_models()
    assert state.router is not None
    route = state.router.route(["Foo Bar went home.", "李明在北京大学工作。"])
    entries = {"Foo Bar": "MISC", "北京大学": "O"}
    built = asyncio.run(state.dictionaries(route, entries, False))
    assert built["en-conll03"].entries == entries and built["zh-msra"].entries == {"北京大学": "O"}
    with pytest.raises(DictionaryError, match="lang auto.*NAME"):
        asyncio.run(state.dictionaries(route, {"Foo": "NAME"}, False))
    # A dictionary kept when the request is checked and dropped before it is used is built filtered too.
    chinese = state.router.taggers["zh-msra"]
    chinese._dictionaries.clear()
    chinese.built_dictionary = lambda key: True  # type: ignore[method-assign]
    assert asyncio.run(state.dictionaries(route, entries, False))["zh-msra"].entries == {"北京大学": "O"}
    del chinese.built_dictionary
    explicit = state.router.route(["李明在北京大学工作。"], model="zh-msra")
    with pytest.raises(DictionaryError, match="MISC"):
        asyncio.run(state.dictionaries(explicit, entries, False))


def test_a_log_level_is_one_of_the_levels_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    """Else the service failed at start-up in a trace of uvicorn's."""
    from pydantic import ValidationError

    from api.settings import Settings

    monkeypatch.setenv("NER_LOG_LEVEL", "DEBUG")
    assert Settings(models=[]).log_level == "debug"
    monkeypatch.setenv("NER_LOG_LEVEL", "verbose")
    with pytest.raises(ValidationError, match="log_level"):
        Settings(models=[])


def test_min_score_filters_on_the_score_as_shown() -> None:
    """An entity shown with score 0.5 is kept by min_score 0.5, whichever way its probability was rounded."""
    from api.routes import _result
    from api.schemas import TagRequest
    from ner.tagger import Analysis, Entity

    analysis = Analysis([Entity(0, 3, "PER", "Ann", 0.49996), Entity(8, 12, "LOC", "Lima", 0.49994)])
    shown = _result(analysis, TagRequest(text="Ann met Lima", min_score=0.5), "Ann met Lima")["entities"]
    assert [(e["text"], e["score"]) for e in shown] == [("Ann", 0.5)]


def test_serve_refuses_what_would_leave_it_never_ready(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Each of these was only logged by a service that then answered 503 for ever."""
    from api.main import serve

    monkeypatch.setenv("NER_PORT", "8000")  # restored after: serve sets its flags' variables
    twin = tmp_path / "with, a comma"  # a path holding a comma is one path
    shutil.copytree(tiny_model, twin)
    monkeypatch.setenv("NER_DEFAULT_MODEL", "nope")
    monkeypatch.setenv("NER_DICTIONARIES", f"nope={tmp_path},tiny-en={tmp_path}")
    monkeypatch.setitem(sys.modules, "torch", None)  # as where torch is not installed
    bad = tmp_path / "terms.tsv"
    bad.write_text("Zorblax\tPERSON\n")
    (tmp_path / "terms.tsvx").write_text("Zorblax PER\n")
    assert serve(models=[str(tiny_model), str(twin)], backend="torch") == 2
    assert capsys.readouterr().err.splitlines() == [
        f"ner serve: error: NER_MODELS: {tiny_model} and {twin} are both named 'tiny-en': serve one",
        "ner serve: error: NER_DEFAULT_MODEL: no model named 'nope'; loaded: ['tiny-en']",
        "ner serve: error: NER_DICTIONARIES: no model named 'nope'; loaded: ['tiny-en']",
        f"ner serve: error: NER_DICTIONARIES: {tmp_path} is no file",
        "ner serve: error: --backend: torch is not installed (pip install 'ner-service[train]')",
    ]
    for name, value, message in [
        ("NER_HOST", " ", "NER_HOST: String should have at least 1 character"),  # was every interface
        ("NER_METRICS_PORT", "8000", "the metrics port is the service's, 8000: give NER_METRICS_PORT another"),
        ("NER_BATCH_WAIT_MS", "inf", "NER_BATCH_WAIT_MS: Input should be less than or equal to 1000"),
        ("NER_REQUEST_TIMEOUT_S", "inf", "NER_REQUEST_TIMEOUT_S: Input should be a finite number"),
        ("NER_DICTIONARIES", "a=x.tsv,a=y.tsv", "NER_DICTIONARIES: two files for the model 'a'"),
        # a worker would leave the model out (the labels checked are the model's)
        ("NER_DICTIONARIES", f"tiny-en={bad}", f"NER_DICTIONARIES: {bad}: labels not in the model: ['PERSON']"),
        ("NER_DICTIONARIES", f"tiny-en={bad}x", f"NER_DICTIONARIES: {bad}x: line 1: expected 'phrase<TAB>LABEL'"),
    ]:
        with monkeypatch.context() as patch:
            patch.setenv(name, value)
            assert serve(models=[str(twin)]) == 2, name
            assert message in capsys.readouterr().err, name
    other = renamed(twin, tmp_path / "other", "other-en")
    with monkeypatch.context() as patch:  # one default per language
        patch.setenv("NER_DEFAULT_MODEL", "tiny-en, other-en")
        assert serve(models=[str(twin), str(other)]) == 2
        said = "NER_DEFAULT_MODEL: 'tiny-en' and 'other-en' are both for language 'en': name one per language"
        assert said in capsys.readouterr().err
    from api.settings import Settings

    assert Settings(models=json.dumps([str(twin)])).models == [str(twin)]
    assert Settings(default_model=" ").default_model is None  # set but empty: the default


def renamed(model: Path, into: Path, name: str) -> Path:
    """A copy of ``model`` named ``name``, its manifest's checksum of config.json made again."""
    shutil.copytree(model, into)
    config = json.loads((into / "config.json").read_text())
    (into / "config.json").write_text(json.dumps({**config, "name": name}))
    reseal(into, "config.json")
    return into


def test_serve_names_each_bad_setting_in_one_line_and_never_shows_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from api.main import serve

    monkeypatch.setenv("NER_PORT", "8000")  # set here so that it is restored: serve sets its flags' variables
    monkeypatch.setenv("NER_API_KEYS", " , ")  # an empty Secret would have opened the API
    monkeypatch.setenv("NER_MAX_TOKENS", "many")
    monkeypatch.setenv("NER_MAX_TOKEN", "5")  # a typo: warned of, with the name it may mean
    monkeypatch.setenv("ner_max_nbest", "3")  # a setting in lower case: read as such, not warned of
    assert serve(port=70000) == 2
    assert capsys.readouterr().err.splitlines() == [
        "ner serve: warning: NER_MAX_TOKEN is no setting and is ignored; did you mean NER_MAX_TOKENS?",
        "ner serve: error: --port: Input should be less than or equal to 65535 (given '70000')",
        "ner serve: error: NER_API_KEYS: set but holds no key: give id:key pairs, or unset it for an open API",
        "ner serve: error: NER_MAX_TOKENS: Input should be a valid integer, unable to parse string as an integer"
        " (given 'many')",
    ]
    monkeypatch.setenv("NER_API_KEYS", "default:s3cret-a")
    monkeypatch.setenv("NER_API_KEY", "s3cret-b")
    monkeypatch.setenv("NER_MAX_TOKENS", "100")
    monkeypatch.delenv("NER_MAX_TOKEN")
    monkeypatch.setenv("NER_PORT", "8000")
    assert serve() == 2
    err = capsys.readouterr().err
    assert "key id 'default'" in err and "s3cret" not in err and len(err.splitlines()) == 1
    monkeypatch.delenv("NER_API_KEYS")
    monkeypatch.delenv("NER_API_KEY")
    monkeypatch.setenv("NER_MODELS", "/nowhere")  # were the check to let it through, serve would stop there
    monkeypatch.setenv("NER_API_KEYZ", "main:s3cret-c")  # typos that would have served an open API
    monkeypatch.setenv("NER_API_KY", "main:s3cret-d")
    monkeypatch.setenv("NER_API_TOKEN", "s3cret-e")  # a credential by another name
    monkeypatch.setenv("NER_API_URL", "http://x")  # no typo of a key: a warning
    assert serve() == 2
    assert capsys.readouterr().err.splitlines() == [
        "ner serve: error: NER_API_KEYZ is no setting: it would leave the API open; did you mean NER_API_KEY?",
        "ner serve: error: NER_API_KY is no setting: it would leave the API open; did you mean NER_API_KEY?",
        "ner serve: error: NER_API_TOKEN is no setting: it would leave the API open; did you mean NER_API_KEY?",
        "ner serve: warning: NER_API_URL is no setting and is ignored; did you mean NER_API_KEY?",
    ]
    monkeypatch.setenv("NER_API_KEY", "s3cret-b")  # with a key set, the API is not open: a warning
    monkeypatch.delenv("NER_API_KY")
    monkeypatch.delenv("NER_API_TOKEN")
    monkeypatch.delenv("NER_API_URL")
    assert serve() == 2  # no usable model
    assert capsys.readouterr().err.splitlines()[0] == (
        "ner serve: warning: NER_API_KEYZ is no setting and is ignored; did you mean NER_API_KEY?"
    )


def test_a_list_of_texts_past_any_allowed_length_is_refused_before_its_texts_are_checked(client: httpx.Client) -> None:
    from api.schemas import MAX_TEXTS
    from api.settings import Settings

    refused = tag(client, texts=["a"] * (MAX_TEXTS + 1))
    assert refused.status_code == 422  # answered as a list within that length but past the configured one is
    assert refused.json()["error"] | {"request_id": None} == {
        "type": "too_many_texts",
        "message": f"{MAX_TEXTS + 1} texts; at most {LIMITS['max_texts']} per request",
        "limit": "max_texts",
        "request_id": None,
    }
    with pytest.raises(ValueError, match="less than or equal to 10000"):
        Settings(models=[], max_texts=MAX_TEXTS + 1)


def test_a_model_that_runs_out_of_memory_loading_is_named_and_the_others_served(
    tiny_model: Path, tiny_zh_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A MemoryError logged as an empty string; a safetensors panic (a BaseException) killed the loading
    thread, leaving the worker "loading" for ever."""
    from api import service as service_module
    from api.settings import Settings

    class Panic(BaseException):  # as pyo3's PanicException is
        pass

    loaded = service_module.Tagger.load

    def load(path: str, **kwargs: object) -> object:
        if path == str(tiny_zh_model):
            raise Panic()
        if path == "/a/model":
            raise MemoryError()
        return loaded(path, **kwargs)

    monkeypatch.setattr(service_module.Tagger, "load", load)
    state = service_module.ServiceState(Settings(models=[str(tiny_model), str(tiny_zh_model), "/a/model"]))
    state.load_models()
    assert state.load_errors == {str(tiny_zh_model): "Panic", "/a/model": "out of memory"}
    assert state.router is not None and list(state.router.taggers) == ["tiny-en"]
