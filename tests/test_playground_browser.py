"""The playground page in a real browser: Debian's Chromium driven by Playwright.

A real uvicorn server on 127.0.0.1 (an ephemeral port, in a thread) serves the page;
every request to anywhere else is refused, so the page is shown to work offline.  The
tests press play and watch the test loss fall on xor, change the activation and the
layers, edit a weight, reload from the URL hash, and check screenshots.

They need ``playwright`` (the "test" extra) and a Chromium at ``chromium`` on the PATH
(``apt-get install chromium``; Playwright's own browser download is not used).
"""

from __future__ import annotations

import asyncio
import io
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright (test extra)")
pytest.importorskip("uvicorn", reason="the playground needs uvicorn (deltaprop[playground])")
CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip(
        "the browser tests need Chromium on the PATH as 'chromium' (apt-get install chromium)",
        allow_module_level=True,
    )
Image = pytest.importorskip("PIL.Image", reason="reading the screenshots needs Pillow")

from deltaprop.playground import from_hash  # noqa: E402
from deltaprop.playground._server import make_server  # noqa: E402

XOR = "data=xor&points=200&hidden=4,2&act=tanh&lr=0.1&batch=10&seed=1"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server, sock, address = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the playground server did not start"
    yield address
    server.should_exit = True
    thread.join(timeout=10)
    assert not thread.is_alive(), "the playground server did not stop"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, url):
    """A page of the playground at a hash; requests anywhere but the server are refused."""
    pages = []

    def make(hash_: str = "", *, width: int = 1280, height: int = 800, csp: bool = True):
        context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=not csp)
        outside: list[str] = []

        def only_local(route):
            if route.request.url.startswith(url) or route.request.url.startswith(url.replace("http", "ws")):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        context.route("**/*", only_local)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url + ("#" + hash_ if hash_ else ""))
        sync_api.expect(page.locator(".unit").first).to_be_visible()
        page.outside, page.errors = outside, errors
        pages.append(context)
        return page

    yield make
    for context in pages:
        context.close()


def state(page, expression: str):
    return page.evaluate(f"() => {expression}")


def wait_for(page, expression: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = state(page, expression)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {expression}")


def test_controls_change_the_network_and_the_hash(open_page):
    page = open_page(XOR, csp=False)
    page.select_option("#activation", "relu")
    wait_for(page, "location.hash.includes('act=relu')")
    page.click("#add-layer")
    wait_for(page, "window.playground.setup.sizes.length === 5")
    page.click("button[aria-label='layer 1 add a unit']")
    wait_for(page, "window.playground.setup.sizes[1] === 5")
    assert state(page, "window.playground.setup.sizes") == [2, 5, 2, 2, 2]
    assert page.locator(".unit").count() == 7 + 5 + 2 + 2 + 2
    page.locator(".unit[data-feature='x1x2']").click()  # use x1 x2 as a third input
    wait_for(page, "window.playground.setup.sizes[0] === 3")
    s = from_hash(state(page, "location.hash"))
    assert (s.activation, s.hidden, s.features) == ("relu", (5, 2, 2), ("x1", "x2", "x1x2"))
    # the view's check boxes, a data set tile, regenerate: each lands in the hash
    page.check("#discretize")
    page.check("#show_test")
    wait_for(page, "location.hash.includes('discrete=1') && location.hash.includes('test=1')")
    assert page.locator("#classes-row").is_hidden()
    page.click("#datasets button[data-name='spiral']")
    wait_for(page, "location.hash.includes('data=spiral')")
    assert page.locator("#classes-row").is_visible()
    seed = from_hash(state(page, "location.hash")).seed
    page.click("#regenerate")
    wait_for(page, f"!location.hash.includes('seed={seed}&')")
    # keyboard: the right arrow steps, space plays and pauses
    page.locator("body").press("ArrowRight")
    wait_for(page, "window.playground.frame.epoch === 1")
    page.locator("body").press(" ")
    wait_for(page, "window.playground.playing && window.playground.frame.epoch > 3")
    page.locator("body").press(" ")
    wait_for(page, "!window.playground.playing")


def test_a_weight_and_a_bias_typed_into_the_page(open_page):
    page = open_page(XOR, csp=False)
    link = page.locator("path.hit[data-layer='2'][data-to='1'][data-from='0']")
    link.dispatch_event("click", {"clientX": 500, "clientY": 300})
    page.fill("#editor-value", "-2.5")
    page.press("#editor-value", "Enter")
    wait_for(page, "window.playground.frame.W[1][1][0] === -2.5")
    page.locator(".unit[data-layer='1'][data-unit='2'] .bias").click()
    page.fill("#editor-value", "1.25")
    page.click("#editor-ok")
    wait_for(page, "window.playground.frame.b[0][2] === 1.25")
    # a bad value is refused in the page, with a message
    page.locator(".unit[data-layer='1'][data-unit='2'] .bias").click()
    page.fill("#editor-value", "1000")
    page.press("#editor-value", "Enter")
    sync_api.expect(page.locator("#message")).to_contain_text("from -100 to 100")


def test_reloading_the_link_gives_the_same_state(open_page):
    page = open_page(XOR, csp=False)
    page.select_option("#learning_rate", "0.3")
    page.click("#remove-layer")
    wait_for(page, "window.playground.setup.sizes.length === 3 && location.hash.includes('lr=0.3')")
    for _ in range(3):
        page.click("#step")
    wait_for(page, "window.playground.frame.epoch === 3")
    link = state(page, "location.href")
    first = state(page, "window.playground.frame")
    again = open_page(link.split("#", 1)[1], csp=False)
    assert state(again, "window.playground.setup.hash") == state(page, "window.playground.setup.hash")
    for _ in range(3):
        again.click("#step")
    wait_for(again, "window.playground.frame.epoch === 3")
    second = state(again, "window.playground.frame")
    assert second["W"] == first["W"] and second["test_loss"] == first["test_loss"]


def _pixel(png: bytes, x: float, y: float) -> np.ndarray:
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)
    h, w, _ = image.shape
    return image[int(y * (h - 1)), int(x * (w - 1))]


