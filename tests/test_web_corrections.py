"""Corrections on the web page, in a real headless Chromium against the real server: entities are removed,
relabelled and added by selecting text, texts are kept, and the downloaded JSONL trains a model with ``ner train``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ner.cli import main
from ner.corpus import read_jsonl

from .test_web_page import browser, page_server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

TEXT_1 = "John Smith visited Berlin on Monday. Maria Garcia works for Siemens in Oslo."
# An emoji before the names, letters with combining marks, and an emoji with a skin-tone modifier:
# code-point offsets differ from UTF-16 ones, and some characters are two code points.
TEXT_2 = "😀 Zoe\u0308 met Jose\u0301 in Ko\u0308ln 👍🏽."
EXPECTED = [
    {"text": TEXT_1, "entities": [[0, 10, "PER"], [29, 35, "DATE"], [37, 49, "PER"], [60, 67, "LOC"]]},
    {"text": TEXT_2, "entities": [[2, 6, "PER"], [20, 25, "LOC"], [26, 28, "MISC"]]},
]
SPAN_TEXTS = [
    [("John Smith", "PER"), ("Monday", "DATE"), ("Maria Garcia", "PER"), ("Siemens", "LOC")],
    [("Zoe\u0308", "PER"), ("Ko\u0308ln", "LOC"), ("👍🏽", "MISC")],
]

# Selects [start, end) of the text in #output (UTF-16 units, the entity labels left out) with a DOM Range.
SELECT = """([start, end]) => {
  const skipLabels = {
    acceptNode: (n) => (n.parentElement.closest(".tag") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  };
  const walker = document.createTreeWalker(document.getElementById("output"), NodeFilter.SHOW_TEXT, skipLabels);
  const range = document.createRange();
  let at = 0, startSet = false, node;
  while ((node = walker.nextNode())) {
    const next = at + node.data.length;
    if (!startSet && start < next) { range.setStart(node, start - at); startSet = true; }
    if (startSet && end <= next) { range.setEnd(node, end - at); break; }
    at = next;
  }
  getSelection().removeAllRanges();
  getSelection().addRange(range);
}"""
# The centre, in page coordinates, of the first occurrence of a word in #output.
WORD_CENTRE = """(word) => {
  const walker = document.createTreeWalker(document.getElementById("output"), NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode()) && !node.data.includes(word));
  const range = document.createRange();
  range.setStart(node, node.data.indexOf(word));
  range.setEnd(node, node.data.indexOf(word) + word.length);
  const box = range.getBoundingClientRect();
  return [box.x + box.width / 2, box.y + box.height / 2];
}"""


def utf16(text: str, offset: int) -> int:
    """The UTF-16 offset of code-point ``offset`` in ``text``."""
    return len(text[:offset].encode("utf-16-le")) // 2


def marks(page) -> list[tuple[int, int, str, str]]:
    return [
        tuple(m)
        for m in page.eval_on_selector_all(
            "#output mark",
            "ms => ms.map(m => [Number(m.dataset.start), Number(m.dataset.end), m.firstChild.data, m.dataset.label])",
        )
    ]


def wait_until(page, condition: str, timeout: float = 15.0) -> None:
    """Poll the JavaScript expression ``condition`` from here until it holds: the page's
    Content-Security-Policy forbids the eval that Playwright's ``wait_for_function`` needs."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({condition})"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout} s: {condition}")
        page.wait_for_timeout(50)


def tag(page, text: str) -> None:
    page.fill("#text", text)
    page.click("#tag")
    wait_until(page, "/entit(y|ies), .* ms$/.test(document.getElementById('status').textContent)")


def open_entity(page, start: int) -> None:
    page.click(f'#output mark[data-start="{start}"]')
    page.wait_for_selector("#editor", state="visible")


def remove_entity(page, start: int) -> None:
    open_entity(page, start)
    page.click("#remove-entity")
    assert page.is_hidden("#editor")
    assert page.query_selector(f'#output mark[data-start="{start}"]') is None


def select(page, text: str, start: int, end: int) -> None:
    """Selects code points [start, end) of ``text`` in #output and presses "Label selected text"."""
    page.evaluate(SELECT, [utf16(text, start), utf16(text, end)])
    page.click("#label-selection")


def label_as(page, label: str) -> None:
    page.wait_for_selector("#editor", state="visible")
    page.click(f'#editor-labels button[data-label="{label}"]')


