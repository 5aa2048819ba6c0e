"""What browsers and their pages need of the service, over real HTTP: the page's caching, compressed answers,
and calls from pages of other origins (CORS)."""

from __future__ import annotations

import asyncio
import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from api import settings as settings_module
from api.settings import Settings

from .server import running_server

LONG_TEXT = "John Smith visited Berlin on Monday. " * 40
APP = "https://app.example.com"


@dataclass
class Answer:
    status_code: int
    headers: httpx.Headers
    content: bytes  # as it came over the wire, compressed or not

    def json(self) -> object:
        return json.loads(self.content)


def raw(url: str, method: str, path: str, **kwargs: object) -> Answer:
    """An answer as it came over the wire: httpx would ask for gzip and undo it."""
    headers = {"accept-encoding": "identity", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    with (
        httpx.Client(base_url=url, timeout=30) as client,
        client.stream(method, path, headers=headers, **kwargs) as answer,  # type: ignore[arg-type]
    ):
        return Answer(answer.status_code, answer.headers, b"".join(answer.iter_raw()))


@pytest.fixture(scope="module")
def server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    log = tmp_path_factory.mktemp("browser") / "server.log"
    with running_server([tiny_model], log, cors_origins=f"{APP}, http://localhost:3000", max_body_bytes=5000) as url:
        yield url


def test_the_page_is_asked_again_each_time_and_answered_304_while_unchanged(server: str) -> None:
    first = raw(server, "GET", "/")
    assert first.status_code == 200 and first.headers["cache-control"] == "no-cache"
    tag = first.headers["etag"]
    again = raw(server, "GET", "/", headers={"if-none-match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    assert raw(server, "GET", "/", headers={"if-none-match": 'W/"an-older-page"'}).status_code == 200
    zipped = raw(server, "GET", "/", headers={"accept-encoding": "gzip", "if-none-match": tag})
    assert zipped.status_code == 304  # the same page, whatever its encoding
    assert "Accept-Encoding" in zipped.headers["vary"] and zipped.headers["content-security-policy"]
    opaque = tag.removeprefix("W/")
    for asked in (opaque, f'"other", {tag}', "*"):  # weak comparison: with or without W/, in a list
        assert raw(server, "GET", "/", headers={"if-none-match": asked}).status_code == 304, asked


def test_a_304_leaves_the_connection_fit_for_the_next_request(tiny_model: Path, tmp_path: Path) -> None:
    """At NER_GZIP_MIN_BYTES 0 the 304's empty body was gzipped into 20 bytes the next answer began with: 1 is
    the least now, and a 304 is never compressed."""
    with (
        running_server([tiny_model], tmp_path / "log", gzip_min_bytes=1) as url,
        httpx.Client(base_url=url, timeout=30) as client,  # asks for gzip
    ):
        tag = client.get("/").headers["etag"]
        assert client.get("/", headers={"if-none-match": tag}).status_code == 304
        assert client.get("/health").json() == {"status": "ok"}  # the same connection
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        Settings(models=[], gzip_min_bytes=0)


def test_large_answers_are_gzipped_for_clients_that_ask_and_read_the_same(server: str) -> None:
    body = {"text": LONG_TEXT, "tokens": True}
    plain = raw(server, "POST", "/tag", json=body)
    zipped = raw(server, "POST", "/tag", json=body, headers={"accept-encoding": "gzip"})
    assert plain.status_code == zipped.status_code == 200
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["vary"]
    assert len(zipped.content) < len(plain.content) / 4
    assert json.loads(gzip.decompress(zipped.content)) == plain.json()
    small = raw(server, "GET", "/health", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in small.headers  # under NER_GZIP_MIN_BYTES: not worth it


def test_no_compression_when_turned_off(tiny_model: Path, tmp_path: Path) -> None:
    with running_server([tiny_model], tmp_path / "log", gzip_min_bytes="") as url:
        answer = raw(url, "POST", "/tag", json={"text": LONG_TEXT}, headers={"accept-encoding": "gzip"})
        assert answer.status_code == 200 and "content-encoding" not in answer.headers


def test_a_page_of_an_allowed_origin_may_call_the_api(server: str) -> None:
    preflight = raw(
        server,
        "OPTIONS",
        "/tag",
        headers={
            "origin": APP,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == APP
    allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    answer = raw(server, "POST", "/tag", json={"text": "John Smith"}, headers={"origin": APP})
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == APP
    exposed = answer.headers["access-control-expose-headers"].lower()
    assert "retry-after" in exposed and "x-request-id" in exposed
    # A refusal by the limits reaches the page readable too, not as a network error.
    too_large = raw(server, "POST", "/tag", json={"text": "a" * 6000}, headers={"origin": APP})
    assert too_large.status_code == 413 and too_large.headers["access-control-allow-origin"] == APP


def test_a_page_of_another_origin_is_refused(server: str, tiny_model: Path, tmp_path: Path) -> None:
    headers = {"origin": "https://elsewhere.example", "access-control-request-method": "POST"}
    preflight = raw(server, "OPTIONS", "/tag", headers=headers)
    assert preflight.status_code == 400 and "access-control-allow-origin" not in preflight.headers
    answer = raw(server, "POST", "/tag", json={"text": "John Smith"}, headers={"origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in answer.headers  # the browser withholds it from that page
    with running_server([tiny_model], tmp_path / "log") as url:  # no NER_CORS_ORIGINS: same origin only
        headers["origin"] = APP
        assert raw(url, "OPTIONS", "/tag", headers=headers).status_code == 405
        answer = raw(url, "POST", "/tag", json={"text": "John Smith"}, headers={"origin": APP})
        assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize(
    "origin",
    [
        *("app.example.com", "https://app.example.com/", "https://a.example/path", "ftp://x", "https://u@a.example"),
        *("https://a.example:abc", "https://a.example:99999", "https://a.example?q", "https://*.example.com"),
        *("https://exa mple.com", "https://a.example;x"),
    ],
)
def test_an_origin_that_is_none_is_refused_at_start(origin: str) -> None:
    with pytest.raises(ValidationError, match="is no origin"):
        Settings(models=[], cors_origins=origin)
    assert Settings(models=[], cors_origins=f" *, {APP} ").cors_origins == ["*", APP]


def test_an_origin_is_kept_as_a_browser_sends_it() -> None:
    """The comparison is exact: an upper-case host or a default port given would never have matched."""
    given = "https://App.Example.com:443, HTTP://localhost:80, http://localhost:3000, http://[::1]:3000"
    assert Settings(models=[], cors_origins=given).cors_origins == [
        APP,
        "http://localhost",
        "http://localhost:3000",
        "http://[::1]:3000",
    ]


def test_an_unexpected_error_reaches_a_page_of_an_allowed_origin_readable() -> None:
    """The 500 is answered outside CORS (api.middleware.RequestContext); a page saw "Failed to fetch"."""
    from api.app import create_app

    app = create_app(Settings(models=[], cors_origins=APP, metrics_port=None))

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)

    async def get_broken() -> httpx.Response:  # no lifespan: no model needed
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/broken", headers={"origin": APP})

    answer = asyncio.run(get_broken())
    assert answer.status_code == 500 and answer.json()["error"]["type"] == "internal_error"
    assert answer.headers["access-control-allow-origin"] == APP


def test_installed_with_pip_no_models_are_looked_for_beside_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model: Path
) -> None:
    """Installed, the folder above ``api`` is site-packages: its ``models/`` is no one's."""
    site = tmp_path / "site-packages"
    (site / "models" / "stray").mkdir(parents=True)
    (site / "models" / "stray" / "manifest.json").write_text("{}")
    monkeypatch.delenv("NER_MODELS_DIR", raising=False)
    monkeypatch.setattr(settings_module, "CHECKOUT", site)
    assert settings_module.default_models() == []
    (site / "pyproject.toml").write_text("")  # a checkout
    assert settings_module.default_models() == [str(site / "models" / "stray")]
    monkeypatch.setenv("NER_MODELS_DIR", str(tiny_model.parent))
    assert str(tiny_model) in settings_module.default_models()
