"""The web base in a real browser: landing page (zh-CN / en, phone width, CSP, print), QR scanning from a fake
camera, camera errors and un-mirrored capture.

Runs against a small standalone app (``pages_router`` + static + test-only pages) so it does not depend on the
rest of the exchange. Screenshots land in ``tests/artefacts/screens/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from playwright.sync_api import Browser, Page, expect

from exchange.web import mount_static, pages_router, render
from exchange.web.templating import CSP, templates
from tests.fixtures.y4m import qr_frames, write_y4m

pytestmark = pytest.mark.e2e

PAYLOAD = "LX1TESTPAYLOAD"
PHONE = (390, 844)
COUNTER = (1366, 768)

# Test-only pages: a template string extending base.html, and its script served from the same origin (the CSP
# forbids inline scripts, exactly as for real pages).
SCAN_PAGE = templates.env.from_string(
    """{% extends "base.html" %}
{% block content %}
<h1>QR scan check</h1>
<div class="camera"><video id="video" muted playsinline></video><div class="camera-frame"></div></div>
<canvas id="canvas" hidden></canvas>
<p id="scan-status" class="notice" role="status"></p>
<ol id="decoded"></ol>
{% endblock %}
{% block scripts %}
<script type="module" src="/test-assets/scan.js" nonce="{{ csp_nonce }}"></script>
{% endblock %}
"""
)
SCAN_JS = """
import { startQrScanner } from "/static/js/qrscan.js";
const out = document.getElementById("decoded");
startQrScanner(document.getElementById("video"), document.getElementById("canvas"), (text) => {
  const li = document.createElement("li");
  li.textContent = text;
  out.appendChild(li);
}, { fps: 10, statusEl: document.getElementById("scan-status") })
  .then((scanner) => { window.scanner = scanner; document.body.dataset.scanner = "running"; })
  .catch((e) => { document.body.dataset.scanner = "error:" + e.code; });
"""
CAPTURE_PAGE = templates.env.from_string(
    """{% extends "base.html" %}
{% block content %}
<div class="camera"><video id="video" class="mirror" muted playsinline></video></div>
<p id="result" data-testid="result"></p>
{% endblock %}
{% block scripts %}<script type="module" src="/test-assets/capture.js"></script>{% endblock %}
"""
)
PRINT_PAGE = templates.env.from_string(
    """{% extends "base.html" %}
{% block content %}
<h1 id="kiosk-title">{{ t("landing.kiosk_title") }}</h1>
<div class="actions" id="kiosk-actions">
  <button class="btn btn-primary" type="button">{{ t("common.print") }}</button>
  <a class="btn" href="/">{{ t("common.back") }}</a>
