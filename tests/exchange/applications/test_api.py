"""Reviewed proofs end to end on the real app (SQLite and PostgreSQL): a citizen applies, the department's
reviewer sees the queue with what the records say, approves (the citizen gets a sealed, verifiable proof) or
rejects with a reason (the citizen reads it); roles, departments and every step in the usage log."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from exchange.auth.citizen import encrypt_id, issue_session
from exchange.auth.clerk import hash_password
from exchange.counter.provision import demo_clerk_passwords
from exchange.kit.db import unit_of_work
from exchange.models import Clerk
from exchange.usage import service as usage
from tests.fixtures.exchange import ExchangeEnv

JUSTICE_REVIEWER = ("review_justice", "justice-reviewer-password")


def citizen(exchange: ExchangeEnv, persona: int) -> dict[str, str]:
    id_number = exchange.records.persona(persona).id_number
    ctx = exchange.ctx
    s = issue_session(ctx, holder_hash=ctx.protector.holder_hash(id_number), enc=encrypt_id(ctx, id_number),
                      method="test")
    return {"Authorization": f"Bearer {s.token}"}


def clerk(exchange: ExchangeEnv, username: str, password: str | None = None) -> dict[str, str]:
    password = password or demo_clerk_passwords(exchange.settings.data_dir)[username]
    r = exchange.client.post("/api/v1/counter/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture(scope="module")
def psb_reviewer(exchange: ExchangeEnv) -> dict[str, str]:
    return clerk(exchange, "review_psb")


@pytest.fixture(scope="module")
def justice_reviewer(exchange: ExchangeEnv) -> dict[str, str]:
    username, password = JUSTICE_REVIEWER
    with unit_of_work(exchange.ctx.sessions) as s:
        s.add(Clerk(username=username, display_name="司法局审核员", password_hash=hash_password(password),
                    role="reviewer", department_id="justice", hall="长沙市司法局", window="R02", active=True))
    return clerk(exchange, username, password)


def apply(exchange: ExchangeEnv, persona: int, body: dict[str, Any]) -> dict[str, Any]:
    r = exchange.client.post("/api/v1/proof-applications", json=body, headers=citizen(exchange, persona))
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def mine(exchange: ExchangeEnv, persona: int, app_id: str) -> dict[str, Any]:
    listed = exchange.client.get("/api/v1/proof-applications", headers=citizen(exchange, persona))
    assert listed.status_code == 200
    found: dict[str, Any] = next(a for a in listed.json() if a["id"] == app_id)
    return found


def test_apply_review_approve_and_download(exchange: ExchangeEnv, psb_reviewer: dict[str, str],
                                           tmp_path: Path) -> None:
    app = apply(exchange, 0, {"type": "no_criminal_record", "purpose": "出国留学"})
    assert app["status"] == "pending"
    assert mine(exchange, 0, app["id"])["status"] == "pending"

    queue = exchange.client.get("/api/v1/review/applications", headers=psb_reviewer)
    assert queue.status_code == 200, queue.text
    item = next(i for i in queue.json() if i["id"] == app["id"])
    assert item["applicant"]["name"] == exchange.records.persona(0).name
    assert item["record"]["findings"]["has_record"] is False and item["blocked_by"] is None

    r = exchange.client.post(f"/api/v1/review/applications/{app['id']}", json={"decision": "approve"},
                             headers=psb_reviewer)
    assert r.status_code == 200, r.text
    decided = mine(exchange, 0, app["id"])
    assert decided["status"] == "approved" and decided["proof_id"]
    pdf = exchange.client.get(decided["download_url"], headers=citizen(exchange, 0))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    if shutil.which("pdftotext"):
        path = tmp_path / "p.pdf"
        path.write_bytes(pdf.content)
        text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
        assert "无犯罪记录证明" in text and "出国留学" in text
        out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
        assert "Signature is Valid." in out

    token = exchange.department_token("edu", "verify:proofs")
    v = exchange.client.post("/api/v1/proofs/verify", headers={"Authorization": f"Bearer {token}"},
                             files={"file": ("p.pdf", pdf.content, "application/pdf")})
    assert v.status_code == 200 and v.json()["valid"] is True, v.text

    again = exchange.client.post(f"/api/v1/review/applications/{app['id']}", json={"decision": "reject",
                                 "reason": "x"}, headers=psb_reviewer)  # fmt: skip
    assert again.status_code == 409 and again.json()["error"] == "APPLICATION_DECIDED"


def test_record_contradicts_so_reject_with_reason(exchange: ExchangeEnv, psb_reviewer: dict[str, str]) -> None:
    app = apply(exchange, 7, {"type": "no_criminal_record", "purpose": "入职审查"})  # 赵志强 has a record
    queue = exchange.client.get("/api/v1/review/applications", headers=psb_reviewer).json()
    assert next(i for i in queue if i["id"] == app["id"])["blocked_by"] == "has_record"
    r = exchange.client.post(f"/api/v1/review/applications/{app['id']}", json={"decision": "approve"},
                             headers=psb_reviewer)
    assert r.status_code == 409 and r.json()["error"] == "RECORD_CONTRADICTS"
    r = exchange.client.post(f"/api/v1/review/applications/{app['id']}", json={"decision": "reject"},
                             headers=psb_reviewer)
    assert r.status_code == 422 and r.json()["error"] == "REASON_REQUIRED"
    reason = "经查询，申请人存在犯罪记录，不予出具无犯罪记录证明。"
    r = exchange.client.post(f"/api/v1/review/applications/{app['id']}",
                             json={"decision": "reject", "reason": reason}, headers=psb_reviewer)
    assert r.status_code == 200, r.text
    seen = mine(exchange, 7, app["id"])
    assert seen["status"] == "rejected" and seen["reason"] == reason and seen["proof_id"] is None

    holder = exchange.ctx.protector.holder_hash(exchange.records.persona(7).id_number)
    with exchange.session() as s:
        actions = [(e.action, e.outcome) for e in usage.list_for_holder(s, holder)
                   if e.subject.get("application_id") == app["id"]]
    assert ("proof_applied", "ok") in actions and ("proof_reviewed", "rejected") in actions


def test_lawyer_proof_needs_details_and_its_own_department(exchange: ExchangeEnv, psb_reviewer: dict[str, str],
                                                           justice_reviewer: dict[str, str]) -> None:
    h = citizen(exchange, 3)
    r = exchange.client.post("/api/v1/proof-applications", json={"type": "lawyer_no_penalty", "purpose": "执业年检"},
                             headers=h)
    assert r.status_code == 422 and r.json()["error"] == "DETAILS_MISSING"
    app = apply(exchange, 3, {"type": "lawyer_no_penalty", "purpose": "执业年检",
                              "details": {"practice_cert_no": "14301201810123456", "law_firm": "湖南湘江律师事务所"}})
    dup = exchange.client.post("/api/v1/proof-applications", headers=h, json={
        "type": "lawyer_no_penalty", "purpose": "执业年检",
        "details": {"practice_cert_no": "14301201810123456", "law_firm": "湖南湘江律师事务所"}})
    assert dup.status_code == 409 and dup.json()["error"] == "APPLICATION_PENDING"
    # the public security reviewer does not see (or decide) the justice bureau's applications
    assert app["id"] not in {i["id"] for i in exchange.client.get("/api/v1/review/applications",
                                                                   headers=psb_reviewer).json()}
    r = exchange.client.post(f"/api/v1/review/applications/{app['id']}", json={"decision": "approve"},
                             headers=psb_reviewer)
    assert r.status_code == 404
    r = exchange.client.post(f"/api/v1/review/applications/{app['id']}", json={"decision": "approve"},
                             headers=justice_reviewer)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["proof_id"].startswith("CS-LSCF-")


def test_roles_and_input(exchange: ExchangeEnv) -> None:
    counter_clerk = clerk(exchange, "clerk01")
    r = exchange.client.get("/api/v1/review/applications", headers=counter_clerk)
    assert r.status_code == 403 and r.json()["error"] == "ROLE_REQUIRED"
    assert exchange.client.get("/api/v1/review/applications", headers=citizen(exchange, 0)).status_code == 401
    assert exchange.client.get("/api/v1/proof-applications").status_code == 401
    r = exchange.client.post("/api/v1/proof-applications", json={"type": "hpf_deposit", "purpose": "x"},
                             headers=citizen(exchange, 0))
    assert r.status_code == 422 and r.json()["error"] == "PROOF_TYPE_INSTANT"
    r = exchange.client.post("/api/v1/proof-applications", json={"type": "no_criminal_record"},
                             headers=citizen(exchange, 0))
    assert r.status_code == 422
    r = exchange.client.post("/api/v1/proof-applications", headers=citizen(exchange, 0), json={
        "type": "no_criminal_record", "purpose": "x", "details": {"law_firm": "y"}})
    assert r.status_code == 422 and r.json()["field"] == "details"
