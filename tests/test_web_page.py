"""The web page in a real headless Chromium (Debian's, driven by Playwright) against the real server."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

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
