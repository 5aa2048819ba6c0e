"""Request bodies: orjson first, the standard library for what orjson refuses; the same values either way."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import httpx
import orjson
import pytest
from fastapi import APIRouter, Body, FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st

import api.parsing
from api.parsing import FastJSONRequest, FastJSONRoute, RepeatedValues
from api.routes import router
from ner.dictionary import entries_bytes


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


def test_an_integer_too_long_for_python_fails_as_invalid_json() -> None:
    """Neither orjson nor ``json`` reads an integer of 5,000 digits (Python's limit is 4,300)."""
    with pytest.raises(json.JSONDecodeError, match="digits"):
        parse(b'{"nbest": 1' + b"0" * 5000 + b"}")


def test_an_integer_beyond_64_bits_comes_as_a_float() -> None:
    """orjson's one difference from ``json`` here; the API refuses such an ``nbest`` as too large either way."""
    assert parse(b'{"nbest": 100000000000000000000}') == {"nbest": 1e20}


# -- a large value repeated byte for byte ------------------------------------------------------------

PHRASES = {f"Company number {i}": "ORG" for i in range(100)}  # about 2.6 KB of JSON
RAW = json.dumps(PHRASES).encode()


def counting_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the byte strings orjson parses from now on."""
    sizes: list[int] = []
    loads = api.parsing.orjson.loads

    def spy(data: bytes) -> object:
        sizes.append(len(data))
        return loads(data)

    monkeypatch.setattr(api.parsing.orjson, "loads", spy)
    return sizes


def test_a_repeated_value_is_parsed_once_and_comes_back_as_the_same_object(monkeypatch: pytest.MonkeyPatch) -> None:
    repeated = RepeatedValues("dictionary")
    sizes = counting_loads(monkeypatch)
    first = repeated.loads(b'{"text": "one", "dictionary": ' + RAW + b"}")
    assert first == {"text": "one", "dictionary": PHRASES}
    assert sorted(sizes)[-1] == len(RAW) and sorted(sizes)[-2] < 100  # the value, then what is around it
    sizes.clear()
    second = repeated.loads(b'{"dictionary" :\n' + RAW + b', "text": "two", "nbest": 2}')
    assert second == {"dictionary": PHRASES, "text": "two", "nbest": 2}
    assert second["dictionary"] is first["dictionary"]
    assert max(sizes) < 100  # only the body around the dictionary was parsed


@pytest.mark.parametrize(
    "value",
    [
        {f"Company {i} {{Ltd}}": "ORG" for i in range(100)},  # a closing brace inside a phrase
        {"nested": {f"Company {i}": "ORG" for i in range(100)}},
        [[f"Company {i}", "ORG"] for i in range(100)],
    ],
)
def test_values_whose_end_is_not_the_first_closing_bracket_parse_whole_and_are_not_remembered(
    monkeypatch: pytest.MonkeyPatch, value: object
) -> None:
    repeated = RepeatedValues("dictionary")
    body = orjson.dumps({"text": "x", "dictionary": value})
    sizes = counting_loads(monkeypatch)
    assert repeated.loads(body) == {"text": "x", "dictionary": value}
    assert len(body) in sizes and sum(sizes) < 2 * len(body) + 200  # at most twice the body, and a little
    assert not repeated._values


def test_small_values_and_other_fields_are_not_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    repeated = RepeatedValues("dictionary")
    small = b'{"text": "a", "dictionary": {"Acme": "ORG"}}'
    other = b'{"text": "a", "phrases": ' + RAW + b"}"
    for body in (small, other):
        repeated.loads(body)
    sizes = counting_loads(monkeypatch)
    for body in (small, other):
        assert repeated.loads(body) == json.loads(body)
    assert sizes == [len(small), len(other)]


def bodies_around(raw: bytes) -> list[bytes]:
    """Bodies that hold ``raw`` where it is not the top-level dictionary, or that are not valid JSON."""
    escaped = json.dumps(json.dumps({"dictionary": json.loads(raw)})).encode()  # the same JSON inside a string
    return [
        b'{"meta": {"dictionary": ' + raw + b'}, "dictionary": {"x": "Y"}}',
        b'{"dictionary": ' + raw + b', "dictionary": {"x": "Y"}}',  # duplicate keys: the last one wins
        b'{"a\\"dictionary": ' + raw + b', "text": "t"}',
        b'{"text": ' + escaped + b"}",
        b'[{"dictionary": ' + raw + b"}]",
        b'{"texts": ["dictionary", {"dictionary": ' + raw + b"}]}",
        b'{"dictionary": ' + raw + b"",  # cut short
        b'{"dictionary": ' + raw + b', "text": }',
        b'{"dictionary": ' + raw[:-1] + b', "more": "x"}}',  # the remembered bytes and then some
        b'{"texts": ' + json.dumps(["dictionary"] * 20).encode() + b', "dictionary": ' + raw + b"}",
    ]


@pytest.mark.parametrize("number", range(10))
def test_a_remembered_value_is_used_only_where_it_is_the_top_level_field(number: int) -> None:
    repeated = RepeatedValues("dictionary")
    repeated.loads(b'{"dictionary": ' + RAW + b"}")
    body = bodies_around(RAW)[number]
    try:
        expected = orjson.loads(body)
    except orjson.JSONDecodeError:
        with pytest.raises(orjson.JSONDecodeError):
            repeated.loads(body)
        return
    assert repeated.loads(body) == expected


@given(
    before=st.dictionaries(st.sampled_from(["text", "model", "dictionary ", "x"]), st.text(max_size=20), max_size=3),
    after=st.dictionaries(st.sampled_from(["nbest", "lang", "tokens"]), st.integers() | st.text(), max_size=3),
    space=st.sampled_from(["", " ", "\n\t "]),
    phrases=st.dictionaries(st.text(min_size=1, max_size=30), st.sampled_from(["ORG", "PER", "O"]), max_size=60),
)
@settings(max_examples=60, deadline=None)
def test_bodies_with_a_remembered_dictionary_parse_as_orjson_parses_them(
    before: dict, after: dict, space: str, phrases: dict
) -> None:
    repeated = RepeatedValues("dictionary", min_bytes=0)
    raw = orjson.dumps(phrases | PHRASES)
    dictionaries = []
    for text in ("first", "second"):  # the second is parsed around the remembered value
        head = json.dumps(before | {"text": text}, ensure_ascii=False)[:-1].encode()
        tail = json.dumps(after).encode()[1:]
        separator = space.encode() + b":" + space.encode()
        body = head + b', "dictionary"' + separator + raw + (b", " + tail if after else b"}")
        parsed = repeated.loads(body)
        assert parsed == orjson.loads(body)
        dictionaries.append(parsed["dictionary"])
    if raw.count(b"}") == 1:  # else its end is not its first closing brace, and it is parsed whole each time
        assert dictionaries[0] is dictionaries[1]


@pytest.mark.parametrize(("capacity", "max_bytes", "kept"), [(2, 40_000, 2), (8, 40_000, 2), (8, 10_000, 0)])
def test_remembered_values_are_bounded_in_number_and_bytes(capacity: int, max_bytes: int, kept: int) -> None:
    repeated = RepeatedValues("dictionary", capacity=capacity, max_bytes=max_bytes)
    # about 1.9 KB each, counted as 14.9 KB: what Python holds for the parsed object besides
    values = [{f"Company {i} number {j}": "ORG" for j in range(60)} for i in range(3)]
    for value in values + values[-1:]:  # the last one twice: counted once
        repeated.loads(orjson.dumps({"text": "x", "dictionary": value}))
        repeated.loads(orjson.dumps({"meta": {"dictionary": value}, "dictionary": value}))  # not used where it is
    assert [orjson.loads(raw) for raw in repeated._values] == values[len(values) - kept :]
    assert repeated._values.size == sum(len(raw) + entries_bytes(orjson.loads(raw)) for raw in repeated._values)


@pytest.mark.parametrize("value", [list(range(2000)), {f"Company {i}": i for i in range(500)}, [{}] * 1000])
def test_only_objects_of_strings_are_remembered(value: object) -> None:
    """What is no dictionary (sent before any check, the API key's included) is parsed, not remembered."""
    repeated = RepeatedValues("dictionary")
    body = orjson.dumps({"text": "x", "dictionary": value})
    assert repeated.loads(body) == {"text": "x", "dictionary": value} and not repeated._values


def test_a_route_parses_a_repeated_dictionary_once(monkeypatch: pytest.MonkeyPatch) -> None:
    echo = APIRouter(route_class=FastJSONRoute)

    @echo.post("/echo")
    async def count(body: Annotated[dict, Body()]) -> list:
        return [body["text"], len(body["dictionary"])]

    app = FastAPI()
    app.include_router(echo)
    sizes = counting_loads(monkeypatch)

    async def post_three_times() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            for text in ("one", "two", "three"):
                body = b'{"text": "' + text.encode() + b'", "dictionary": ' + RAW + b"}"
                response = await client.post("/echo", content=body, headers={"content-type": "application/json"})
                assert response.json() == [text, len(PHRASES)]

    asyncio.run(post_three_times())
    assert sizes.count(len(RAW)) == 1 and sum(sizes) < len(RAW) + 300
