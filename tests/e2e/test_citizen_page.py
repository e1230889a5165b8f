"""The citizen page on its own: zh-CN and English, the phone width (390×844) without horizontal overflow, the
ID-number hint, and the decline path as the counter sees it.

Logging in here goes through the real face API from Python (challenge → frames of a synthetic head turn of
person A in the asked direction → token), and the token is put where the page keeps it (sessionStorage): the
browser face login itself is covered by ``test_counter_flow.py``. The counter page here uses its "paste code"
input, so no camera is needed; the QR code is still read from the citizen page's image with zxing-cpp.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from testkit.faces import Direction, head_turn_frames, to_jpeg
from tests.e2e.test_counter_flow import (
    MATTER_NAME,
    PERSONA_ID,
    PHONE,
    clerk_password,
    counter_login,
    demo_app_builder,
    pick_matter,
    read_page_qr,
)
from tests.fixtures.browser import AppBuilder, LiveServer

pytestmark = pytest.mark.e2e

COUNTER = (1366, 900)


@pytest.fixture
def live_app_builder() -> AppBuilder:
    return demo_app_builder


@pytest.fixture
def demo_server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    return live_server_factory()


def api_face_login(base_url: str, id_number: str = PERSONA_ID) -> dict[str, Any]:
    """A real face login over HTTP: the frames turn the way the challenge asks."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        challenge = client.post("/api/v1/citizen/face/challenge", json={"id_number": id_number})
        assert challenge.status_code == 200, challenge.text
        ch = challenge.json()
        direction: Direction = "left" if ch["action"] == "turn_left" else "right"
        frames = head_turn_frames("astronaut", direction, n=ch["frames"])
        files = [("frames", (f"f{i}.jpg", to_jpeg(f), "image/jpeg")) for i, f in enumerate(frames)]
        login = client.post("/api/v1/citizen/face/login", data={"challenge_id": ch["challenge_id"]}, files=files)
        assert login.status_code == 200, login.text
        result: dict[str, Any] = login.json()
        return result


def open_logged_in(page: Page, base_url: str, login: dict[str, Any], lang: str = "zh-CN") -> None:
    page.goto(f"{base_url}/citizen?lang={lang}")
    page.evaluate(
        "([t, h]) => { sessionStorage.setItem('licex.citizen.token', t); "
        "sessionStorage.setItem('licex.citizen.holder', h); }",
        [login["token"], json.dumps(login["holder"])],
    )
    page.reload()
    expect(page.locator("#home-section")).to_be_visible()


def assert_console_clean_except(page: Page, *statuses: int) -> None:
    """No console errors but the browser's own report of the HTTP error statuses the test provoked."""
    codes = "|".join(str(s) for s in statuses)
    expected = re.compile(rf"Failed to load resource: the server responded with a status of ({codes})")
    errors = [e for e in page.console.errors if not expected.search(e)]  # type: ignore[attr-defined]
    assert not errors, "browser console errors:\n" + "\n".join(errors)


def assert_no_horizontal_overflow(page: Page) -> None:
    widths = page.evaluate(
        "() => ({ doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, "
        "view: document.documentElement.clientWidth })"
    )
    assert widths["doc"] <= widths["view"] and widths["body"] <= widths["view"], widths


