"""Issue 13, kiosk: a public terminal in portrait (1080×1920) that keeps the citizen in, and warns before it
logs them out — on the proof preview too. Real Chromium, the real demo exchange, the face gate passed with the
fake camera exactly as in test_kiosk.py (whose helpers this module reuses)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_kiosk import demo_app_builder, face_login, head_turn_video, pin_challenge

pytestmark = pytest.mark.e2e

PORTRAIT = (1080, 1920)
IDLE_S = 14  # the page warns at min(15, IDLE_S // 2) = 7 s left


@pytest.fixture
def live_app_builder() -> Any:
    return demo_app_builder


def live_links_out(page: Any) -> list[str]:
    """Every visible link that leaves the page (same-page #fragments are not a way out)."""
    result: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('a[href], area[href]')]
              .filter((a) => a.getClientRects().length && getComputedStyle(a).visibility !== 'hidden')
              .map((a) => a.getAttribute('href'))
              .filter((h) => !h.startsWith('#'))"""
    )
    return result


def test_kiosk_portrait_lockdown_and_idle_warning_on_the_preview(
    live_server: str, browser_factory: Any, new_page: Any, screenshot: Any, tmp_path: Path
) -> None:
    browser = browser_factory(head_turn_video(tmp_path / "head-turn-left.y4m"))
    page = new_page(browser, viewport=PORTRAIT)
    pin_challenge(page)
    page.goto(f"{live_server}/kiosk?idle={IDLE_S}")

    # portrait: the keypad fills the screen rather than its top third
    keypad = page.get_by_test_id("keypad").bounding_box()
    assert keypad is not None and keypad["y"] + keypad["height"] > PORTRAIT[1] * 0.5, keypad
    assert page.locator(".brand").evaluate("(b) => b.tagName") == "SPAN"  # the logo leads nowhere
    assert page.get_by_test_id("lang-switch").is_visible()  # before login the language may change
    screenshot(page, "i13-kiosk-01-portrait-start", full_page=False)

    face_login(page)
    page.locator('[data-testid="proof-types"] button').first.wait_for()
    assert not page.get_by_test_id("lang-switch").is_visible()  # switching now would end the session silently
    assert live_links_out(page) == []
    realty = page.get_by_test_id("proof-type-realty_query")
    assert "有无房证明" in realty.inner_text()  # the name people ask for, with the official one below
    assert "不动产登记信息查询结果证明" in realty.inner_text()
    screenshot(page, "i13-kiosk-02-portrait-home", full_page=False)

    realty.click()
    page.locator("#proof-print:not([disabled])").wait_for(timeout=60_000)
    src = page.get_by_test_id("proof-frame").get_attribute("src") or ""
    assert src.startswith("blob:") and "toolbar=0" in src  # the viewer without its own buttons
    address = page.get_by_test_id("proof-verify-address")
    assert "/v/" in address.inner_text()
    assert live_links_out(page) == []  # 核验地址 is printed, not a live link out of the kiosk
    frame = page.get_by_test_id("proof-frame").bounding_box()
    assert frame is not None and frame["width"] > 900 and frame["height"] > 1000  # readable, page-wide
    note = page.get_by_test_id("idle-note")
    assert note.is_visible()  # the countdown shows on the preview
    page.wait_for_timeout(2500)
    before = int(note.get_attribute("data-seconds") or "0")
    assert before < IDLE_S
    page.mouse.click(frame["x"] + frame["width"] / 2, frame["y"] + frame["height"] / 3)  # a tap into the PDF
    page.wait_for_function(f"() => Number(document.getElementById('idle-note').dataset.seconds) >= {IDLE_S - 1}")
    screenshot(page, "i13-kiosk-03-preview", full_page=False)

    warning = page.get_by_test_id("idle-warning")
    warning.wait_for(state="visible", timeout=20_000)
    assert page.locator("#kiosk").get_attribute("data-step") == "proof"  # warned while reading the preview
    assert "秒后将自动退出" in page.get_by_test_id("idle-warning-text").inner_text()
    box = warning.bounding_box()
    assert box is not None and box["width"] >= PORTRAIT[0] - 1  # covers the screen, the preview included
    screenshot(page, "i13-kiosk-04-idle-warning-on-preview", full_page=False)
    page.get_by_test_id("idle-continue").click()
    assert not warning.is_visible()
    assert page.locator("#kiosk").get_attribute("data-step") == "proof"

    page.locator('#kiosk[data-logged-out="idle"]').wait_for(timeout=30_000)
    assert page.evaluate("sessionStorage.getItem('licex.token')") is None
    assert page.get_by_test_id("lang-switch").is_visible()
    screenshot(page, "i13-kiosk-05-idle-logged-out", full_page=False)
    page.console.assert_clean()


def test_kiosk_in_english_after_login_speaks_english(
    live_server: str, browser_factory: Any, new_page: Any, screenshot: Any, tmp_path: Path
) -> None:
    """The logged-in kiosk in English: licence and proof names in English, no Chinese label where an English
    one exists (the check of test_i18n_walk.py, on the pages only a face login reaches)."""
    from tests.e2e.test_i18n_walk import (
        catalogue_names_with_english,
        problems_en,
        visible_leaves,
        visible_text,
        zh_labels_with_english,
    )

    browser = browser_factory(head_turn_video(tmp_path / "head-turn-left.y4m"))
    page = new_page(browser, viewport=PORTRAIT, locale="en-GB")
    pin_challenge(page)
    page.goto(f"{live_server}/kiosk?lang=en")
    face_login(page)
    page.locator('[data-testid="proof-types"] button').first.wait_for()
    labels, names = zh_labels_with_english(), catalogue_names_with_english()
    report = {}
    for tab in ("proofs", "licences", "history"):
        page.get_by_test_id(f"tab-{tab}").click()
        if tab == "licences":
            page.locator('[data-testid="licence"]').first.wait_for()
        found = problems_en(visible_text(page), visible_leaves(page), labels, names)
        if found:
            report[tab] = found
        screenshot(page, f"i13-kiosk-en-{tab}", full_page=False)
    assert "Property ownership proof" in page.get_by_test_id("proof-type-realty_query").inner_text()
    assert not report, report
    page.console.assert_clean()
