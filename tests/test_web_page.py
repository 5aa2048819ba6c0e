"""The web page in a real headless Chromium (Debian's, driven by Playwright) against the real server."""

from __future__ import annotations

import io
import math
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from api.routes import PAGE

from .server import running_server

pytestmark = pytest.mark.slow
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    """Debian's chromium, installed when missing (CI machines start without it)."""
    path = shutil.which("chromium")
    if path is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, check=True, capture_output=True)
        path = shutil.which("chromium")
    if path is None:
        pytest.skip("no chromium, and no root apt-get to install it")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    executable = chromium()
    with playwright_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def page_server(tiny_model: Path, tiny_zh_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("page") / "server.log"
    with running_server([tiny_model, tiny_zh_model], log) as url:
        yield url


def highlight(browser, url: str, text: str, tmp_path: Path) -> tuple[list[dict], list[str], bytes]:
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    errors: list[str] = []  # a Content-Security-Policy violation is one
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(url + "/")
    page.fill("#text", text)
    page.click("#tag")
    page.wait_for_selector("#output mark", timeout=15000)
    marks = page.eval_on_selector_all(
        "#output mark",
        "ms => ms.map(m => ({text: m.firstChild.textContent, label: m.dataset.label, title: m.title,"
        " background: getComputedStyle(m).backgroundColor}))",
    )
    legend = page.eval_on_selector_all("#legend span", "items => items.map(i => i.textContent)")
    output_text = page.inner_text("#output")
    assert all(m["text"] in output_text for m in marks)
    screenshot = page.screenshot(path=str(tmp_path / "page.png"))
    page.close()
    assert not errors
    return marks, legend, screenshot


def coloured_pixels(png: bytes, rgb: tuple[int, int, int], tolerance: int = 12) -> int:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(
        count
        for count, colour in image.getcolors(maxcolors=1 << 20)
        if all(abs(c - t) <= tolerance for c, t in zip(colour, rgb))
    )


def rgb(css: str) -> tuple[int, int, int]:
    return tuple(int(x) for x in css[css.index("(") + 1 : css.index(")")].split(",")[:3])


def test_english_entities_are_highlighted_in_place(browser, page_server: str, tmp_path: Path) -> None:
    text = "John Smith visited Berlin on Monday. Maria Garcia works for Siemens in Oslo."
    marks, legend, screenshot = highlight(browser, page_server, text, tmp_path)
    found = {(m["text"], m["label"]) for m in marks}
    assert {("John Smith", "PER"), ("Berlin", "LOC"), ("Siemens", "ORG")} <= found
    assert sorted(legend) == sorted({m["label"] for m in marks})
    for mark in marks:
        assert mark["title"].startswith(f"{mark['label']}: probability 0.") or "probability 1.000" in mark["title"]
    colours = {m["label"]: m["background"] for m in marks}
    assert len(set(colours.values())) == len(colours), "each label has its own colour"
    for colour in colours.values():  # the screenshot really shows each highlight colour
        assert coloured_pixels(screenshot, rgb(colour)) > 100


def test_chinese_and_emoji_offsets_in_the_page(browser, page_server: str, tmp_path: Path) -> None:
    text = "😀 李明在北京工作。John Smith visited Berlin."
    marks, _, screenshot = highlight(browser, page_server, text, tmp_path)
    texts = {m["text"] for m in marks}
    assert "北京" in texts and "Berlin" in texts, marks
    assert coloured_pixels(screenshot, rgb(marks[0]["background"])) > 50


def test_with_api_keys_the_models_are_listed_once_the_key_is_given(
    browser, tiny_model: Path, tiny_zh_model: Path, tmp_path: Path
) -> None:
    with running_server([tiny_model, tiny_zh_model], tmp_path / "log", api_keys="page:sekret") as url:
        page = browser.new_page()
        page.goto(url + "/")
        page.wait_for_selector("#key-row", state="visible", timeout=15000)  # /models answered 401
        assert page.eval_on_selector_all("#model option", "os => os.length") == 1
        page.fill("#api-key", "sekret")
        page.dispatch_event("#api-key", "change")
        # A selector, not wait_for_function: the page's policy forbids the eval that would need.
        page.wait_for_selector("#model option:nth-child(3)", state="attached", timeout=15000)
        assert page.eval_on_selector_all("#model option", "os => os.length") == 3
        page.close()


def test_errors_that_are_no_json_show_their_status_and_when_to_try_again(browser, page_server: str) -> None:
    """A proxy's page or uvicorn's plain-text 503 was shown as a network failure with a JSON parse error."""
    page = browser.new_page()
    page.goto(page_server + "/")
    page.wait_for_selector("#model option:nth-child(2)", state="attached")  # its own request done first
    answers = [
        {"status": 503, "body": "Service Unavailable", "content_type": "text/plain", "headers": {"Retry-After": "3"}},
        {"status": 502, "body": "<html><body>Bad gateway</body></html>", "content_type": "text/html"},
        {
            "status": 503,
            "body": '{"error": {"type": "overloaded", "message": "the interactive queue is full"}}',
            "content_type": "application/json",
            "headers": {"Retry-After": "2"},
        },
    ]
    shown = []
    for answer in answers:
        page.route("**/tag", lambda route, _, answer=answer: route.fulfill(**answer))
        page.click("#tag")
        page.wait_for_selector("#status.error", timeout=15000)
        shown.append(page.inner_text("#status"))
        page.unroute("**/tag")
        page.eval_on_selector("#status", "s => s.className = ''")
    page.close()
    assert shown == [
        "503 Service Unavailable; try again in 3 s",
        "502 Bad Gateway",
        "the interactive queue is full; try again in 2 s",
    ]


def test_long_words_wrap_at_phone_width(browser, page_server: str) -> None:
    page = browser.new_page(viewport={"width": 375, "height": 700})
    page.goto(page_server + "/")
    page.fill("#text", "John Smith visited https://example.com/" + "averyverylongpathsegment" * 10 + " in Berlin.")
    page.click("#tag")
    page.wait_for_selector("#output mark", timeout=15000)
    page.click("#store")
    page.wait_for_selector("#corrections li")
    width, visible = page.eval_on_selector("html", "e => [e.scrollWidth, e.clientWidth]")
    page.close()
    assert width <= visible, "the page scrolls sideways"


def test_on_a_phone_a_tap_shows_the_probability_and_long_labels_do_not_scroll_sideways(
    browser, page_server: str
) -> None:
    """A probability was shown on hover and keyboard focus only, never to a tap; a long word in the editor's
    title and a long new label in the status made a phone's page 1,236 px wide; an error stayed on after the
    editor opened; and the result was a live region, read out whole on each change."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(page_server + "/")
    url = "https://example.com/" + "averyverylongpathsegment" * 5
    page.fill("#text", f"John Smith visited Berlin on Monday. {url}")
    page.tap("#tag")
    page.wait_for_selector("#output mark", timeout=15000)
    assert page.get_attribute("#output", "aria-live") is None and page.get_attribute("#output", "role") == "region"
    page.tap("#output mark")  # the editor leaves a status that is no error as it was
    assert re.match(r"\d+ entit", page.inner_text("#status")) and page.is_visible("#editor")
    page.keyboard.press("Escape")
    page.tap("#label-selection")  # nothing selected: an error
    assert page.get_attribute("#status", "class") == "error"
    page.tap("#output mark")
    assert re.search(r"” is \w+ \(probability [01]\.\d{3}\): choose", page.inner_text("#editor-title"))
    assert page.inner_text("#status") == ""
    page.fill("#new-label", "AVERYLONGLABELTHATNOSCREENHASROOMFORATALL")
    page.tap("#new-label-apply")
    page.fill("#min-score", "0.5")
    said = page.inner_text("#status")
    assert re.fullmatch(r"\d+ entit(y|ies) shown, \d+ hidden under the min. probability\.", said), said
    page.fill("#phrase", url)
    page.press("#phrase", "Enter")  # the editor's title holds the URL
    page.wait_for_selector("#editor:not([hidden])")
    width, visible = page.eval_on_selector("html", "e => [e.scrollWidth, e.clientWidth]")
    context.close()
    assert width <= visible, "the page scrolls sideways"


def test_entities_are_named_for_screen_readers_and_enter_tags(browser, page_server: str) -> None:
    page = browser.new_page()
    page.goto(page_server + "/")
    page.fill("#text", "John Smith visited Berlin on Monday.")
    page.press("#min-score", "Enter")  # the controls are a form: Enter in any of them tags
    page.wait_for_selector("#output mark", timeout=15000)
    # The accessible name Chromium computes, not only the attribute: "John SmithPER" before.
    person = page.get_by_role("button", name=re.compile(r"^John Smith, PER, probability [01]\.\d\d$"))
    assert person.count() == 1
    person.focus()
    shown = page.eval_on_selector(
        "#output mark:focus-visible", "m => getComputedStyle(m, '::after').content"
    )  # the probability, for keyboard users who cannot hover
    assert re.fullmatch(r'" p [01]\.\d\d"', shown), shown
    assert page.get_by_role("list", name="labels").get_by_role("listitem").count() >= 2
    assert page.get_attribute("#output", "aria-busy") is None  # set while tagging only
    page.close()


def answered_with(page, text: str, entities: list[tuple[str, str]]) -> None:
    """``/tag`` answers ``text`` with ``entities`` (each phrase's first occurrence), whatever the model says."""
    import json

    found = [
        {"start": (at := text.index(p)), "end": at + len(p), "label": label, "score": 0.9} for p, label in entities
    ]
    tokens = [{"start": m.start(), "end": m.end()} for m in re.finditer(r"\S+", text)]
    body = json.dumps({"model": "tiny-en", "results": [{"entities": found, "tokens": tokens}]})
    page.route("**/tag", lambda route: route.fulfill(status=200, body=body, content_type="application/json"))


def test_right_to_left_lines_read_as_typed_and_a_focused_label_stays_in_place(browser, page_server: str) -> None:
    """The result box took one direction for every line (the text box one per line): an Arabic line after an
    English one read "John Smith زار ..."; and a focused entity's probability, Latin, joined the Latin name
    beside it and moved its label to the other side of the name."""
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    page.goto(page_server + "/")
    text = "Maria Garcia visited Oslo .\nزار John Smith مدينة Paris أمس"
    answered_with(page, text, [("Maria Garcia", "PER"), ("John Smith", "PER"), ("Paris", "LOC")])
    page.fill("#text", text)
    page.click("#tag")
    page.wait_for_selector("#output mark", timeout=15000)
    arabic_left, name_right = page.eval_on_selector(
        "#output",
        """out => {
          const walker = document.createTreeWalker(out, NodeFilter.SHOW_TEXT);
          let node = walker.nextNode();
          while (node && !node.textContent.includes("زار")) node = walker.nextNode();
          const range = document.createRange(), at = node.textContent.indexOf("زار");
          range.setStart(node, at);
          range.setEnd(node, at + 3);
          const name = [...out.querySelectorAll("mark")].find(m => m.firstChild.textContent === "John Smith");
          return [range.getBoundingClientRect().left, name.getBoundingClientRect().right];
        }""",
    )
    assert arabic_left > name_right, "the Arabic line is laid out left to right"
    person = page.get_by_role("button", name=re.compile(r"^John Smith, PER"))
    label_at = "m => m.querySelector('.tag').getBoundingClientRect().left"
    before = person.evaluate(label_at)
    page.keyboard.press("Shift")  # focus from a keyboard user: the probability shows
    person.focus()
    assert page.eval_on_selector("#output mark:focus-visible", "m => m.firstChild.textContent") == "John Smith"
    assert abs(person.evaluate(label_at) - before) < 2, "the focused entity's label moved"
    page.close()


def test_an_earlier_press_failing_late_leaves_the_newer_result_s_status(browser, page_server: str) -> None:
    page = browser.new_page()
    page.goto(page_server + "/")
    page.evaluate(
        """() => {
          const real = window.fetch;
          let tags = 0;
          window.fetch = (url, options) => String(url).endsWith("tag") && tags++ === 0
            ? new Promise((_, fail) => { window.failFirst = () => fail(new TypeError("Failed to fetch")); })
            : real(url, options);
        }"""
    )
    page.fill("#text", "John Smith visited Berlin on Monday.")
    page.click("#tag")  # fails once the newer one's result is shown
    page.fill("#text", "Maria Garcia works for Siemens in Oslo.")
    page.click("#tag")
    page.wait_for_selector("#output mark", timeout=15000)
    page.evaluate("failFirst()")
    page.wait_for_timeout(300)
    assert page.get_attribute("#status", "class") != "error" and re.match(r"\d+ entit", page.inner_text("#status"))
    page.close()


def luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_every_label_colour_keeps_its_small_label_text_readable() -> None:
    """WCAG AA, 4.5:1 for small text: the label in each highlight was #222 at 75% opacity (4.05:1 on #f28482)."""
    page = PAGE.read_text(encoding="utf-8")
    colours = re.findall(r"#[0-9a-f]{6}", re.search(r"const COLOURS = \[(.*?)\];", page).group(1))
    assert len(colours) >= 10
    tag_rule = re.search(r"mark \.tag \{([^}]*)\}", page).group(1)
    assert "opacity" not in tag_rule and "color" not in tag_rule  # the body's #222, whole
    text = luminance("#222222")
    for colour in colours:
        assert (luminance(colour) + 0.05) / (text + 0.05) >= 4.5, colour


def test_the_capitals_option_reaches_the_service(browser, page_server: str) -> None:
    """Chat that capitalizes only first words needs ``"capitals": "restore"``; the page left it unreachable."""
    page = browser.new_page()
    page.goto(page_server + "/")
    sent: list[dict] = []
    page.on("request", lambda request: sent.append(request.post_data_json) if request.url.endswith("/tag") else None)
    page.fill("#text", "i met john smith in berlin.")
    page.click("#tag")
    page.wait_for_selector("#status:has-text('entit')", timeout=15000)
    page.select_option("#capitals", "restore")
    with page.expect_response("**/tag") as answered:
        page.click("#tag")
    assert answered.value.ok
    assert [body.get("capitals", "auto") for body in sent] == ["auto", "restore"]
    assert page.get_attribute("#status", "class") != "error", page.inner_text("#status")
    page.close()


def test_the_page_calls_the_api_under_a_proxys_prefix_when_its_address_lacks_the_final_slash(
    browser, page_server: str
) -> None:
    """A proxy that strips /ner serves /ner as / (Traefik's StripPrefix): the page's relative calls went to
    the host's /models and /tag. Here the browser strips it, as that proxy would."""
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    def strip(route) -> None:
        path = route.request.url.split("/ner", 1)[1]
        route.fulfill(response=route.fetch(url=page_server + (path or "/")))

    page.route(re.compile(r".*/ner(/.*)?$"), strip)
    page.goto(page_server + "/ner")
    page.fill("#text", "John Smith visited Berlin on Monday.")
    page.click("#tag")
    page.wait_for_selector("#output mark", timeout=15000)
    page.close()
    paths = [url.removeprefix(page_server) for url in requested]
    assert {"/ner/models", "/ner/tag"} <= set(paths) and all(p.startswith("/ner") for p in paths), paths


def test_many_labels_each_keep_one_colour_and_are_found_by_name(
    browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A model of 20 types (Few-NERD has 66) coloured its labels past the tenth with the first ten colours again,
    each by the order a text showed them, and its editor's buttons pushed Cancel off a phone's screen."""
    from .conftest import train_tiny, write_conll

    folder = tmp_path_factory.mktemp("many-labels")
    kinds = [f"KIND{n:02d}" for n in range(20)]
    sentences = [[("See", "O"), (f"w{n}", f"B-{kind}"), (".", "O")] for n, kind in enumerate(kinds)] * 10
    dev = write_conll(folder / "dev.conll", sentences[:20])
    model = train_tiny(folder / "many", write_conll(folder / "train.conll", sentences), dev)
    with running_server([model], folder / "server.log") as url:

        def editor_colours() -> dict[str, str]:
            page = browser.new_page(viewport={"width": 400, "height": 700})
            page.goto(url + "/")
            page.fill("#text", "See w3 .")
            page.click("#tag")
            page.wait_for_selector("#status:has-text('entit')", timeout=15000)
            page.fill("#phrase", "See")
            page.press("#phrase", "Enter")
            assert page.evaluate("document.activeElement.id") == "label-filter"  # 20 labels: find one by name
            colours = page.eval_on_selector_all(
                "#editor-labels button", "bs => bs.map(b => [b.dataset.label, getComputedStyle(b).backgroundColor])"
            )
            labels_box, cancel = (page.locator(f"#{id}").bounding_box() for id in ("editor-labels", "editor-close"))
            assert labels_box["height"] <= 0.4 * 700 + 1 and cancel["y"] < labels_box["y"] + 400  # Cancel in reach
            page.keyboard.type("kind07")
            visible = page.eval_on_selector_all("#editor-labels button", "bs => bs.filter(b => !b.hidden).length")
            page.keyboard.press("Enter")
            assert visible == 1 and ["See", "KIND07"] in page.evaluate(
                "() => doc.entities.map(e => [[...doc.text].slice(e.start, e.end).join(''), e.label])"
            )
            page.close()
            return dict(colours)

        first = editor_colours()
        assert sorted(first) == kinds and min_colour_difference(first.values()) >= 10  # each its own colour
        assert editor_colours() == first  # and the same on the next visit
        page = browser.new_page()
        page.goto(url + "/")  # Few-NERD's 66 labels: past the palette's ten, hues a step apart came back alike
        extra = page.evaluate(AS_RGB.replace("COLOURS", "[...Array(56).keys()].map(extraColour)"))
        page.close()
        assert min_colour_difference(extra) >= 7


# CSS colours as the browser computes them: rgb(r, g, b).
AS_RGB = """() => COLOURS.map((css) => {
  document.body.style.color = css;
  const rgb = getComputedStyle(document.body).color;
  document.body.style.color = "";
  return rgb;
})"""


def min_colour_difference(colours: Iterable[str]) -> float:
    """The least CIE76 difference between two of ``colours`` (CSS ``rgb(r, g, b)``): under about 2, alike."""

    def lab(css: str) -> tuple[float, float, float]:
        r, g, b = (int(c) / 255 for c in re.findall(r"\d+", css)[:3])
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b))

        def f(t: float) -> float:
            return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

        x, y = f((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047), f(0.2126 * r + 0.7152 * g + 0.0722 * b)
        return 116 * y - 16, 500 * (x - y), 200 * (y - f((0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883))

    labs = [lab(css) for css in colours]
    return min(math.dist(a, b) for i, a in enumerate(labs) for b in labs[i + 1 :])
