"""Acceptance 2, browser half: the citizen page checks every usage event against the signed checkpoint from the
tiles, remembers the checkpoint and the events it saw (localStorage), and warns on a rewritten event, a deleted
event, a truncated log and a forked checkpoint. Real headless Chromium (WebCrypto SHA-256 + Ed25519), real
server; screenshots in tests/artefacts/screens/usage-log-*.png. The witness CLI runs as a real process against
the same server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_citizen_page import api_face_login, open_logged_in
from tests.e2e.test_counter_flow import PHONE, clerk_password, demo_app_builder
from tests.exchange.tlog import tamper
from tests.fixtures.browser import AppBuilder, LiveServer

LICEX = str(Path(sys.executable).parent / "licex")
STATUS = "#usage-log-status"


@pytest.fixture
def live_app_builder() -> AppBuilder:
    return demo_app_builder


def _flows(base: str, server: LiveServer, token: str, n: int = 2) -> None:
    with httpx.Client(base_url=base, timeout=60) as c:
        clerk = c.post("/api/v1/counter/login", json={"username": "clerk01",
                                                      "password": clerk_password(server)}).json()["token"]
        for _ in range(n):
            qr = c.post("/api/v1/citizen/qr", headers={"Authorization": f"Bearer {token}"}).json()["qr_text"]
            case = c.post("/api/v1/counter/scan", headers={"Authorization": f"Bearer {clerk}"},
                          json={"matter": "hpf_loan", "qr_text": qr}).json()
            assert c.post(f"/api/v1/citizen/consents/{case['consent_id']}", json={"decision": "approve"},
                          headers={"Authorization": f"Bearer {token}"}).status_code == 200
            assert c.post(f"/api/v1/counter/cases/{case['case_id']}/pull",
                          headers={"Authorization": f"Bearer {clerk}"}).status_code == 200


def _usage(base: str, token: str) -> list[dict[str, Any]]:
    resp = httpx.get(f"{base}/api/v1/citizen/usage", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    data: list[dict[str, Any]] = resp.json()
    return data


def _witness(base: str, state: Path, vkey: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICEX_")}
    return subprocess.run([LICEX, "log", "witness", "--log", base, "--state", str(state), "--log-key", vkey,
                           "--once"], env=env, capture_output=True, text=True, timeout=120)


def _check(page: Page, state: str) -> None:
    page.reload()
    expect(page.locator(STATUS)).to_have_attribute("data-state", state, timeout=30_000)


def test_browser_verifies_and_detects_tampering(live_server_factory: Callable[..., LiveServer],
                                                browser_factory: Callable[..., Browser],
                                                new_page: Callable[..., Page],
                                                screenshot: Callable[..., Path], tmp_path: Path) -> None:
    from exchange.tlog.sequencer import sequence_all

    server = live_server_factory()
    ctx = server.app.state.ctx
    login = api_face_login(server.url)
    token = login["token"]
    _flows(server.url, server, token)
    sequence_all(ctx)
    vkey = httpx.get(f"{server.url}/log/key").text.strip()
    witness = _witness(server.url, tmp_path / "w", vkey)
    assert witness.returncode == 0, witness.stderr

    page = new_page(browser_factory(), viewport=PHONE)
    open_logged_in(page, server.url, login)
    expect(page.locator(STATUS)).to_have_attribute("data-state", "ok", timeout=30_000)
    events = _usage(server.url, token)
    assert page.locator("#usage-list .usage-check-ok").count() == len(events) >= 8
    assert page.locator("#usage-list .usage-check-bad").count() == 0
    page.locator("#usage-title").scroll_into_view_if_needed()
    shot = screenshot(page, "usage-log-verified")
    assert shot.stat().st_size > 10_000
    stored = page.evaluate("JSON.parse(localStorage.getItem('licex.usage-log.v1'))")
    assert stored["checkpoint"]["size"] > 0 and len(stored["seen"]) == len(events)

    # 1. a rewritten event (content changed in the database)
    pull = next(e for e in events if e["action"] == "pull")
    tamper.rewrite_content(ctx, pull["seq"], "某冒名窗口")
    _check(page, "warning")
    expect(page.locator(f'#usage-list li[data-seq="{pull["seq"]}"] .usage-check-bad')).to_be_visible()
    expect(page.locator(STATUS)).to_contain_text("被改写")
    screenshot(page, "usage-log-rewritten")
    tamper.rewrite_content(ctx, pull["seq"], pull["actor"])  # put it back: verifies again
    _check(page, "ok")

    # 2. a deleted event
    victim = next(e for e in events if e["action"] == "consent_approved")
    tamper.delete_content(ctx, victim["seq"])
    _check(page, "warning")
    expect(page.locator(STATUS)).to_contain_text("被删除")
    screenshot(page, "usage-log-deleted")
    page.evaluate("localStorage.clear()")  # the citizen starts over (new phone)
    _check(page, "ok")

    # 3. a truncated log (the newest entries cut off and the checkpoint re-signed smaller)
    size = page.evaluate("JSON.parse(localStorage.getItem('licex.usage-log.v1')).checkpoint.size")
    tamper.truncate(ctx, keep=size - 2)
    _check(page, "warning")
    expect(page.locator(STATUS)).to_contain_text("日志回退")
    screenshot(page, "usage-log-truncated")
    page.evaluate("localStorage.clear()")
    _check(page, "ok")

    # 4. a forked checkpoint (a different history, signed with the real log key)
    tamper.fork(ctx)
    _check(page, "warning")
    expect(page.locator(STATUS)).to_contain_text("日志分叉")
    screenshot(page, "usage-log-forked")
    # the witness, following the same server, refuses it too
    witness = _witness(server.url, tmp_path / "w", vkey)
    assert witness.returncode == 1 and "FORK" in witness.stderr, witness.stdout + witness.stderr