def test_corrections_are_downloaded_as_training_jsonl(browser, page_server, tmp_path: Path, tiny_config: Path):  # noqa: F811
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.goto(page_server + "/")
    wait_until(page, "document.querySelectorAll('#model option').length > 2")  # the models and their labels

    # The first text: the model's entities, corrected.
    tag(page, TEXT_1)
    found = marks(page)
    assert (19, 25, "Berlin", "LOC") in found and (60, 67, "Siemens", "ORG") in found, found
    remove_entity(page, 19)
    # Relabel with the keyboard: focus the entity, Enter opens the editor, its current label is pressed.
    page.focus('#output mark[data-start="60"]')
    page.keyboard.press("Enter")
    assert page.get_attribute('#editor-labels button[data-label="ORG"]', "aria-pressed") == "true"
    assert "Siemens" in page.inner_text("#editor-title")
    label_as(page, "LOC")
    siemens = page.query_selector('#output mark[data-start="60"]')
    assert siemens.get_attribute("data-label") == "LOC" and siemens.get_attribute("title") == "LOC (corrected)"
    for start, _, _, _ in marks(page):  # keep only the corrected entity, so that the file's lines are known
        if start != 60:
            remove_entity(page, start)
    assert marks(page) == [(60, 67, "Siemens", "LOC")]

    select(page, TEXT_1, 5, 10)
    assert page.inner_text("#editor-note") == ""
    label_as(page, "PER")
    # A wider selection (with a space at its end) replaces the entity it overlaps, and says so first.
    select(page, TEXT_1, 0, 11)
    assert page.inner_text("#editor-title") == "Choose a label for “John Smith”."
    assert page.inner_text("#editor-note") == "It replaces the overlapping “Smith” (PER)."
    label_as(page, "PER")
    assert marks(page) == [(0, 10, "John Smith", "PER"), (60, 67, "Siemens", "LOC")]

    # A double click on a word selects it and opens the editor; a new label is typed in.
    page.mouse.dblclick(*page.evaluate(WORD_CENTRE, "Monday"))
    page.wait_for_selector("#editor", state="visible")
    assert page.inner_text("#editor-title") == "Choose a label for “Monday”."
    page.fill("#new-label", "DATE-")  # a type ner train refuses (seqeval drops an edge hyphen)
    page.press("#new-label", "Enter")
    assert "hyphen" in page.inner_text("#status") and (29, 35, "Monday", "DATE-") not in marks(page)
    page.fill("#new-label", "DATE")
    page.press("#new-label", "Enter")
    assert (29, 35, "Monday", "DATE") in marks(page)
    assert page.eval_on_selector_all("#legend span", "s => s.map(i => i.textContent)") == ["DATE", "LOC", "PER"]

    page.click("#store")
    assert page.inner_text("#corrections-count") == "1"
    assert page.input_value("#text") == "" and page.inner_text("#output") == ""

    # The second text: selections that cut characters in half are widened to whole characters.
    tag(page, TEXT_2)
    for start, _, _, _ in marks(page):
        remove_entity(page, start)
    select(page, TEXT_2, 2, 5)  # "Zoe" without its combining diaeresis
    label_as(page, "PER")
    select(page, TEXT_2, 19, 26)  # " Köln ": the spaces at its ends are left out
    label_as(page, "LOC")
    # Half of the thumbs-up emoji (its first UTF-16 unit) selects the emoji with its skin tone.
    page.evaluate(SELECT, [utf16(TEXT_2, 26), utf16(TEXT_2, 26) + 1])
    page.click("#label-selection")
    page.fill("#new-label", "MISC")
    page.click("#new-label-apply")
    # A selection of only spaces is refused.
    select(page, TEXT_2, 10, 11)
    assert page.is_hidden("#editor")
    assert "only spaces" in page.inner_text("#status")
    assert marks(page) == [(2, 6, "Zoe\u0308", "PER"), (20, 25, "Ko\u0308ln", "LOC"), (26, 28, "👍🏽", "MISC")]
    page.click("#store")
    assert page.inner_text("#corrections-count") == "2"
    assert page.locator("#corrections li").count() == 2

    # Reopen the first text, add an entity and save it in place.
    page.get_by_role("button", name="Edit text 1").click()
    assert page.input_value("#text") == TEXT_1
    assert page.inner_text("#store") == "Save text 1"
    select(page, TEXT_1, 37, 49)
    label_as(page, "PER")
    page.click("#store")
    assert page.inner_text("#corrections-count") == "2"
    assert page.inner_text("#download") == "Download JSONL (2 texts)"

    with page.expect_download() as download:
        page.click("#download")
    path = tmp_path / "corrections.jsonl"
    download.value.save_as(path)
    page.close()

    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines == [json.dumps(d, ensure_ascii=False, separators=(",", ":")) for d in EXPECTED] + [""]
    for document in EXPECTED:  # code-point offsets of the texts, with no spaces at the ends of an entity
        for start, end, _ in document["entities"]:
            assert document["text"][start:end].strip() == document["text"][start:end]

    spans: list[list[tuple[str, str]]] = [[] for _ in EXPECTED]
    for sentence in read_jsonl(path):  # a text's sentences share its document number
        text = EXPECTED[sentence.document]["text"]
        offsets = sentence.offsets
        spans[sentence.document] += [
            (text[offsets[sp.start][0] : offsets[sp.end - 1][1]], sp.label) for sp in sentence.spans()
        ]
    assert spans == SPAN_TEXTS

    out = tmp_path / "model"
    code = main(
        ["train", "--train", str(path), "--dev", str(path), "--out", str(out), "--config", str(tiny_config), "--quiet"]
    )
    assert code == 0 and (out / "manifest.json").is_file()