def test_offline_play_on_xor_brings_the_test_loss_down_and_the_heatmap_shows_the_classes(open_page, tmp_path):
    page = open_page(XOR)  # with the page's own Content-Security-Policy
    assert page.locator("#epoch").inner_text() == "000,000"
    page.click("#play")
    below = "(window.playground.frame?.curve.test ?? []).some((v) => v !== null && v < 0.1)"
    wait_for(page, below, timeout=20)
    # the epoch the test loss first fell below 0.1, from the page's own loss curve (not a polled counter)
    curve = state(page, "window.playground.frame.curve")
    first = next(e for e, v in zip(curve["epoch"], curve["test"], strict=True) if v is not None and v < 0.1)
    assert first <= 150, (first, curve["test"][-5:])
    wait_for(page, "window.playground.frame.epoch >= 300", timeout=30)  # trained on, for a crisp map
    page.click("#play")  # pause
    sync_api.expect(page.locator("#play")).to_have_attribute("aria-label", "play")
    shown = float(page.locator("#test-loss").inner_text())  # the page shows the last frame's loss
    assert shown == pytest.approx(state(page, "window.playground.frame.test_loss"), abs=1e-3)
    png = page.locator("#output-map").screenshot(path=str(tmp_path / "output.png"))
    # xor: class 1 (blue) where x1 x2 < 0, class 0 (orange) where x1 x2 > 0; the map spans [-6, 6]^2
    for x, y in [(0.12, 0.88), (0.88, 0.12), (0.35, 0.65), (0.65, 0.35)]:  # x1 x2 > 0
        r, _, b = _pixel(png, x, y)
        assert r > b + 30, (x, y, r, b)
    for x, y in [(0.12, 0.12), (0.88, 0.88), (0.35, 0.35), (0.65, 0.65)]:  # x1 x2 < 0
        r, _, b = _pixel(png, x, y)
        assert b > r + 30, (x, y, r, b)
    # the lecture's view: click a training point, then a unit
    p = state(page, "window.playground.setup.train[0]")
    box = page.locator("#output-map").bounding_box()
    page.mouse.click(box["x"] + (p[0] + 6) / 12 * box["width"], box["y"] + (6 - p[1]) / 12 * box["height"])
    sync_api.expect(page.locator("#unit-table")).to_contain_text("δ")
    page.locator(".unit[data-layer='1'][data-unit='1']").click()
    sync_api.expect(page.locator("#unit-table")).to_contain_text("Layer h = 1")
    assert "delta^(1) = sigma'(a^(1))" in page.locator("#trace").text_content()
    # export: the Python snippet downloads
    with page.expect_download() as download:
        page.click("#export-python")
    assert "make_trainer" in Path(download.value.path()).read_text()
    assert page.outside == [] and page.errors == []


def test_a_phone_gets_one_column_without_sideways_scrolling(open_page):
    page = open_page(XOR, width=390, height=844, csp=False)
    assert state(page, "document.documentElement.scrollWidth") <= 390
    box = page.locator("#output-map").bounding_box()
    assert box["width"] > 300
    data, output = page.locator(".data").bounding_box(), page.locator(".output").bounding_box()
    assert output["y"] > data["y"] + data["height"]  # stacked, not side by side


def test_the_lecture_view_works_out_a_units_delta_with_its_numbers(open_page):
    page = open_page("data=xor&points=200&hidden=3&act=tanh&lr=0.1&seed=2", csp=False)
    p = state(page, "window.playground.setup.train[3]")
    box = page.locator("#output-map").bounding_box()
    page.mouse.click(box["x"] + (p[0] + 6) / 12 * box["width"], box["y"] + (6 - p[1]) / 12 * box["height"])
    page.locator(".unit[data-layer='1'][data-unit='2']").click()
    sync_api.expect(page.locator(".worked")).to_contain_text("δ(1)3 = σ'(a(1)3)")
    m = state(page, "window.playground.inspect")
    sigma, delta = m["layers"][0]["sigma_prime"][2], m["layers"][0]["delta"][2]
    backprop = sum(row[2] * d for row, d in zip(m["W"][1], m["layers"][1]["delta"], strict=True))
    assert delta == pytest.approx(sigma * backprop, abs=1e-5)  # the lecture's recursion, on screen
    assert f"{delta:.4f}" in page.locator(".worked").inner_text()
