"""Dictionaries over HTTP: per request and per model from a file read again when it changes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .server import running_server

TEXT = "John Smith visited Berlin with Acme Corp staff"


@pytest.fixture(scope="module")
def terms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("terms") / "terms.tsv"
    path.write_text("Acme Corp\tORG\n")
    return path


@pytest.fixture(scope="module")
def client(tiny_model: Path, terms: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    log = tmp_path_factory.mktemp("logs") / "server.log"
    settings = {"dictionaries": f"tiny-en={terms}", "max_dictionary": 50, "max_dictionary_tokens": 100}
    with running_server([tiny_model], log, **settings) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def entities(response: httpx.Response) -> set[tuple[str, str]]:
    assert response.status_code == 200, response.text
    return {(e["text"], e["label"]) for e in response.json()["results"][0]["entities"]}


def reloaded(client: httpx.Client, text: str, expected: tuple[str, str], within_s: float = 10) -> set:
    """The entities of ``text`` once ``expected`` is among them: a changed file is checked at most once a
    second, read once unchanged for one, and built in a thread while the reading before serves."""
    deadline = time.monotonic() + within_s
    while expected not in (found := entities(client.post("/tag", json={"text": text}))) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def test_request_dictionary_forces_and_blocks(client: httpx.Client) -> None:
    plain = entities(client.post("/tag", json={"text": TEXT}))
    assert ("Berlin", "LOC") in plain
    forced = entities(client.post("/tag", json={"text": TEXT, "dictionary": {"Berlin": "O", "visited": "PER"}}))
    assert ("visited", "PER") in forced and not any(text == "Berlin" for text, _ in forced)
    ignoring = client.post("/tag", json={"text": TEXT, "dictionary": {"BERLIN": "ORG"}, "ignore_case": True})
    assert ("Berlin", "ORG") in entities(ignoring)


def test_a_dictionary_within_its_token_budget_is_used(client: httpx.Client) -> None:
    """26 trie nodes, within the budget of 100: "w" x 19 and "x" (20), "Acme Corp Inc" (3, and its other cut
    "Inc."), "Berlin Wall" and "Berlin", which shares its start (2)."""
    entries = {"w " * 19 + "x": "ORG", "Acme Corp Inc": "ORG", "Berlin Wall": "LOC", "Berlin": "ORG"}
    assert ("Berlin", "ORG") in entities(client.post("/tag", json={"text": TEXT, "dictionary": entries}))


def test_the_models_file_applies_and_is_reloaded(client: httpx.Client, terms: Path) -> None:
    assert ("Acme Corp", "ORG") in entities(client.post("/tag", json={"text": TEXT}))
    terms.write_text("Acme Corp\tORG\nJohn Smith\tLOC\n")
    assert ("John Smith", "LOC") in reloaded(client, TEXT, ("John Smith", "LOC"))
    request_wins = client.post("/tag", json={"text": TEXT, "dictionary": {"John Smith": "PER"}})
    assert ("John Smith", "PER") in entities(request_wins)


@pytest.mark.parametrize(
    ("dictionary", "kind", "limit"),
    [
        ({"Berlin": "GPE"}, "invalid_dictionary", None),
        ({f"term {i}": "ORG" for i in range(51)}, "dictionary_too_large", "max_dictionary"),
        # five phrases of 25 distinct tokens: 125 trie nodes, over 100
        (
            {" ".join(f"w{j}" for j in range(25 * i, 25 * i + 25)): "ORG" for i in range(5)},
            "dictionary_too_large",
            "max_dictionary_tokens",
        ),
        ({"x" * 201: "ORG"}, "invalid_request", None),
        ({"Berlin": ""}, "invalid_request", None),
        ({"Berlin": 5}, "invalid_request", None),
        (["Berlin"], "invalid_request", None),
        (0, "invalid_request", None),
        ("", "invalid_request", None),
    ],
)
def test_bad_dictionaries_get_a_clear_422(
    client: httpx.Client, dictionary: object, kind: str, limit: str | None
) -> None:
    for _ in range(2):  # the service remembers valid dictionaries, never invalid ones
        response = client.post("/tag", json={"text": TEXT, "dictionary": dictionary})
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["type"] == kind and error.get("limit") == limit
        if kind == "invalid_dictionary":
            assert "GPE" in error["message"]
        if limit == "max_dictionary_tokens":
            assert "for model tiny-en, the dictionary's phrases make over 100 trie nodes" in error["message"]
        if kind == "invalid_request":
            assert error["message"].startswith("dictionary"), error["message"]


def test_a_lone_surrogate_beside_a_value_that_is_no_string_gets_a_422(client: httpx.Client) -> None:
    for body in (
        b'{"text": "Berlin", "dictionary": {"Berlin": ["\\ud800"]}}',
        b'{"text": "B", "dictionary": {"\\ud800": {}}}',
        b'{"text": "B", "dictionary": {"a": ' + b"[" * 1000 + b"]" * 1000 + b"}}",  # deeper than encoders go: was 500
    ):
        response = client.post("/tag", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 422 and response.json()["error"]["message"].startswith("dictionary")
    assert client.get("/health").status_code == 200  # the same connection, still open
    # a phrase holds lone surrogates as texts do
    body = b'{"text": "Acme\\ud800 staff", "dictionary": {"Acme\\ud800": "ORG"}}'
    response = client.post("/tag", content=body, headers={"content-type": "application/json"})
    assert [e["label"] for e in response.json()["results"][0]["entities"]] == ["ORG"]


def test_a_large_dictionary_sent_again_byte_for_byte_still_applies_and_is_still_checked(client: httpx.Client) -> None:
    """Over 1 KB, the parser remembers the dictionary's bytes; each request must behave as if parsed in full."""
    large = {f"Unmatched phrase number {i}": "ORG" for i in range(45)} | {"Berlin": "O", "visited": "PER"}
    raw = json.dumps(large).encode()
    assert len(raw) > 1024
    for text, space in ((TEXT, b""), (TEXT + " again", b" \n")):
        body = b'{"dictionary":' + space + raw + b', "text": ' + json.dumps(text).encode() + b"}"
        forced = entities(client.post("/tag", content=body, headers={"content-type": "application/json"}))
        assert ("visited", "PER") in forced and not any(t == "Berlin" for t, _ in forced)
    unknown_label = json.dumps(large | {"Acme Corp": "GPE"})
    too_many = json.dumps(large | {f"Extra {i}": "ORG" for i in range(4)})
    for dictionary, kind in ((unknown_label, "invalid_dictionary"), (too_many, "dictionary_too_large")):
        for _ in range(2):
            body = f'{{"text": "{TEXT}", "dictionary": {dictionary}}}'
            response = client.post("/tag", content=body, headers={"content-type": "application/json"})
            assert response.status_code == 422 and response.json()["error"]["type"] == kind


