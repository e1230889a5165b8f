"""The proofs HTTP API on the real app (SQLite and PostgreSQL): create → download → verify (PDF upload and QR),
scopes, size and type limits, the public record at /v/{id}, the usage log, stable operationIds."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from exchange.auth.citizen import encrypt_id, issue_session
from tests.fixtures.exchange import ExchangeEnv
from verifier.result import Code

OPERATION_IDS = {"create_proof", "get_proof", "verify_proof", "apply_proof", "list_my_applications",
                 "list_review_queue", "review_proof"}


def citizen_headers(exchange: ExchangeEnv, persona: int) -> dict[str, str]:
    id_number = exchange.records.persona(persona).id_number
    ctx = exchange.ctx
    session = issue_session(ctx, holder_hash=ctx.protector.holder_hash(id_number), enc=encrypt_id(ctx, id_number),
                            method="test")
    return {"Authorization": f"Bearer {session.token}"}


@pytest.fixture(scope="module")
def verifier_headers(exchange: ExchangeEnv) -> dict[str, str]:
    return {"Authorization": f"Bearer {exchange.department_token('amr', 'verify:proofs')}"}


@pytest.fixture(scope="module")
def made(exchange: ExchangeEnv) -> dict[str, Any]:
    resp = exchange.client.post("/api/v1/proofs", json={"type": "realty_query"},
                                headers=citizen_headers(exchange, 3))
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    pdf = exchange.client.get(body["download_url"], headers=citizen_headers(exchange, 3))
    assert pdf.status_code == 200, pdf.text
    body["pdf"] = pdf.content
    return body


def test_operation_ids_are_stable(exchange: ExchangeEnv) -> None:
    spec = exchange.client.get("/openapi.json").json()
    ids = {op["operationId"] for path in spec["paths"].values() for op in path.values() if "operationId" in op}
    assert ids >= OPERATION_IDS


def test_create_and_download(exchange: ExchangeEnv, made: dict[str, Any]) -> None:
    assert made["type"] == "realty_query"
    assert made["verify_url"] == f"{exchange.settings.public_base_url}/v/{made['proof_id']}"
    assert made["pdf"].startswith(b"%PDF-")
    listed = exchange.client.get("/api/v1/proofs", headers=citizen_headers(exchange, 3)).json()
    assert made["proof_id"] in {p["proof_id"] for p in listed}


def test_proofs_are_private_to_their_holder(exchange: ExchangeEnv, made: dict[str, Any]) -> None:
    other = exchange.client.get(made["download_url"], headers=citizen_headers(exchange, 0))
    assert other.status_code == 404
    assert other.json()["error"] == "PROOF_NOT_FOUND"
    assert exchange.client.get(made["download_url"]).status_code == 401
    assert exchange.client.post("/api/v1/proofs", json={"type": "realty_query"}).status_code == 401
    dept = exchange.client.post("/api/v1/proofs", json={"type": "realty_query"}, headers={
        "Authorization": f"Bearer {exchange.department_token('amr', 'verify:proofs')}"})
    assert dept.status_code == 401 and dept.json()["error"] == "TOKEN_WRONG_TYPE"


def test_create_errors(exchange: ExchangeEnv) -> None:
    h = citizen_headers(exchange, 4)
    r = exchange.client.post("/api/v1/proofs", json={"type": "no_criminal_record"}, headers=h)
    assert r.status_code == 422 and r.json()["error"] == "PROOF_TYPE_REVIEWED"
    r = exchange.client.post("/api/v1/proofs", json={"type": "unknown_type"}, headers=h)
    assert r.status_code == 404 and r.json()["error"] == "PROOF_TYPE_NOT_FOUND"
    r = exchange.client.post("/api/v1/proofs", json={"type": "hpf_deposit"}, headers=h)  # 张𬱖: no account
    assert r.status_code == 404 and r.json()["error"] == "NO_RECORD"


def test_query_sheet_for_a_matter(exchange: ExchangeEnv) -> None:
    r = exchange.client.post("/api/v1/proofs", json={"type": "gov_data_query_sheet", "matter": "hpf_loan"},
                             headers=citizen_headers(exchange, 0))
    assert r.status_code == 201, r.text
    r = exchange.client.post("/api/v1/proofs", json={"type": "gov_data_query_sheet", "matter": "nope"},
                             headers=citizen_headers(exchange, 0))
    assert r.status_code == 404 and r.json()["error"] == "MATTER_NOT_FOUND"


def test_verify_uploaded_pdf(exchange: ExchangeEnv, made: dict[str, Any], verifier_headers: dict[str, str]) -> None:
    r = exchange.client.post("/api/v1/proofs/verify", headers=verifier_headers,
                             files={"file": ("proof.pdf", made["pdf"], "application/pdf")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["valid"] is True and body["codes"] == []
    assert body["verdict"].startswith("VALID")
    assert body["proof"]["proof_id"] == made["proof_id"]
    fields = {f["name"]: f["value"] for f in body["proof"]["data"]["fields"]}
    assert fields["id_number"] == exchange.records.persona(3).id_number  # the caller holds the document


def test_verify_raw_pdf_body(exchange: ExchangeEnv, made: dict[str, Any], verifier_headers: dict[str, str]) -> None:
    r = exchange.client.post("/api/v1/proofs/verify", content=made["pdf"],
                             headers={**verifier_headers, "Content-Type": "application/pdf"})
    assert r.status_code == 200 and r.json()["valid"] is True


def test_verify_qr_masks_sensitive_data(exchange: ExchangeEnv, made: dict[str, Any],
                                        verifier_headers: dict[str, str]) -> None:
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    info = PdfFileReader(io.BytesIO(made["pdf"])).trailer_view["/Info"]
    qr_text = str(info["/Keywords"])
    r = exchange.client.post("/api/v1/proofs/verify", json={"qr_text": qr_text}, headers=verifier_headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["valid"] is True, body
    assert body["proof"]["data_masked"] is True
    assert exchange.records.persona(3).id_number not in r.text
    r = exchange.client.post("/api/v1/proofs/verify", json={"qr_text": "LXP1.AAAA"}, headers=verifier_headers)
    assert r.status_code == 200 and r.json()["codes"] == [Code.MALFORMED]


def test_verify_tampered_upload(exchange: ExchangeEnv, made: dict[str, Any], verifier_headers: dict[str, str]
                                ) -> None:
    pdf = made["pdf"]
    i = pdf.index(b"(licex)")
    tampered = pdf[: i + 1] + b"L" + pdf[i + 2:]
    r = exchange.client.post("/api/v1/proofs/verify", headers=verifier_headers,
                             files={"file": ("proof.pdf", tampered, "application/pdf")})
    assert r.status_code == 200
    assert r.json()["codes"] == [Code.TAMPERED] and r.json()["proof"] is None


def test_verify_needs_the_scope(exchange: ExchangeEnv, made: dict[str, Any]) -> None:
    token = exchange.department_token("amr", "issue:licences")
    r = exchange.client.post("/api/v1/proofs/verify", headers={"Authorization": f"Bearer {token}"},
                             files={"file": ("proof.pdf", made["pdf"], "application/pdf")})
    assert r.status_code == 403 and r.json()["error"] == "INSUFFICIENT_SCOPE"
    r = exchange.client.post("/api/v1/proofs/verify", files={"file": ("proof.pdf", made["pdf"], "application/pdf")})
    assert r.status_code == 401


def test_not_a_pdf_and_bad_requests(exchange: ExchangeEnv, verifier_headers: dict[str, str]) -> None:
    r = exchange.client.post("/api/v1/proofs/verify", headers=verifier_headers,
                             files={"file": ("x.pdf", b"GIF89a not a pdf at all", "application/pdf")})
    assert r.status_code == 415 and r.json()["error"] == "NOT_A_PDF"
    r = exchange.client.post("/api/v1/proofs/verify", headers=verifier_headers, files={"other": ("x", b"y")})
    assert r.status_code == 422 and r.json()["error"] == "FILE_MISSING"
    r = exchange.client.post("/api/v1/proofs/verify", headers={**verifier_headers, "Content-Type": "text/plain"},
                             content=b"hello")
    assert r.status_code == 415
    r = exchange.client.post("/api/v1/proofs/verify", headers={**verifier_headers,
                                                              "Content-Type": "application/json"}, content=b"{")
    assert r.status_code == 422 and r.json()["error"] == "INVALID_JSON"
    broken = b"%PDF-1.7\n" + b"garbage " * 100
    r = exchange.client.post("/api/v1/proofs/verify", headers=verifier_headers,
                             files={"file": ("x.pdf", broken, "application/pdf")})
    assert r.status_code == 200 and r.json()["codes"] == [Code.MALFORMED]


def test_fifty_megabytes_is_refused_with_413(exchange: ExchangeEnv, verifier_headers: dict[str, str]) -> None:
    big = b"%PDF-1.7\n" + b"0" * (50 * 1024 * 1024)
    r = exchange.client.post("/api/v1/proofs/verify", headers=verifier_headers,
                             files={"file": ("big.pdf", big, "application/pdf")})
    assert r.status_code == 413 and r.json()["error"] == "PAYLOAD_TOO_LARGE"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while streaming
        yield b"%PDF-1.7\n"
        for _ in range(50):
            yield b"0" * (1024 * 1024)

    r = exchange.client.post("/api/v1/proofs/verify", content=chunks(),
                             headers={**verifier_headers, "Content-Type": "application/pdf"})
    assert r.status_code == 413


def test_public_page_json_and_html(exchange: ExchangeEnv, made: dict[str, Any]) -> None:
    path = f"/v/{made['proof_id']}"
    person = exchange.records.persona(3)
    as_json = exchange.client.get(path, params={"format": "json"})
    assert as_json.status_code == 200
    record = as_json.json()
    assert record["proof_id"] == made["proof_id"] and record["status"] == "valid"
    assert record["data"]["holder"]["id_number"] == "4301**********0172"
    html = exchange.client.get(path, headers={"Accept": "text/html"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert made["proof_id"] in html.text and 'data-status="valid"' in html.text
    for text in (as_json.text, html.text):
        assert person.id_number not in text and person.name not in text
    api = exchange.client.get(f"/api/v1/public/proofs/{made['proof_id']}")
    assert api.status_code == 200 and api.json()["proof_id"] == made["proof_id"]
    assert exchange.client.get("/v/CS-BDC-20260101-AAAAAAAAA-0").status_code == 404
    assert exchange.client.get("/v/CS-BDC-20260101-AAAAAAAAA-0", params={"format": "json"}).status_code == 404


def test_usage_log_shows_creation_download_and_verification(exchange: ExchangeEnv, made: dict[str, Any],
                                                            verifier_headers: dict[str, str]) -> None:
    exchange.client.post("/api/v1/proofs/verify", headers=verifier_headers,
                         files={"file": ("proof.pdf", made["pdf"], "application/pdf")})
    from exchange.usage import service as usage

    holder = exchange.ctx.protector.holder_hash(exchange.records.persona(3).id_number)
    with exchange.session() as s:
        entries = [e for e in usage.list_for_holder(s, holder, limit=500)
                   if e.subject.get("proof_id") == made["proof_id"]]
    kinds = {(e.action, e.actor_kind) for e in entries}
    assert ("proof_created", "citizen") in kinds
    assert ("proof_downloaded", "citizen") in kinds
    assert ("proof_verified", "department") in kinds
    assert ("proof_verified", "public") in kinds


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils is needed")
def test_downloaded_pdf_signature_is_valid(made: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "p.pdf"
    path.write_bytes(made["pdf"])
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    assert "Signature is Valid." in out
