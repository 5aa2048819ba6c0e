"""The service under a reverse proxy's path prefix (``NER_ROOT_PATH``), over real HTTP: the requests of a
proxy that strips the prefix and of one that keeps it (no proxy runs here: the test sends what each would
send), the page, the API's docs and schema, metrics and the access log."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from api.settings import Settings

from .server import Server, free_port, serving

TEXT = {"text": "John Smith visited Berlin on Monday."}


METRICS_PORT = free_port()


@pytest.fixture(scope="module")
def server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Server:
    log = tmp_path_factory.mktemp("root-path") / "server.log"
    with serving([tiny_model], log, root_path="/ner/", metrics_port=METRICS_PORT) as running:
        yield running


def test_both_kinds_of_proxy_reach_every_route(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for prefix in ("", "/ner"):  # stripped, kept
            assert client.get(f"{prefix}/ready").status_code == 200
            assert client.get(f"{prefix}/models").status_code == 200
            assert client.get(f"{prefix}/").status_code == 200
        stripped, kept = (client.post(f"{prefix}/tag", json=TEXT) for prefix in ("", "/ner"))
        assert stripped.status_code == kept.status_code == 200 and stripped.json() == kept.json()
        page = client.get("/ner?x=1")
        assert page.status_code == 308 and page.headers["location"] == "/ner/?x=1"
        assert page.headers["x-content-type-options"] == "nosniff"


def test_the_docs_read_the_schema_under_the_prefix_and_the_schema_names_it(server: Server) -> None:
    """/docs fetched /openapi.json from the host's root, and its Try-it-out posted to /tag there."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert "'/ner/openapi.json'" in client.get("/ner/docs").text
        assert client.get("/ner/openapi.json").json()["servers"] == [{"url": "/ner"}]


def test_metrics_and_the_log_name_the_routes_under_the_prefix(server: Server) -> None:
    """Every request was counted and logged as endpoint "other", and each probe logged."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for prefix in ("", "/ner"):
            assert client.post(f"{prefix}/tag", json=TEXT, headers={"x-request-id": f"rooted{len(prefix)}"}).is_success
            assert client.get(f"{prefix}/health").status_code == 200
        metrics = httpx.get(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=30).text
    counted = re.search(r'ner_requests_total\{endpoint="/tag",model="tiny-en",status="200"\} (\d+)', metrics)
    assert counted and float(counted.group(1)) >= 2
    lines = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "request"]
    assert {line["path"] for line in requests if line["request_id"].startswith("rooted")} == {"/tag"}
    assert not [line for line in requests if line["path"] in ("/health", "other")]


@pytest.mark.parametrize(
    ("given", "kept"), [("/ner", "/ner"), ("ner/", "/ner"), ("/a/b/", "/a/b"), ("/", ""), ("", "")]
)
def test_a_root_path_is_read_as_one_prefix(given: str, kept: str) -> None:
    assert Settings(models=[], root_path=given).root_path == kept


@pytest.mark.parametrize("given", ["/ner?x", "/a b", "/a//b", "/ner#", "/n%2Fer"])
def test_a_root_path_that_is_no_path_is_refused(given: str) -> None:
    with pytest.raises(ValidationError, match="give a path such as /ner"):
        Settings(models=[], root_path=given)