def test_each_distinct_dictionary_is_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import api.service
    from api.service import ServiceState
    from api.settings import Settings

    checked: list[object] = []
    monkeypatch.setattr(api.service, "check_dictionary", lambda entries: checked.append(entries) or entries)
    state = ServiceState(Settings(models=[]))
    first = state._checked_key({"Acme Corp": "ORG", "Berlin": "O"})
    again = state._checked_key({"Acme Corp": "ORG", "Berlin": "O"})  # equal entries, new objects
    other = state._checked_key({"Acme Corp": "PER"})
    assert first == again != other
    assert checked == [{"Acme Corp": "ORG", "Berlin": "O"}, {"Acme Corp": "PER"}]
    assert state._checked_key(None) is None and state._checked_key({}) is None


def test_a_dictionary_that_comes_again_as_the_same_object_keeps_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    import api.service
    from api.service import ServiceState
    from api.settings import Settings

    built: list[object] = []
    monkeypatch.setattr(api.service, "EntriesKey", lambda entries: built.append(entries) or tuple(entries.items()))
    state = ServiceState(Settings(models=[]))
    entries = {"Acme Corp": "ORG"}
    keys = [state._checked_key(entries) for _ in range(3)] + [state._checked_key(dict(entries))]
    assert keys == [(("Acme Corp", "ORG"),)] * 4
    assert len(built) == 2  # once for the object, once for its equal copy


