"""Issue 13: the pages as their users live them, in real Chromium against the real demo exchange.

* the counter's scan loop: a refused QR left in front of the camera is sent once, its reason stays on screen,
  and the citizen's log records the refusal once;
* the citizen's QR when the network drops: the stale code is hidden, the page says it is offline, and the error
  is gone when a fresh code arrives;
* public pages (/v/ and /verify) mask every person the same way and print China Standard Time for people.

Where a test needs a citizen who is already logged in (the face gate itself is tested in test_counter_flow.py
and test_kiosk.py), the session is minted with the exchange's own ``issue_session``, as the non-browser counter
tests do, and put where the citizen page keeps it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.e2e.test_counter_flow import demo_app_builder
from tests.fixtures.browser import AppBuilder, LiveServer
from tests.fixtures.y4m import qr_frames, write_y4m

pytestmark = pytest.mark.e2e

PERSONA = 0  # 李建华: a flat owned together with 孙涛 (realty_query shows a co-owner)
MATTER = "teacher_qualification_recognition"
COUNTER = (1366, 768)
PHONE = (390, 844)
ISO_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@pytest.fixture
def live_app_builder() -> AppBuilder:
    return demo_app_builder


@pytest.fixture
def demo_server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    return live_server_factory()


def citizen_session(server: LiveServer, index: int = PERSONA) -> tuple[str, str]:
    """(token, id number) of a citizen session as a face login mints it."""
    from exchange.auth.citizen import encrypt_id, issue_session
    from issuers.demo import PERSONAS

    ctx = server.app.state.ctx
    number = PERSONAS[index].id_number
    token = issue_session(ctx, holder_hash=ctx.protector.holder_hash(number), enc=encrypt_id(ctx, number),
                          method="test").token
    return token, number


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def clerk_login(server: LiveServer, username: str = "clerk01") -> str:
    from exchange.counter.provision import demo_clerk_passwords

    password = demo_clerk_passwords(server.data_dir)[username]
    resp = httpx.post(f"{server.url}/api/v1/counter/login", json={"username": username, "password": password},
                      timeout=30)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["token"])


def usage(server: LiveServer, token: str) -> list[dict[str, Any]]:
    resp = httpx.get(f"{server.url}/api/v1/citizen/usage?limit=200", headers=bearer(token), timeout=30)
    assert resp.status_code == 200, resp.text
    entries: list[dict[str, Any]] = resp.json()
    return entries


# ------------------------------------------------------------------------------------------------ point 1


def test_counter_keeps_a_refusal_on_screen_and_does_not_resend_the_code(
    tmp_path: Path, demo_server: LiveServer, browser_factory: Callable[..., Browser],
    new_page: Callable[..., Page], screenshot: Callable[[Page, str], Path],
) -> None:
    base = demo_server.url
    citizen, _ = citizen_session(demo_server)
    qr = httpx.post(f"{base}/api/v1/citizen/qr", headers=bearer(citizen), timeout=30)
    assert qr.status_code == 200, qr.text
    qr_text = str(qr.json()["qr_text"])
    clerk2 = clerk_login(demo_server, "clerk02")
    first = httpx.post(f"{base}/api/v1/counter/scan", headers=bearer(clerk2), timeout=30,
                       json={"matter": MATTER, "qr_text": qr_text})
    assert first.status_code == 200, first.text  # the code is spent: every later scan is QR_USED

    # the spent code stays in front of the counter's camera (as right after 办理下一位)
    browser = browser_factory(write_y4m(tmp_path / "used-qr.y4m", qr_frames(qr_text), fps=10))
    page = new_page(browser, viewport=COUNTER)
    scans: list[Request] = []
    page.on("request", lambda r: scans.append(r) if r.url.endswith("/api/v1/counter/scan") else None)
    from exchange.counter.provision import demo_clerk_passwords

    page.goto(f"{base}/counter")
    page.get_by_test_id("username").fill("clerk01")
    page.get_by_test_id("password").fill(demo_clerk_passwords(demo_server.data_dir)["clerk01"])
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("clerk-bar")).to_be_visible()
    page.get_by_test_id("matter").select_option(MATTER)
    # point 9: after picking the matter the scan step is in view at 1366×768
    page.wait_for_timeout(800)  # the smooth scroll
    scan_box = page.locator("#scan-step").bounding_box()
    assert scan_box is not None and 0 <= scan_box["y"] < COUNTER[1] - 100, scan_box
    screenshot(page, "i13-counter-01-matter-picked-scan-in-view", full_page=False)

    page.get_by_test_id("scan-start").click()
    status = page.get_by_test_id("scan-status")
    expect(status).to_contain_text("二维码已被使用", timeout=20_000)
    page.wait_for_timeout(6000)  # ≈48 frames at 8 fps, each of them decoding the same spent code
    expect(status).to_contain_text("二维码已被使用")  # the reason stays; not overwritten by "请将二维码对准…"
    assert len(scans) == 1, f"the refused code was sent {len(scans)} times"
    expect(status).to_be_in_viewport()  # the clerk sees the reason without scrolling
    screenshot(page, "i13-counter-02-refusal-stays", full_page=False)

    # pasting the same code again: not sent again, and the page says why
    page.get_by_test_id("qr-paste").fill(qr_text)
    page.get_by_test_id("paste-submit").click()
    expect(status).to_contain_text("未再次提交")
    assert len(scans) == 1

    # a fresh page (its memory gone) sends it once more; the exchange logs the repeated refusal only once
    page.reload()
    expect(page.get_by_test_id("clerk-bar")).to_be_visible()
    expect(page.get_by_test_id("matter")).to_have_value(MATTER)  # the saved matter is back (the catalogue loaded)
    page.get_by_test_id("qr-paste").fill(qr_text)
    page.get_by_test_id("paste-submit").click()
    expect(status).to_contain_text("二维码已被使用")
    assert len(scans) == 2
    refusals = [e for e in usage(demo_server, citizen) if e["action"] == "scan_refused"]
    assert len(refusals) == 1, refusals
    assert refusals[0]["subject"]["reason"] == "QR_USED"
    assert "clerk01" not in refusals[0]["actor"]  # the citizen reads a name, not an internal username
    screenshot(page, "i13-counter-03-refused-after-reload", full_page=False)
    assert_clean_except(page, "status of 409")  # the two refusals themselves


def assert_clean_except(page: Page, *expected: str) -> None:
    """No console errors but the expected ones (Chromium logs every 4xx response as a console error)."""
    errors = [e for e in page.console.errors if not any(x in e for x in expected)]  # type: ignore[attr-defined]
    assert not errors, "browser console errors:\n" + "\n".join(errors)


# ------------------------------------------------------------------------------------------------ point 7


def long_log(server: LiveServer, id_number: str, n: int) -> None:
    """``n`` entries in the holder's usage log, as n public checks of a proof would write them."""
    from exchange.kit.db import unit_of_work
    from exchange.usage import service as usage
    from exchange.usage.service import Actor

    ctx = server.app.state.ctx
    holder = ctx.protector.holder_hash(id_number)
    with unit_of_work(ctx.sessions) as s:
        for i in range(n):
            usage.record(s, holder, "proof_verified", Actor("public", "扫码核验"),
                         subject={"proof_id": f"CS-BDC-20261201-TEST{i:04d}-X", "via": "public_page"})


