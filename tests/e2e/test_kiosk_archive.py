"""Kiosk, issue 12 (real Chromium, fake camera, real exchange with demo data): the e-archive's history of
materials is visible, and a completed online-issued (reviewed) proof — 居住证明, approved by a police reviewer —
is shown and printed like an instant one.

Set-up through the public API as the actors would do it: persona 0 logs in by face (real frames), applies for
居住证明; the reviewer approves; at a counter the teacher matter is scanned, consented, pulled, the photo is
uploaded and accepted and the case completed (its materials filed into the archive). Then the citizen walks up to
the kiosk.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.e2e.test_kiosk import demo_app_builder, face_login, kiosk_page, kiosk_video  # noqa: F401 - fixtures
from tests.e2e.test_proof_review import api_face_token


@pytest.fixture
def live_app_builder() -> Callable[[Path, str], Any]:
    return demo_app_builder


def _clerk(client: httpx.Client, data_dir: Path, username: str) -> dict[str, str]:
    password = json.loads((data_dir / "demo-clerks.json").read_text())[username]
    resp = client.post("/api/v1/counter/login", json={"username": username, "password": password})
    resp.raise_for_status()
    return {"Authorization": f"Bearer {resp.json()['token']}"}


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (295, 413), (210, 190, 170)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _set_up(base: str, data_dir: Path) -> str:
    token = api_face_token(base, 0)
    me = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=120) as c:
        applied = c.post("/api/v1/proof-applications", headers=me,
                         json={"type": "residence_history", "purpose": "子女入学"})
        applied.raise_for_status()
        reviewer = _clerk(c, data_dir, "review_psb")
        done = c.post(f"/api/v1/review/applications/{applied.json()['id']}", headers=reviewer,
                      json={"decision": "approve"})
        done.raise_for_status()
        clerk = _clerk(c, data_dir, "clerk01")
        qr = c.post("/api/v1/citizen/qr", headers=me).json()["qr_text"]
        case = c.post("/api/v1/counter/scan", headers=clerk,
                      json={"matter": "teacher_qualification_recognition", "qr_text": qr}).json()
        c.post(f"/api/v1/citizen/consents/{case['consent_id']}", headers=me,
               json={"decision": "approve"}).raise_for_status()
        pulled = c.post(f"/api/v1/counter/cases/{case['case_id']}/pull", headers=clerk).json()
        assert pulled["remaining"] == ["photo"], pulled["remaining"]
        up = c.post(f"/api/v1/counter/cases/{case['case_id']}/materials?material_type=photo&title=近期免冠照片",
                    content=_photo(), headers={**clerk, "Content-Type": "image/jpeg"})
        up.raise_for_status()
        c.post(f"/api/v1/counter/cases/{case['case_id']}/materials/{up.json()['id']}/accept",
               headers=clerk).raise_for_status()
        c.post(f"/api/v1/counter/cases/{case['case_id']}/complete", headers=clerk).raise_for_status()
    return str(done.json()["proof_id"])


def test_kiosk_shows_material_history_and_prints_an_online_issued_proof(
    live_server_factory: Any, kiosk_page: Any, screenshot: Any  # noqa: F811 - pytest fixtures
) -> None:
    server = live_server_factory()
    proof_id = _set_up(server.url, server.data_dir)
    page = kiosk_page(server.url)
    face_login(page)
    page.get_by_test_id("tab-history").click()

    # the archive's history of materials: the accepted photo and the teacher case's filed materials
    materials = page.get_by_test_id("my-materials")
    materials.locator('[data-testid="archive-item"][data-material-type="photo"]').wait_for(timeout=30_000)
    assert "近期免冠照片" in materials.inner_text()
    assert "已受理" in materials.inner_text()
    origins = {materials.locator('[data-testid="archive-item"]').nth(i).get_attribute("data-origin")
               for i in range(materials.locator('[data-testid="archive-item"]').count())}
    assert {"upload", "presentation", "check"} <= origins, origins

    # the online-issued proof, marked as such, shown and printed
    row = page.locator(f'[data-testid="my-proof"][data-proof-id="{proof_id}"]')
    row.wait_for()
    assert row.get_by_test_id("proof-mode").get_attribute("data-mode") == "reviewed"
    assert "居住证明" in row.inner_text() and "在线开具" in row.inner_text()
    page.get_by_test_id("panel-history").scroll_into_view_if_needed()
    screenshot(page, "kiosk-archive-01-history")
    row.get_by_role("button").click()
    page.locator("#proof-print:not([disabled])").wait_for(timeout=60_000)
    assert page.get_by_test_id("proof-number").inner_text() == proof_id
    page.evaluate(
        """() => {
          window.__printCalls = [];
          const w = document.getElementById('proof-frame').contentWindow;
          w.print = () => { window.__printCalls.push(String(w.location.href)); };
          window.print = () => { window.__printCalls.push('page'); };
        }"""
    )
    page.get_by_test_id("proof-print").click()
    page.locator("#kiosk[data-printed]").wait_for(timeout=10_000)
    assert page.locator("#kiosk").get_attribute("data-printed") == proof_id
    assert len(page.evaluate("window.__printCalls")) == 1
    page.wait_for_timeout(1000)
    screenshot(page, "kiosk-archive-02-online-proof-printed")
    token = page.evaluate("sessionStorage.getItem('licex.token')")
    entries = httpx.get(f"{server.url}/api/v1/citizen/usage", headers={"Authorization": f"Bearer {token}"},
                        timeout=30).json()
    assert ("proof_printed", proof_id) in [(e["action"], e["subject"].get("proof_id")) for e in entries]
    page.console.assert_clean()