def test_a_large_dictionary_is_built_off_the_event_loop_once(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of entries take a tenth of a second or more to build: in a thread, and only once."""
    import asyncio
    from types import SimpleNamespace

    import api.service
    from api.service import INLINE_ENTRIES, ServiceState
    from api.settings import Settings
    from ner import Tagger

    threaded = []

    async def in_thread(function, *args):
        threaded.append(function)
        return function(*args)

    monkeypatch.setattr(api.service, "run_in_threadpool", in_thread)
    state = ServiceState(Settings(models=[]))
    tagger = Tagger.load(tiny_model)
    route = SimpleNamespace(jobs=[(tagger, [])], auto=False)
    large = {f"Phrase number {i}": "ORG" for i in range(INLINE_ENTRIES)} | {"Acme Corp": "PER"}
    built = [asyncio.run(state.dictionaries(route, entries, False)) for entries in (large, dict(large), {"X": "O"})]
    assert len(threaded) == 1  # the same entries again: kept, returned on the loop; a small one built there
    assert built[0] == built[1] and built[0][tagger.name].entries["Acme Corp"] == "PER"
    assert built[2][tagger.name].entries == {"X": "O"}


def test_request_dictionaries_remembered_are_bounded_in_number_and_bytes() -> None:
    from ner.recent import RecentValues

    recent = RecentValues(capacity=3, max_size=100)
    for i in range(4):
        recent.put(i, f"v{i}", 10)
    assert recent.get(0) is None and [recent.get(i) for i in (1, 2, 3)] == ["v1", "v2", "v3"]  # at most 3
    recent.put(1, "v1", 10)  # used again: now the most recent
    recent.put("large", "x", 101)  # larger than the whole budget: not kept
    assert recent.get("large") is None
    recent.put(4, "v4", 85)  # 30 + 85 bytes: the least recently used go until it fits
    assert [recent.get(key) for key in (2, 3, 1, 4)] == [None, None, "v1", "v4"]


def served_with_file(model: Path, folder: Path, terms: str) -> tuple:
    """A service state (its models loaded) whose model tiny-en has a dictionary file of ``terms``, and a
    route of no text to that model alone."""
    from types import SimpleNamespace

    from api.service import ServiceState
    from api.settings import Settings

    gazetteer = folder / "gazetteer.tsv"
    gazetteer.write_text(terms)
    state = ServiceState(Settings(models=[str(model)], dictionaries=f"tiny-en={gazetteer}"))
    state.load_models()
    return state, SimpleNamespace(jobs=[(state.router.taggers["tiny-en"], [])], auto=False)


def test_a_configured_dictionary_over_the_node_budget_is_built_once(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every request uses a model's configured file: its dictionary stays built, whatever its size, beside
    request dictionaries over it."""
    import asyncio

    import ner.tagger

    monkeypatch.setattr(ner.tagger, "DICTIONARY_CACHE_BYTES", 5_000)
    terms = "".join(f"Name{i} Corp\tORG\n" for i in range(100))  # 101 nodes: about 48 KB
    state, route = served_with_file(tiny_model, tmp_path, terms)
    plain = [asyncio.run(state.dictionaries(route, None, False))["tiny-en"] for _ in range(2)]
    merged = asyncio.run(state.dictionaries(route, {"Acme": "ORG"}, False))["tiny-en"]
    assert plain[0] is plain[1] is asyncio.run(state.dictionaries(route, None, False))["tiny-en"]
    assert merged.entries == {"Acme": "ORG"} and merged.over is plain[0] and "Name7 Corp" in plain[0].entries


def test_a_file_read_again_while_its_dictionary_was_built_is_not_pinned(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build of the file's older reading (here with ignore_case, which none has asked for before) ends
    after a newer reading came: it serves the requests waiting for it alone, pushing out neither the
    dictionary built at start nor the newer one (the file is read again by hand here, as a change on
    disk would have it read, while the build runs)."""
    import asyncio

    import ner.tagger

    state, route = served_with_file(tiny_model, tmp_path, "".join(f"Name{i} Corp\tORG\n" for i in range(10)))
    tagger = route.jobs[0][0]
    configured = state.dictionary_files["tiny-en"]
    real = ner.tagger.Dictionary

    def read_again_meanwhile(*args, **kwargs):
        configured.latest = (configured.version + 1, configured.latest[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(ner.tagger, "Dictionary", read_again_meanwhile)
    old = configured.version
    built = asyncio.run(state.dictionaries(route, {"Acme": "ORG"}, True))["tiny-en"]
    assert "Name7 Corp" in built.over.entries and built.over.superseded and built.entries == {"Acme": "ORG"}
    assert not tagger.built_dictionary((old, True)) and tagger.built_dictionary((old, False))
    assert len(tagger._pinned) == 1 and len(tagger._dictionaries) == 0


def test_a_new_reading_is_built_once_in_a_thread_while_the_one_before_serves(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each request built a large file's new reading itself, on the event loop or beside the others: no
    answer for 14 s, or a worker's memory growing by gigabytes."""
    import asyncio
    import threading

    import ner.tagger

    state, route = served_with_file(tiny_model, tmp_path, "Name1 Corp\tORG\n")
    configured = state.dictionary_files["tiny-en"]
    before = state.served_files[("tiny-en", False)][1]
    builds, release = [], threading.Event()
    real = ner.tagger.Dictionary

    def slow(*args, **kwargs):
        builds.append(args[0])
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(ner.tagger, "Dictionary", slow)
    configured.latest = (configured.version + 1, {"Acme": "ORG"})  # as a change on disk is read

    async def requests() -> tuple[list, dict]:
        meanwhile = [await state.dictionaries(route, None, False) for _ in range(5)]
        release.set()
        await asyncio.gather(*state.file_builds.values())
        return meanwhile, await state.dictionaries(route, None, False)

    meanwhile, after = asyncio.run(requests())
    assert all(served["tiny-en"] is before for served in meanwhile) and builds == [{"Acme": "ORG"}]
    assert after["tiny-en"].entries == {"Acme": "ORG"} and not after["tiny-en"].superseded
