"""Several models in one service over HTTP: Chinese, mixed text, model selection and detection by script.

The routing itself is tested in process in test_router.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .server import running_server, wait_for_log

MIXED = "李明在北京工作。John Smith visited Berlin on Monday. 王芳是北京大学的教授。"


@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("multi") / "server.log"


@pytest.fixture(scope="module")
def client(tiny_model: Path, tiny_zh_model: Path, server_log: Path) -> Iterator[httpx.Client]:
    with running_server([tiny_model, tiny_zh_model], server_log) as url, httpx.Client(base_url=url, timeout=30) as c:
        yield c


def entities(response: httpx.Response, index: int = 0) -> set[tuple[str, str]]:
    assert response.status_code == 200, response.text
    return {(e["text"], e["label"]) for e in response.json()["results"][index]["entities"]}


def test_models_lists_both(client: httpx.Client) -> None:
    body = client.get("/models").json()
    assert {m["name"]: m["language"] for m in body["models"]} == {"tiny-en": "en", "tiny-zh": "zh"}
    assert body["default"] == "tiny-en"
    assert body["scripts"] == {"other": "tiny-en", "cjk": "tiny-zh"}  # which model lang auto sends each script to


def test_chinese_text_goes_to_the_chinese_model(client: httpx.Client, server_log: Path) -> None:
    response = client.post("/tag", json={"text": "李明在北京工作。"}, headers={"X-Request-Id": "routed-zh"})
    assert {("李明", "PER"), ("北京", "LOC")} <= entities(response)
    assert response.json()["model"] == "tiny-zh"  # the model that read it
    wait_for_log(server_log, '"routed-zh"', 10)  # a request is logged once its answer is sent: maybe after it is read
    logged = [line for line in server_log.read_text().splitlines() if '"routed-zh"' in line]
    assert [json.loads(line)["model"] for line in logged] == ["tiny-zh"]  # so in the log and the metrics too


def test_mixed_text_uses_both_models_with_exact_offsets(client: httpx.Client) -> None:
    response = client.post("/tag", json={"text": MIXED, "tokens": True, "nbest": 2})
    found = entities(response)
    assert {("李明", "PER"), ("北京", "LOC"), ("John Smith", "PER"), ("Berlin", "LOC"), ("王芳", "PER")} <= found
    result = response.json()["results"][0]
    for item in result["entities"] + result["tokens"]:
        assert MIXED[item["start"] : item["end"]] == item["text"]
    starts = [t["start"] for t in result["tokens"]]
    assert starts == sorted(starts)
    assert result["nbest"][0]["entities"] == [{k: v for k, v in e.items() if k != "score"} for e in result["entities"]]


def test_explicit_model_and_language(client: httpx.Client) -> None:
    forced = client.post("/tag", json={"text": "李明在北京工作。", "model": "tiny-zh"})
    assert ("北京", "LOC") in entities(forced) and forced.json()["model"] == "tiny-zh"
    by_language = client.post("/tag", json={"text": "李明在北京工作。", "lang": "zh"})
    assert by_language.json()["model"] == "tiny-zh"
    english_only = client.post("/tag", json={"text": "John Smith visited Berlin.", "lang": "en"})
    assert english_only.json()["model"] == "tiny-en" and ("Berlin", "LOC") in entities(english_only)


def test_texts_of_both_languages_in_one_request(client: httpx.Client) -> None:
    response = client.post("/tag", json={"texts": ["王芳访问了上海。", "Ana Silva visited Lima on Monday."]})
    assert ("上海", "LOC") in entities(response, 0)
    assert ("Lima", "LOC") in entities(response, 1)