def test_an_invisible_selection_and_a_reopened_text_tagged_again(browser, page_server) -> None:  # noqa: F811
    """Escape gives the focus back to the entity; a selection of a space and a zero-width space is only space
    (ner train would refuse its entity); a stored text tagged again is still the stored text: saving replaces
    it rather than adding a copy."""
    page = browser.new_page()
    page.goto(page_server + "/")
    text = "John Smith visited Berlin \u200b and Oslo."
    tag(page, text)
    first = marks(page)[0][0]
    open_entity(page, first)
    page.keyboard.press("Escape")  # the focus goes back to the entity, not to the start of the result
    assert page.evaluate("document.activeElement.dataset.start") == str(first)
    zero_width = text.index("\u200b")
    select(page, text, zero_width - 1, zero_width + 2)
    assert page.is_hidden("#editor") and "only spaces" in page.inner_text("#status")
    page.click("#store")
    page.get_by_role("button", name="Edit text 1").click()
    page.click("#tag")
    wait_until(page, "/entit(y|ies), .* ms$/.test(document.getElementById('status').textContent)")
    assert page.inner_text("#store") == "Save text 1"
    page.click("#store")
    assert page.inner_text("#corrections-count") == "1"
    page.close()


def test_corrections_not_kept_are_dropped_only_when_the_user_agrees(browser, page_server) -> None:  # noqa: F811
    """Tagging a new text or opening a kept one asks first when the text shown has corrections not kept:
    refused, the corrected text stays; accepted, it goes."""
    page = browser.new_page()
    page.goto(page_server + "/")
    tag(page, TEXT_1)
    page.click("#store")
    tag(page, TEXT_1)
    corrected = marks(page)[1:]
    remove_entity(page, marks(page)[0][0])
    questions: list[str] = []

    def answer(accept: bool):
        def on_dialog(dialog) -> None:
            questions.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return on_dialog

    refuse = answer(False)
    page.on("dialog", refuse)
    page.fill("#text", "Ann went to Rome.")
    page.click("#tag")
    page.get_by_role("button", name="Edit text 1").click()
    assert len(questions) == 2 and "not kept" in questions[0]
    assert marks(page) == corrected  # still the corrected text, nothing tagged or opened
    page.remove_listener("dialog", refuse)
    page.on("dialog", answer(True))
    tag(page, "Ann went to Rome.")
    assert len(questions) == 3 and all(m[2] != "John Smith" for m in marks(page))
    page.get_by_role("button", name="Edit text 1").click()  # nothing corrected since the last Tag: no question
    assert len(questions) == 3 and page.inner_text("#store") == "Save text 1"
    page.close()


def test_corrections_made_while_a_tag_is_on_its_way_are_not_lost_silently(browser, page_server) -> None:  # noqa: F811
    page = browser.new_page()
    page.goto(page_server + "/")
    tag(page, TEXT_1)
    held = []  # the next /tag request, answered only when the test lets it go
    page.route("**/tag", lambda route: held.append(route))
    page.fill("#text", "Ann went to Rome.")
    page.click("#tag")
    while not held:
        page.wait_for_timeout(50)
    kept = marks(page)[1:]
    remove_entity(page, marks(page)[0][0])  # corrected while the answer is on its way
    questions: list[str] = []

    def refuse(dialog) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    held[0].continue_()
    wait_until(page, "/corrections are kept/.test(document.getElementById('status').textContent)")
    assert len(questions) == 1 and marks(page) == kept
    page.close()