def test_citizen_page_zh_cn_and_english_at_phone_width(
    demo_server: LiveServer,
    browser_factory: Callable[..., Browser],
    new_page: Callable[..., Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    page = new_page(browser_factory(), viewport=PHONE)
    page.goto(f"{demo_server.url}/citizen")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#login-title")).to_have_text("我的电子证照")
    expect(page.get_by_test_id("login-start")).to_have_text("开始人脸识别")
    expect(page.locator("label[for=id-number]")).to_have_text("公民身份号码")
    id_input = page.get_by_test_id("id-number")
    id_input.fill("4301021990030712")
    expect(page.locator("#id-hint")).to_have_text("已输入 16 位，需 18 位。")
    id_input.fill("430102199003071235")
    expect(page.locator("#id-hint")).to_have_text("校验位不符，请核对号码。")
    page.get_by_test_id("login-start").click()  # the server checks too, with its own message
    expect(page.get_by_test_id("login-msg")).to_have_text("公民身份号码校验位不符，请核对。")
    id_input.fill("430102199003071234")
    expect(page.locator("#id-hint")).to_have_text("号码格式正确。")
    assert_no_horizontal_overflow(page)
    screenshot(page, "citizen-zh-phone")
    assert_console_clean_except(page, 422)  # the server's refusal of the bad check digit

    page_en = new_page(browser_factory(), viewport=PHONE, locale="en-GB")
    page_en.goto(f"{demo_server.url}/citizen?lang=en")
    expect(page_en.locator("html")).to_have_attribute("lang", "en")
    expect(page_en.locator("#login-title")).to_have_text("My e-licences")
    expect(page_en.get_by_test_id("login-start")).to_have_text("Start face login")
    page_en.get_by_test_id("id-number").fill("43010219900307123")
    expect(page_en.locator("#id-hint")).to_have_text("17 of 18 characters.")
    page_en.get_by_test_id("id-number").fill(PERSONA_ID)
    page_en.get_by_test_id("login-start").click()
    expect(page_en.get_by_test_id("challenge")).to_have_text(re.compile(r"^Turn your head to the (left|right)$"))
    assert_no_horizontal_overflow(page_en)
    screenshot(page_en, "citizen-en-challenge-phone")
    page_en.console.assert_clean()  # type: ignore[attr-defined]


def test_logged_in_home_fits_the_phone_in_both_languages(
    demo_server: LiveServer,
    browser_factory: Callable[..., Browser],
    new_page: Callable[..., Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    login = api_face_login(demo_server.url)
    browser = browser_factory()
    for lang, heading, qr_button in (("zh-CN", "我的证照", "出示二维码"), ("en", "My licences", "Show my QR code")):
        page = new_page(browser, viewport=PHONE)
        open_logged_in(page, demo_server.url, login, lang)
        expect(page.locator("#licences-title")).to_have_text(heading)
        expect(page.get_by_test_id("qr-show")).to_have_text(qr_button)
        expect(page.get_by_test_id("holder-name")).to_have_text("李**")
        expect(page.get_by_test_id("licences").locator("details.licence")).not_to_have_count(0)
        page.get_by_test_id("licences").locator("details.licence").first.locator("summary").click()
        expect(page.get_by_test_id("licences")).to_contain_text("4301**********0625")
        page.get_by_test_id("qr-show").click()
        read_page_qr(page)
        assert_no_horizontal_overflow(page)
        screenshot(page, f"citizen-home-{lang}-phone")
        page.console.assert_clean()  # type: ignore[attr-defined]


def test_decline_shows_on_the_counter(
    demo_server: LiveServer,
    browser_factory: Callable[..., Browser],
    new_page: Callable[..., Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    base = demo_server.url
    browser = browser_factory()
    citizen = new_page(browser, viewport=PHONE)
    open_logged_in(citizen, base, api_face_login(base))
    citizen.get_by_test_id("qr-show").click()
    qr_text = read_page_qr(citizen)

    counter = new_page(browser, viewport=COUNTER)
    counter_login(counter, base, clerk_password(demo_server))
    pick_matter(counter)
    counter.get_by_test_id("qr-paste").fill(qr_text)
    counter.get_by_test_id("paste-submit").click()
    case = counter.get_by_test_id("case")
    expect(case).to_have_attribute("data-status", "pending")

    request = citizen.get_by_test_id("request")
    expect(request).to_be_visible(timeout=10_000)
    expect(request).to_contain_text(MATTER_NAME)
    request.get_by_test_id("decline").click()
    expect(citizen.get_by_test_id("home-msg")).to_contain_text("已拒绝")
    expect(citizen.get_by_test_id("request")).to_have_count(0)

    expect(case).to_have_attribute("data-status", "declined", timeout=15_000)
    expect(counter.get_by_test_id("case-status")).to_have_text("群众已拒绝授权，不能获取证照。")
    expect(counter.get_by_test_id("case-licences")).to_be_empty()
    screenshot(counter, "counter-declined")

    counter.console.assert_clean()  # type: ignore[attr-defined]

    # the same code cannot be used twice
    counter.get_by_test_id("qr-paste").fill(qr_text)
    counter.get_by_test_id("paste-submit").click()
    expect(counter.get_by_test_id("scan-status")).to_have_text("二维码已被使用，请群众刷新后重新出示。")

    citizen.reload()
    expect(citizen.get_by_test_id("usage").locator('[data-action="consent_declined"]')).to_contain_text("拒绝授权")
    expect(citizen.get_by_test_id("approved")).not_to_contain_text(MATTER_NAME)
    screenshot(citizen, "citizen-after-decline")
    citizen.console.assert_clean()  # type: ignore[attr-defined]
    assert_console_clean_except(counter, 409)  # the refused second use of the code