</div>
<section class="card print-area" id="proof"><h2>Proof No. 0001</h2><p>Printable part.</p></section>
{% endblock %}
"""
)
CAPTURE_JS = """
import { openCamera, captureFrames } from "/static/js/camera.js";
const video = document.getElementById("video");
const cam = await openCamera(video, { facingMode: "user" });
const blobs = await captureFrames(video, { count: 3, intervalMs: 100, maxWidth: 320 });
cam.stop();
const bitmap = await createImageBitmap(blobs[0]);
const canvas = document.createElement("canvas");
canvas.width = bitmap.width; canvas.height = bitmap.height;
const ctx = canvas.getContext("2d");
ctx.drawImage(bitmap, 0, 0);
const y = Math.floor(bitmap.height / 2);
const left = Array.from(ctx.getImageData(10, y, 1, 1).data.slice(0, 3));
const right = Array.from(ctx.getImageData(bitmap.width - 10, y, 1, 1).data.slice(0, 3));
document.getElementById("result").textContent = JSON.stringify({
  n: blobs.length, types: blobs.map((b) => b.type), width: bitmap.width, height: bitmap.height, left, right,
});
"""


def build_test_app() -> FastAPI:
    app = FastAPI()
    app.include_router(pages_router)
    mount_static(app)

    @app.get("/test/scan", response_class=HTMLResponse)
    def scan_page(request: Request) -> HTMLResponse:
        return render(request, SCAN_PAGE, body_class="layout-citizen")

    @app.get("/test/capture", response_class=HTMLResponse)
    def capture_page(request: Request) -> HTMLResponse:
        return render(request, CAPTURE_PAGE, body_class="layout-citizen")

    @app.get("/test/print", response_class=HTMLResponse)
    def print_page(request: Request) -> HTMLResponse:
        return render(request, PRINT_PAGE, body_class="layout-page kiosk")

    @app.get("/test-assets/{name}.js")
    def test_js(name: str) -> Response:
        source = {"scan": SCAN_JS, "capture": CAPTURE_JS}[name]
        return Response(source, media_type="text/javascript")

    return app


@pytest.fixture
def live_app_builder() -> Callable[[Path, str], Any]:
    return lambda data_dir, base_url: build_test_app()


def horizontal_overflow(page: Page) -> list[str]:
    """Elements sticking out past the right edge of the viewport (and the page's own scroll width)."""
    result: list[str] = page.evaluate(
        """() => {
        const vw = document.documentElement.clientWidth;
        const bad = [];
        const sw = document.documentElement.scrollWidth;
        if (sw > vw) bad.push(`page scrollWidth ${sw} > ${vw}`);
        for (const el of document.body.querySelectorAll("*")) {
          const r = el.getBoundingClientRect();
          if (r.width && r.right > vw + 0.5) {
            bad.push(`${el.tagName.toLowerCase()}.${el.className} right=${r.right}`);
          }
        }
        return bad;
    }"""
    )
    return result


def test_landing_zh_cn_at_phone_width(
    live_server: str, browser_factory: Callable[..., Browser], new_page: Callable[..., Page], screenshot: Any
) -> None:
    page = new_page(browser_factory(), viewport=PHONE, locale="zh-CN")
    response = page.goto(live_server + "/")
    assert response is not None and response.status == 200
    assert response.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "frame-ancestors 'none'" in CSP
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    expect(page.locator(".site-header")).to_contain_text("长沙市")
    expect(page.locator(".site-header")).to_contain_text("无证明城市")
    expect(page.locator(".site-header")).to_contain_text("电子证照")
    expect(page.locator("footer")).to_contain_text("用证记录")
    expect(page.locator("footer")).to_contain_text("365 天")
    for path in ("/citizen", "/counter", "/kiosk", "/verify", "/docs"):
        expect(page.locator(f'main a[href="{path}"]')).to_have_count(1)
    expect(page.get_by_test_id("lang-switch")).to_have_text("English")
    # big touch targets on the phone
    heights = page.eval_on_selector_all(".card-link", "els => els.map(e => e.getBoundingClientRect().height)")
    assert min(heights) >= 48
    assert horizontal_overflow(page) == []
    screenshot(page, "landing-zh-CN-phone")
    page.console.assert_clean()  # type: ignore[attr-defined]


def test_landing_in_english_and_language_is_remembered(
    live_server: str, browser_factory: Callable[..., Browser], new_page: Callable[..., Page], screenshot: Any
) -> None:
    page = new_page(browser_factory(), viewport=PHONE, locale="zh-CN")
    page.goto(live_server + "/?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.locator(".site-header")).to_contain_text("Changsha")
    expect(page.locator("h1")).to_have_text("E-licences instead of paper certificates")
    assert horizontal_overflow(page) == []
    screenshot(page, "landing-en-phone")
    # the cookie keeps English on the next visit without ?lang=
    page.goto(live_server + "/")
    assert page.locator("html").get_attribute("lang") == "en"
    # the switch goes back to Chinese
    page.get_by_test_id("lang-switch").click()
    page.wait_for_url("**/?lang=zh-CN")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.console.assert_clean()  # type: ignore[attr-defined]


def test_accept_language_picks_english(
    live_server: str, browser_factory: Callable[..., Browser], new_page: Callable[..., Page]
) -> None:
    page = new_page(browser_factory(), viewport=PHONE, locale="en-GB")
    page.goto(live_server + "/")
    assert page.locator("html").get_attribute("lang") == "en"


def test_landing_at_counter_width_and_print(
    live_server: str, browser_factory: Callable[..., Browser], new_page: Callable[..., Page], screenshot: Any
) -> None:
    page = new_page(browser_factory(), viewport=COUNTER)
    page.goto(live_server + "/")
    assert horizontal_overflow(page) == []
    tops = page.eval_on_selector_all(
        ".card-link", "els => els.map(e => Math.round(e.getBoundingClientRect().top))"
    )
    assert len(set(tops)) < len(tops), "cards should sit side by side on a wide screen"
    screenshot(page, "landing-zh-CN-counter")
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.locator(".site-footer").is_visible()
    page.console.assert_clean()  # type: ignore[attr-defined]


def test_kiosk_layout_prints_only_the_print_area(
    live_server: str, browser_factory: Callable[..., Browser], new_page: Callable[..., Page], screenshot: Any
) -> None:
    page = new_page(browser_factory(), viewport=(1080, 1920))
    page.goto(live_server + "/test/print")
    assert page.eval_on_selector(".btn", "e => e.getBoundingClientRect().height") >= 72
    assert page.eval_on_selector("body", "e => parseFloat(getComputedStyle(e).fontSize)") >= 22
    assert page.eval_on_selector(".privacy-note p", "e => parseFloat(getComputedStyle(e).fontSize)") >= 18
    screenshot(page, "kiosk-screen", full_page=False)
    page.emulate_media(media="print")
    assert page.locator("#proof").is_visible()
    for hidden in ("#kiosk-title", "#kiosk-actions", ".site-header", ".site-footer"):
        assert not page.locator(hidden).is_visible(), hidden
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    page.console.assert_clean()  # type: ignore[attr-defined]


def test_qr_scanner_decodes_the_fake_camera(
    live_server: str,
    browser_factory: Callable[..., Browser],
    new_page: Callable[..., Page],
    screenshot: Any,
    tmp_path: Path,
) -> None:
    video = write_y4m(tmp_path / "qr.y4m", qr_frames(PAYLOAD, size=(640, 480), n=20), fps=10)
    page = new_page(browser_factory(video), viewport=PHONE)
    page.goto(live_server + "/test/scan")
    expect(page.locator("#decoded li")).to_have_text([PAYLOAD], timeout=15_000)
    expect(page.locator("#scan-status")).to_have_text("已识别二维码")
    # once per distinct code, although the camera keeps showing it
    page.wait_for_timeout(800)
    expect(page.locator("#decoded li")).to_have_count(1)
    screenshot(page, "qr-scan-decoded")
    page.evaluate("window.scanner.stop()")
    assert page.evaluate("document.getElementById('video').srcObject") is None
    page.console.assert_clean()  # type: ignore[attr-defined]


def test_qr_scanner_explains_a_refused_camera(
    live_server: str, browser_factory: Callable[..., Browser], new_page: Callable[..., Page], screenshot: Any
) -> None:
    page = new_page(browser_factory(camera="deny"), viewport=PHONE)
    page.goto(live_server + "/test/scan?lang=en")
    expect(page.locator("body")).to_have_attribute("data-scanner", "error:denied", timeout=10_000)
    expect(page.locator("#scan-status")).to_contain_text("camera permission was refused")
    screenshot(page, "qr-scan-camera-denied-en")


def test_captured_frames_are_jpeg_and_not_mirrored(
    live_server: str,
    browser_factory: Callable[..., Browser],
    new_page: Callable[..., Page],
    tmp_path: Path,
) -> None:
    # left half red, right half blue, as the camera sees it; the preview is CSS-mirrored, the capture is not
    frame = np.zeros((480, 640, 3), dtype=np.uint8)
    frame[:, :320] = (220, 20, 20)
    frame[:, 320:] = (20, 20, 220)
    video = write_y4m(tmp_path / "halves.y4m", [frame] * 10, fps=10)
    page = new_page(browser_factory(video), viewport=PHONE)
    page.goto(live_server + "/test/capture")
    result = page.get_by_test_id("result")
    expect(result).not_to_be_empty(timeout=15_000)
    data = json.loads(result.text_content() or "{}")
    assert data["n"] == 3 and data["types"] == ["image/jpeg"] * 3
    assert data["width"] == 320 and data["height"] == 240
    left, right = data["left"], data["right"]
    assert left[0] > 150 and left[2] < 100, f"left edge should be red, got {left}"
    assert right[2] > 150 and right[0] < 100, f"right edge should be blue, got {right}"
    page.console.assert_clean()  # type: ignore[attr-defined]


def test_default_live_server_runs_the_exchange(
    live_server_factory: Callable[..., Any],
    browser_factory: Callable[..., Browser],
    new_page: Callable[..., Page],
) -> None:
    """The default builder (``exchange.app.create_app`` with throw-away settings) serves the pages."""
    from tests.fixtures.browser import default_app_builder

    server = live_server_factory(default_app_builder)
    assert server.data_dir.is_dir()
    page = new_page(browser_factory(), viewport=PHONE)
    response = page.goto(server.url + "/")
    assert response is not None and response.status == 200
    expect(page.locator(".site-header")).to_contain_text("长沙市")
    expect(page.locator("footer")).to_contain_text("365 天")
    page.console.assert_clean()  # type: ignore[attr-defined]
