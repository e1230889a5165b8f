"""Reviewed proofs end to end in real browsers: the citizen applies on /citizen/apply, a reviewer of the public
security bureau decides on /review, the citizen downloads the sealed PDF (checked offline with
``verifier.proof.verify_proof_pdf`` against the live trust list) or reads the reason of a rejection.

The citizen's face login is done through the API with the challenge's own direction (``head_turn_frames`` of the
persona's photo, posted as JPEG frames) — the kiosk test covers the face gate in the browser; here the token is
put where /citizen keeps it (sessionStorage ``licex.citizen.token``) before /citizen/apply loads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from issuers.demo import PERSONAS
from testkit.faces import Direction, Person, head_turn_frames, to_jpeg
from tests.e2e.test_kiosk import demo_app_builder

CITIZEN_TOKEN_KEY = "licex.citizen.token"
FACES: dict[int, Person] = {0: "astronaut", 1: "hopper"}  # only personas 0 and 1 can log in by face


@pytest.fixture
def live_app_builder() -> Callable[[Path, str], Any]:
    return demo_app_builder


def api_face_token(base_url: str, persona: int) -> str:
    """A citizen session for persona 0 or 1: a real challenge, frames turning the way it asks."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        challenge = client.post("/api/v1/citizen/face/challenge", json={"id_number": PERSONAS[persona].id_number})
        challenge.raise_for_status()
        body = challenge.json()
        direction: Direction = "left" if body["action"] == "turn_left" else "right"
        frames = head_turn_frames(FACES[persona], direction)
        files = [("frames", (f"f{i}.jpg", to_jpeg(f), "image/jpeg")) for i, f in enumerate(frames)]
        login = client.post("/api/v1/citizen/face/login", data={"challenge_id": body["challenge_id"]}, files=files)
        login.raise_for_status()
        token: str = login.json()["token"]
        return token


def citizen_page(browser: Any, new_page: Any, base_url: str, token: str) -> Any:
    page = new_page(browser, viewport=(390, 844))
    page.context.add_init_script(f"sessionStorage.setItem({json.dumps(CITIZEN_TOKEN_KEY)}, {json.dumps(token)});")
    page.goto(f"{base_url}/citizen/apply")
    page.get_by_test_id("apply-form").wait_for()
    return page


def reviewer_page(browser: Any, new_page: Any, base_url: str, data_dir: Path) -> Any:
    password = json.loads((data_dir / "demo-clerks.json").read_text())["review_psb"]
    page = new_page(browser, viewport=(1400, 900))
    page.goto(f"{base_url}/review")
    page.get_by_test_id("review-username").fill("review_psb")
    page.get_by_test_id("review-password").fill(password)
    page.get_by_test_id("review-login-submit").click()
    page.get_by_test_id("review-app").wait_for()
    return page


def apply(page: Any, type_key: str, purpose: str) -> str:
    page.get_by_test_id("apply-type").select_option(type_key)
    page.get_by_test_id("apply-purpose").fill(purpose)
    page.get_by_test_id("apply-submit").click()
    item = page.locator('[data-testid="application"][data-status="pending"]').first
    item.wait_for()
    app_id = item.get_attribute("data-id")
    assert app_id
    return str(app_id)


def refresh_and_wait(page: Any, locator: Any) -> None:
    """Press 刷新 once and wait for ``locator``: the decision was committed before the reviewer's page got its
    answer, so the citizen's next read sees it (no retry loop)."""
    page.get_by_test_id("apply-refresh").click()
    locator.wait_for()


def live_trust_list(base_url: str, data_dir: Path) -> Any:
    from cryptography import x509

    from verifier.trust import TrustList, fingerprint

    root = x509.load_pem_x509_certificate((data_dir / "pki" / "root.crt").read_bytes())
    data = httpx.get(f"{base_url}/api/v1/trust-list", timeout=30).content
    return TrustList.load(data, pinned_root_fingerprints=[fingerprint(root)])


