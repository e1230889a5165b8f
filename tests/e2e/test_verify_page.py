"""The public /verify page in a real browser: upload a sealed proof PDF, paste its QR text, or type its number;
a tampered PDF and a foreign text are refused. No token of any kind is in the browser."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from issuers.demo import PERSONAS
from schemas.identifiers import mask_citizen_id
from tests.e2e.test_kiosk import demo_app_builder
from tests.e2e.test_proof_review import api_face_token


@pytest.fixture
def live_app_builder() -> Callable[[Path, str], Any]:
    return demo_app_builder


@pytest.fixture
def sealed_proof(live_server: str) -> tuple[str, str, bytes]:
    """(base URL, proof number, sealed PDF) of a fresh 有无房证明 for persona 0, made through the API."""
    token = api_face_token(live_server, 0)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=live_server, timeout=60, headers=headers) as client:
        made = client.post("/api/v1/proofs", json={"type": "realty_query"})
        made.raise_for_status()
        number = made.json()["proof_id"]
        got = client.get(f"/api/v1/proofs/{number}")  # committed before the 201 went out
        got.raise_for_status()
        pdf = got.content
    assert pdf.startswith(b"%PDF")
    return live_server, number, pdf


def qr_text_of(pdf: bytes) -> str:
    from pyhanko.pdf_utils.reader import PdfFileReader

    from verifier.proof import _qr_text_from_pdf  # the token the renderer stores beside the printed QR

    text = _qr_text_from_pdf(PdfFileReader(io.BytesIO(pdf), strict=False), None)
    assert text and "#LXP1." in text
    return text


def open_verify(browser_factory: Any, new_page: Any, base: str) -> Any:
    page = new_page(browser_factory(), viewport=(1280, 900))
    page.goto(f"{base}/verify")
    return page


def test_upload_a_sealed_pdf(
    sealed_proof: tuple[str, str, bytes], browser_factory: Any, new_page: Any, screenshot: Any, tmp_path: Path
) -> None:
    base, number, pdf = sealed_proof
    page = open_verify(browser_factory, new_page, base)
    screenshot(page, "verify-01-empty")
    file = tmp_path / f"{number}.pdf"
    file.write_bytes(pdf)
    page.get_by_test_id("verify-pdf").set_input_files(str(file))
    page.get_by_test_id("verify-pdf-submit").click()
    result = page.locator('#verify-result[data-valid="true"][data-kind="pdf"]')
    result.wait_for(timeout=30_000)
    assert page.get_by_test_id("verify-number").inner_text() == number
    assert page.get_by_test_id("verify-status").get_attribute("data-status") == "valid"
    holder = page.get_by_test_id("verify-holder").inner_text()
    assert mask_citizen_id(PERSONAS[0].id_number) in holder
    assert PERSONAS[0].id_number not in page.content() and PERSONAS[0].name not in page.content()
    assert page.get_by_test_id("verify-record-link").get_attribute("href") == f"/v/{number}"
    assert page.evaluate("Object.keys(sessionStorage).length") == 0
    screenshot(page, "verify-02-pdf-valid")
    page.console.assert_clean()


def test_paste_the_qr_text_or_the_number(
    sealed_proof: tuple[str, str, bytes], browser_factory: Any, new_page: Any, screenshot: Any
) -> None:
    base, number, pdf = sealed_proof
    page = open_verify(browser_factory, new_page, base)
    page.get_by_test_id("verify-qr").fill(qr_text_of(pdf))
    page.get_by_test_id("verify-qr-submit").click()
    page.locator('#verify-result[data-valid="true"][data-kind="qr"]').wait_for(timeout=30_000)
    assert page.get_by_test_id("verify-number").inner_text() == number
    screenshot(page, "verify-03-qr-valid")

    page.get_by_test_id("verify-qr").fill(number)
    page.get_by_test_id("verify-qr-submit").click()
    page.locator('#verify-result[data-valid="true"][data-kind="number"]').wait_for(timeout=30_000)
    assert "仅查询记录" in page.get_by_test_id("verify-verdict").inner_text()
    page.console.assert_clean()


def test_tampered_pdf_and_unknown_number_are_refused(
    sealed_proof: tuple[str, str, bytes], browser_factory: Any, new_page: Any, screenshot: Any, tmp_path: Path
) -> None:
    base, number, pdf = sealed_proof
    tampered = bytearray(pdf)
    at = tampered.index(b"/Contents")
    tampered[at - 50] ^= 0x01
    file = tmp_path / "tampered.pdf"
    file.write_bytes(bytes(tampered))
    page = open_verify(browser_factory, new_page, base)
    page.get_by_test_id("verify-pdf").set_input_files(str(file))
    page.get_by_test_id("verify-pdf-submit").click()
    page.locator('#verify-result[data-valid="false"]').wait_for(timeout=30_000)
    codes = page.get_by_test_id("verify-codes").inner_text()
    assert "TAMPERED" in codes
    screenshot(page, "verify-04-pdf-tampered")

    # a well-formed number the exchange never issued
    parts = number.split("-")
    other = "-".join([*parts[:3], "000000000", parts[4]])
    page.get_by_test_id("verify-qr").fill(other)
    page.get_by_test_id("verify-qr-submit").click()
    page.locator('#verify-result[data-valid="false"] [data-code="NOT_FOUND"]').wait_for(timeout=30_000)
    screenshot(page, "verify-05-not-found")


def test_verify_page_in_english(live_server: str, browser_factory: Any, new_page: Any, screenshot: Any) -> None:
    page = new_page(browser_factory(), viewport=(390, 844), locale="en-GB")
    page.goto(f"{live_server}/verify?lang=en")
    assert page.locator("h1").inner_text() == "Check a proof"
    page.get_by_test_id("verify-qr-submit").click()
    assert "Paste the QR text" in page.get_by_test_id("verify-msg").inner_text()
    screenshot(page, "verify-06-en-phone")
    page.console.assert_clean()