def citizen_page(browser: Browser, new_page: Callable[..., Page], base: str, token: str, *,
                 viewport: tuple[int, int] = PHONE, locale: str = "zh-CN") -> Page:
    """The citizen page with a face-login session already in this tab's sessionStorage."""
    page = new_page(browser, viewport=viewport, locale=locale)
    holder = '{"name_masked": "李**", "id_masked": "4301**********0625"}'
    page.add_init_script(
        f"sessionStorage.setItem('licex.citizen.token', {token!r});"
        f"sessionStorage.setItem('licex.citizen.holder', {holder!r});"
    )
    page.goto(f"{base}/citizen")
    return page


def test_citizen_qr_goes_away_offline_and_comes_back_fresh(
    demo_server: LiveServer, browser_factory: Callable[..., Browser], new_page: Callable[..., Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    base = demo_server.url
    token, number = citizen_session(demo_server)
    long_log(demo_server, number, 57)  # more than one page of 50 entries
    page = citizen_page(browser_factory(), new_page, base, token)
    expect(page.locator("#home-section")).to_be_visible()
    # focus moved to the step's heading (a screen reader reads where the citizen is), not left on <body>
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'home-title'")

    page.get_by_test_id("qr-show").click()
    img = page.locator("#qr-img")
    expect(img).to_have_attribute("src", re.compile(r"^data:image/svg\+xml;base64,"))
    first_src = img.get_attribute("src")
    assert page.evaluate("() => document.activeElement.id") == "qr-box"  # focus follows the code, not <body>
    screenshot(page, "i13-citizen-01-qr-online")

    page.context.set_offline(True)
    qr_status = page.get_by_test_id("qr-status")
    expect(qr_status).to_contain_text("网络已断开")
    expect(img).to_be_hidden()  # the stale code is gone, not left to be scanned
    assert img.get_attribute("src") is None
    expect(page.locator("#qr-waiting")).to_be_hidden()  # no spinner pretending to wait for a counter
    expect(page.get_by_test_id("qr-countdown")).to_have_text("")  # no "0 秒后刷新"
    page.wait_for_timeout(1500)
    expect(img).to_be_hidden()
    screenshot(page, "i13-citizen-02-qr-offline")

    page.context.set_offline(False)
    expect(img).to_be_visible(timeout=15_000)
    expect(img).to_have_attribute("src", re.compile(r"^data:image/svg\+xml;base64,"))
    assert img.get_attribute("src") != first_src  # a fresh code, not the old one again
    expect(qr_status).to_have_text("")  # the error is cleared when a fresh code arrives
    expect(page.get_by_test_id("home-msg")).not_to_have_class(re.compile("notice-error"))
    expect(page.get_by_test_id("qr-countdown")).to_contain_text(re.compile(r"\d+ 秒后自动刷新"))
    screenshot(page, "i13-citizen-03-qr-back-online")

    # the usage log: 50 entries, then the earlier ones on request; China time, no raw keys
    usage_list = page.get_by_test_id("usage")
    expect(usage_list.locator("li.usage-entry")).to_have_count(50)
    more = page.get_by_test_id("usage-more")
    expect(more).to_be_visible()
    more.click()
    expect(usage_list.locator("li.usage-entry")).to_have_count(57, timeout=10_000)
    expect(more).to_be_hidden()
    text = usage_list.inner_text()
    assert not ISO_RE.search(text), text[:300]
    assert "proof_verified" not in text and "核验" in text
    screenshot(page, "i13-citizen-04-usage-more")
    assert_clean_except(page, "ERR_INTERNET_DISCONNECTED")


# ------------------------------------------------------------------------------------------------ points 3, 4


def test_public_pages_mask_every_person_and_show_china_time(
    demo_server: LiveServer, browser_factory: Callable[..., Browser], new_page: Callable[..., Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    base = demo_server.url
    token, _ = citizen_session(demo_server)
    made = httpx.post(f"{base}/api/v1/proofs", headers=bearer(token), json={"type": "realty_query"}, timeout=120)
    assert made.status_code == 201, made.text
    number = made.json()["proof_id"]
    browser = browser_factory()

    record = new_page(browser, viewport=PHONE)
    record.goto(f"{base}/v/{number}")
    text = record.locator("main").inner_text()
    assert "孙涛" not in text and "李建华" not in text  # the co-owner masked like the applicant
    assert "孙*" in text and "李**" in text
    assert not ISO_RE.search(text), "a raw ISO timestamp on /v/"
    issued = record.get_by_test_id("verify-issued").inner_text()
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", issued), issued
    screenshot(record, "i13-public-01-record-masked")

    page = new_page(browser, viewport=(1280, 900))
    page.goto(f"{base}/verify")
    page.get_by_test_id("verify-qr").fill(number)
    page.get_by_test_id("verify-qr-submit").click()
    expect(page.get_by_test_id("verify-result")).to_be_visible()
    result = page.get_by_test_id("verify-result").inner_text()
    assert "孙涛" not in result and "李建华" not in result
    assert "孙*" in result and "李**" in result
    assert not ISO_RE.search(result)
    assert page.get_by_test_id("verify-issued").inner_text() == issued  # one format on both public pages
    screenshot(page, "i13-public-02-verify-masked")

    # errors in Chinese on a Chinese page (the server's English detail is never shown there)
    page.get_by_test_id("verify-qr").fill("hello")
    page.get_by_test_id("verify-qr-submit").click()
    expect(page.get_by_test_id("verify-msg")).to_contain_text("既不是证明二维码")
    assert "neither" not in page.get_by_test_id("verify-msg").inner_text()
    page.get_by_test_id("verify-pdf").set_input_files(
        {"name": "note.pdf", "mimeType": "application/pdf", "buffer": b"not a pdf at all"})
    page.get_by_test_id("verify-pdf-submit").click()
    expect(page.get_by_test_id("verify-msg")).to_contain_text("不是PDF")
    screenshot(page, "i13-public-03-verify-errors-zh")
    assert_clean_except(page, "status of 4")
