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

from tests.fixtures.browser import AppBuilder, LiveServer
from tests.fixtures.y4m import qr_frames, write_y4m

pytestmark = pytest.mark.e2e

PERSONA = 0  # 李建华: a flat owned together with 孙涛 (realty_query shows a co-owner)
MATTER = "teacher_qualification_recognition"
COUNTER = (1366, 768)
PHONE = (390, 844)
ISO_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def demo_app_builder(data_dir: Path, base_url: str) -> Any:
    from exchange.app import create_app
    from exchange.config import Settings
    from exchange.provision import provision

    settings = Settings(data_dir=data_dir, demo=True, public_base_url=base_url, log_level="WARNING")
    provision(settings, demo=True, citizens=16)
    return create_app(settings)


@pytest.fixture
def live_app_builder() -> AppBuilder:
    return demo_app_builder


@pytest.fixture
def demo_server(live_server_factory: Callable[..., LiveServer]) -> LiveServer:
    return live_server_factory()


def citizen_session(server: LiveServer, index: int = PERSONA) -> tuple[str, str]:
    """(token, id number) of a citizen session as a face login mints it."""
    from exchange.citizens.session import encrypt_id, issue_session
    from issuers.records import PERSONAS

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
