"""Helpers for counter-flow tests: clerk and citizen sessions, a QR, a scan, an approval."""

from __future__ import annotations

from typing import Any

from exchange.auth.citizen import encrypt_id, issue_session
from exchange.counter.provision import demo_clerk_passwords
from tests.fixtures.exchange import ExchangeEnv

PERSONA_A = 0  # 李建华: ID card with person A's photo, household register, marriage, realty, diploma, …


def citizen_token(env: ExchangeEnv, index: int = PERSONA_A) -> str:
    """A citizen session as a face login would mint it (the face gate itself is tested in tests/…/citizens)."""
    number = env.records.citizens[index].id_number
    return issue_session(env.ctx, holder_hash=env.ctx.protector.holder_hash(number),
                         enc=encrypt_id(env.ctx, number), method="test").token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def clerk_token(env: ExchangeEnv, username: str = "clerk01") -> str:
    password = demo_clerk_passwords(env.settings.data_dir)[username]
    resp = env.client.post("/api/v1/counter/login", json={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["token"])


def new_qr(env: ExchangeEnv, citizen: str) -> str:
    resp = env.client.post("/api/v1/citizen/qr", headers=bearer(citizen))
    assert resp.status_code == 200, resp.text
    return str(resp.json()["qr_text"])


def scan(env: ExchangeEnv, clerk: str, citizen: str, matter: str = "hpf_loan") -> dict[str, Any]:
    resp = env.client.post("/api/v1/counter/scan", headers=bearer(clerk),
                           json={"matter": matter, "qr_text": new_qr(env, citizen)})
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    return data


def decide(env: ExchangeEnv, citizen: str, consent_id: str, decision: str = "approve") -> Any:
    return env.client.post(f"/api/v1/citizen/consents/{consent_id}", headers=bearer(citizen),
                           json={"decision": decision})


def usage(env: ExchangeEnv, citizen: str) -> list[dict[str, Any]]:
    resp = env.client.get("/api/v1/citizen/usage", headers=bearer(citizen))
    assert resp.status_code == 200, resp.text
    data: list[dict[str, Any]] = resp.json()
    return data
