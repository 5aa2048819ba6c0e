"""Request bodies: orjson first, the standard library for what orjson refuses; the same values either way."""

from __future__ import annotations

import asyncio
import json

import pytest

import api.parsing
from api.parsing import FastJSONRequest, FastJSONRoute
from api.routes import router


def parse(body: bytes) -> object:
    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/tag", "headers": [], "query_string": b""}
    return asyncio.run(FastJSONRequest(scope, receive).json())


@pytest.mark.parametrize(
    ("body", "by_orjson"),
    [
        (b'{"text": "Acme Corp", "dictionary": {"Acme Corp": "ORG"}}', True),
        ('{"text": "北京"}'.encode(), True),
        (b'{"text": "a \\ud800 b"}', False),  # a lone surrogate: json only
        (b'{"min_score": NaN}', False),
        (json.dumps({"text": "x"}).encode("utf-16"), False),
    ],
)
def test_bodies_parse_as_the_standard_library_parses_them(
    monkeypatch: pytest.MonkeyPatch, body: bytes, by_orjson: bool
) -> None:
    parsed_by_orjson = []
    loads = api.parsing.orjson.loads

    def spy(data: bytes) -> object:
        value = loads(data)
        parsed_by_orjson.append(value)
        return value

    monkeypatch.setattr(api.parsing.orjson, "loads", spy)
    got = parse(body)
    expected = json.loads(body)
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)  # NaN != NaN; dumps agree
    assert bool(parsed_by_orjson) == by_orjson


def test_invalid_json_still_fails_as_json_fails() -> None:
    with pytest.raises(json.JSONDecodeError):
        parse(b"{not json")


def test_every_route_of_the_service_reads_bodies_this_way() -> None:
    assert router.routes and all(isinstance(route, FastJSONRoute) for route in router.routes)


def test_an_integer_beyond_64_bits_comes_as_a_float() -> None:
    """orjson's one difference from ``json`` here; the API refuses such an ``nbest`` as too large either way."""
    assert parse(b'{"nbest": 100000000000000000000}') == {"nbest": 1e20}