def test_a_keyboard_labels_a_phrase_and_kept_texts_keep_what_the_page_hides(browser, page_server, tmp_path: Path):  # noqa: F811
    """Without a mouse no text of the result could be selected, so an entity the model missed could not be
    added; a selection inside a word was kept as a piece of it (a word the model never meets); entities hidden
    under the min. probability were kept as no entity; a text edited in the box after Tag was cleared from it; a
    text was kept twice; a reopened text offered every model's labels; deleting a text left the focus nowhere;
    and 0.97 was no valid min. probability."""
    page = browser.new_page()
    page.goto(page_server + "/")
    wait_until(page, "document.querySelectorAll('#model option').length > 2")
    text = "Maria Garcia met Zorblax and Zorblax in Oslo."
    page.fill("#min-score", "0.9995")  # any value from 0 to 1 (the field's steps of 0.05 refused it)
    tag(page, text)
    everything = page.evaluate("() => doc.entities.map(e => [e.start, e.end, e.label, e.score])")
    hidden = [tuple(e[:3]) for e in everything if e[3] < 0.9995]
    assert hidden and f"{len(hidden)} hidden under the min. probability" in page.inner_text("#status")
    assert [m[:2] for m in marks(page)] == [tuple(e[:2]) for e in everything if e[3] >= 0.9995]
    # The keyboard: a phrase typed, Enter for its occurrences in turn, the label chosen with Enter.
    page.focus("#phrase")
    page.keyboard.type("Zorbl")
    page.keyboard.press("Enter")
    assert page.inner_text("#editor-title") == "Choose a label for “Zorblax” (occurrence 1 of 2)."
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.id") == "phrase"
    for occurrence in (2, 1, 2):  # in turn, from the start again after the last, widened to the word
        page.keyboard.press("Enter")
        assert page.inner_text("#editor-title") == f"Choose a label for “Zorblax” (occurrence {occurrence} of 2)."
        page.focus("#next-occurrence")
    assert "Widened to whole words" in page.inner_text("#editor-note")
    page.focus("#editor-labels button:nth-child(2)")  # the tagging model's labels: the second of them
    label = page.evaluate("document.activeElement.dataset.label")
    page.keyboard.press("Enter")
    second = text.rindex("Zorblax")
    assert (second, second + 7, "Zorblax", label) in marks(page)
    assert page.evaluate("document.activeElement.dataset.start") == str(second)
    page.fill("#phrase", "Paris")
    page.press("#phrase", "Enter")
    assert "“Paris” is not in the result" in page.inner_text("#status") and page.is_hidden("#editor")
    page.fill("#min-score", "2")  # out of range: refused before anything is asked or sent
    page.press("#text", "Control+Enter")
    assert page.inner_text("#status") == "Min. probability is a number from 0 to 1."
    assert page.get_attribute("#output", "aria-busy") is None
    page.fill("#min-score", "0.9995")
    # A selection inside a word is widened to it.
    first = text.index("Zorblax")
    select(page, text, first + 1, first + 5)
    assert page.inner_text("#editor-title") == "Choose a label for “Zorblax”."
    label_as(page, label)

    page.fill("#text", text.replace("Oslo", "Bergen"))  # edited after Tag: the text kept is the one tagged
    page.click("#store")
    assert page.input_value("#text") == text.replace("Oslo", "Bergen")
    assert "The text box has changed since it was tagged" in page.inner_text("#status")
    questions: list[str] = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    tag(page, text)
    page.click("#store")  # kept already: asked, refused, not kept twice
    assert questions == ["This text is kept already, as text 1: replace it?"]
    assert page.inner_text("#corrections-count") == "1"
    page.get_by_role("button", name="Edit text 1").click()  # nothing corrected since that Tag: no question
    assert len(questions) == 1 and page.evaluate("() => taggedBy") == ["tiny-en"]

    with page.expect_download() as download:
        page.click("#download")
    path = tmp_path / "corrections.jsonl"
    download.value.save_as(path)
    (kept,) = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert kept["text"] == text
    expected = set(hidden) | {(first, first + 7, label), (second, second + 7, label)}
    assert expected <= {tuple(e) for e in kept["entities"]}

    page.get_by_role("button", name="Delete text 1").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "text"
    page.close()