def test_apply_approve_download_sealed_pdf(
    live_server_factory: Any, browser_factory: Any, new_page: Any, screenshot: Any, tmp_path: Path
) -> None:
    server = live_server_factory()
    browser = browser_factory()
    citizen = citizen_page(browser, new_page, server.url, api_face_token(server.url, 0))
    expect(citizen.get_by_test_id("apply-list")).not_to_be_empty()  # filled by the page's script: "no applications yet"
    screenshot(citizen, "review-01-citizen-apply-form")
    app_id = apply(citizen, "no_criminal_record", "出国留学")
    assert "出国留学" in citizen.locator(f'[data-id="{app_id}"]').inner_text()
    screenshot(citizen, "review-02-citizen-pending")

    reviewer = reviewer_page(browser, new_page, server.url, server.data_dir)
    item = reviewer.locator(f'[data-testid="review-item"][data-id="{app_id}"]')
    item.wait_for()
    text = item.inner_text()
    assert "无犯罪记录证明" in text and "出国留学" in text
    assert PERSONAS[0].id_number not in text  # the applicant's ID is shown masked
    assert "4301**********0625" in text
    screenshot(reviewer, "review-03-reviewer-queue")
    item.get_by_test_id("review-approve").click()
    confirm = item.get_by_test_id("review-confirm-box")
    confirm.wait_for()  # 批准并出具 asks before a sealed document is issued
    assert "确认" in confirm.inner_text() or "出具" in confirm.inner_text()
    screenshot(reviewer, "review-03b-reviewer-confirm")
    item.get_by_test_id("review-confirm").click()
    reviewer.locator(".notice-ok", has_text="已批准").wait_for()
    assert reviewer.locator(f'[data-testid="review-item"][data-id="{app_id}"]').count() == 0
    approved = reviewer.locator(f'[data-testid="review-item"][data-id="{app_id}"]')
    reviewer.get_by_test_id("filter-approved").click()  # committed before the answer: one read shows it
    approved.wait_for()
    screenshot(reviewer, "review-04-reviewer-approved")

    done = citizen.locator(f'[data-testid="application"][data-id="{app_id}"][data-status="approved"]')
    refresh_and_wait(citizen, done)
    screenshot(citizen, "review-05-citizen-approved")
    with citizen.expect_download() as download_info:
        done.get_by_test_id("application-download").click()
    download = download_info.value
    pdf_path = tmp_path / "proof.pdf"
    download.save_as(pdf_path)
    pdf = pdf_path.read_bytes()
    assert pdf.startswith(b"%PDF")
    assert download.suggested_filename.startswith("CS-WFZ-") and download.suggested_filename.endswith(".pdf")

    from verifier.proof import verify_proof_pdf
    from verifier.status import ExchangeStatusSource

    # pyHanko runs its own event loop: not on this thread, where Playwright's sync API keeps one running
    trust = live_trust_list(server.url, server.data_dir)
    status = ExchangeStatusSource(server.url, trust)  # the proof's status list entry, from the live exchange
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(verify_proof_pdf, pdf, trust, status=status).result()
    assert result.valid, result.verdict
    assert result.details["status"] == "valid"
    assert "公安" in result.verdict
    citizen.console.assert_clean()
    reviewer.console.assert_clean()


def test_reject_shows_the_reason_to_the_citizen(
    live_server_factory: Any, browser_factory: Any, new_page: Any, screenshot: Any
) -> None:
    server = live_server_factory()
    browser = browser_factory()
    citizen = citizen_page(browser, new_page, server.url, api_face_token(server.url, 1))
    app_id = apply(citizen, "no_criminal_record", "入职审查")

    reviewer = reviewer_page(browser, new_page, server.url, server.data_dir)
    item = reviewer.locator(f'[data-testid="review-item"][data-id="{app_id}"]')
    item.wait_for()
    # a rejection without a reason is refused on the page
    item.get_by_test_id("review-reject").click()
    assert "理由" in reviewer.get_by_test_id("review-msg").inner_text()
    reason = "用途不明确：入职审查请由用人单位出具函件后重新申请。"
    item.get_by_test_id("review-reason").fill(reason)
    screenshot(reviewer, "review-06-reviewer-reject")
    item.get_by_test_id("review-reject").click()
    reviewer.locator(".notice-ok", has_text="已驳回").wait_for()

    rejected = citizen.locator(f'[data-testid="application"][data-id="{app_id}"][data-status="rejected"]')
    refresh_and_wait(citizen, rejected)
    assert reason in rejected.get_by_test_id("application-reason").inner_text()
    assert rejected.get_by_test_id("application-download").count() == 0
    screenshot(citizen, "review-07-citizen-rejected")
    citizen.console.assert_clean()
    reviewer.console.assert_clean()


def test_apply_page_without_a_session_sends_to_citizen_login(
    live_server: str, browser_factory: Any, new_page: Any, screenshot: Any
) -> None:
    page = new_page(browser_factory())
    page.goto(f"{live_server}/citizen/apply")
    page.get_by_test_id("apply-login").wait_for()
    assert page.get_by_test_id("apply-login-link").get_attribute("href").startswith("/citizen")
    screenshot(page, "review-08-apply-needs-login")
    page.console.assert_clean()


def test_review_refuses_a_wrong_password(live_server: str, browser_factory: Any, new_page: Any) -> None:
    page = new_page(browser_factory(), viewport=(1400, 900))
    page.goto(f"{live_server}/review")
    page.get_by_test_id("review-username").fill("review_psb")
    page.get_by_test_id("review-password").fill("not-the-password")
    page.get_by_test_id("review-login-submit").click()
    page.locator("#review-msg.notice-error").wait_for()
    assert page.get_by_test_id("review-app").is_hidden()
    assert page.evaluate("sessionStorage.getItem('licex.review.token')") is None
