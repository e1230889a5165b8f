"""Counter flow on SQLite and PostgreSQL: clerk login, scan → consent → pull, minimum necessary, refusals."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from exchange.consents import service as consents
from exchange.counter.provision import DEMO_CLERKS_FILE
from exchange.kit.errors import Conflict
from exchange.models import Consent, UsageEntry
from exchange.qr import service as qr_service
from exchange.status.service import RegistryStatus
from exchange.tlog.sequencer import sequence_all
from exchange.usage.refusals import UNATTRIBUTED
from exchange.usage.service import verify_holder
from schemas.qrtoken import PREFIX
from tests.exchange.counter.flow import (
    PERSONA_A,
    bearer,
    citizen_token,
    clerk_token,
    decide,
    new_qr,
    scan,
    usage,
)
from tests.fixtures.exchange import ExchangeEnv
from verifier.licence import verify_licence
from verifier.sdjwt import parse_sd_jwt, unpack

B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _matter_fields(env: ExchangeEnv, matter: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for material in env.ctx.catalogue.matters[matter].materials:
        for alt in material.satisfied_by:
            out.setdefault(alt.licence_type, set()).update(alt.fields)
    return out


def _pull(env: ExchangeEnv, clerk: str, case_id: str) -> Any:
    return env.client.post(f"/api/v1/counter/cases/{case_id}/pull", headers=bearer(clerk))


def _holder(env: ExchangeEnv, index: int = PERSONA_A) -> str:
    return env.ctx.protector.holder_hash(env.records.citizens[index].id_number)


def test_clerk_login(exchange: ExchangeEnv) -> None:
    token = clerk_token(exchange, "clerk01")
    assert token.count(".") == 2
    resp = exchange.client.post("/api/v1/counter/login", json={"username": "clerk01", "password": "wrong-password!"})
    assert resp.status_code == 401 and resp.json()["error"] == "BAD_CREDENTIALS"
    resp = exchange.client.post("/api/v1/counter/login", json={"username": "nobody", "password": "wrong-password!"})
    assert resp.status_code == 401 and resp.json()["error"] == "BAD_CREDENTIALS"
    resp = exchange.client.post("/api/v1/counter/login", json={"username": "x" * 65, "password": "p"})
    assert resp.status_code == 422
    path = exchange.settings.data_dir / DEMO_CLERKS_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert set(json.loads(path.read_text())) == {"clerk01", "clerk02", "review_psb"}


def test_login_view(exchange: ExchangeEnv) -> None:
    from exchange.counter.provision import demo_clerk_passwords

    pw = demo_clerk_passwords(exchange.settings.data_dir)["clerk02"]
    body = exchange.client.post("/api/v1/counter/login", json={"username": "clerk02", "password": pw}).json()
    assert body["clerk"] == {"username": "clerk02", "name": "刘志远", "hall": "长沙市政务服务中心", "window": "A02",
                             "role": "clerk", "department": None}


def test_scan_consent_pull_discloses_only_the_matter_fields(exchange: ExchangeEnv) -> None:
    citizen, clerk = citizen_token(exchange), clerk_token(exchange)
    scanned = scan(exchange, clerk, citizen, "hpf_loan")
    assert scanned["status"] == "pending"
    wanted = _matter_fields(exchange, "hpf_loan")
    assert {r["type"]: {f["name"] for f in r["fields"]} for r in scanned["requested"]} == wanted

    case = exchange.client.get(f"/api/v1/counter/cases/{scanned['case_id']}", headers=bearer(clerk)).json()
    assert case["consent_status"] == "pending"
    assert not any(item["satisfied"] for item in case["checklist"])

    pending = exchange.client.get("/api/v1/citizen/consents?status=pending", headers=bearer(citizen)).json()
    mine = next(c for c in pending if c["id"] == scanned["consent_id"])
    assert mine["requester"] == {"clerk": "陈晓梅", "hall": "长沙市政务服务中心", "window": "A01"}
    assert mine["matter"] == "hpf_loan" and mine["matter_name"] == "住房公积金贷款"
    assert {lic["type"] for lic in mine["licences"]} == set(wanted)

    assert decide(exchange, citizen, scanned["consent_id"]).json()["status"] == "approved"
    case = exchange.client.get(f"/api/v1/counter/cases/{scanned['case_id']}", headers=bearer(clerk)).json()
    assert case["consent_status"] == "approved"

    resp = _pull(exchange, clerk, scanned["case_id"])
    assert resp.status_code == 200, resp.text
    pulled = resp.json()
    types = {lic["type"] for lic in pulled["licences"]}
    assert types == {"resident_id_card", "household_register", "marriage_certificate", "realty_certificate"}
    assert exchange.ctx.trust_cache is not None
    trust = exchange.ctx.trust_cache.trust
    for lic in pulled["licences"]:
        assert lic["verification"]["valid"], lic["verification"]
        assert set(lic["fields"]) <= wanted[lic["type"]]
        assert set(lic["fields"]) == wanted[lic["type"]] & set(lic["fields"])
        # the presentation itself carries nothing more than the matter's fields
        disclosed = unpack(parse_sd_jwt(lic["presentation"])).disclosed
        assert set(disclosed) <= wanted[lic["type"]], set(disclosed) - wanted[lic["type"]]
        with exchange.session() as s:  # the status from the exchange's own status lists
            status = RegistryStatus(exchange.ctx, s)
            assert verify_licence(lic["presentation"], trust, catalogue=exchange.ctx.catalogue, status=status).valid
    id_card = next(lic for lic in pulled["licences"] if lic["type"] == "resident_id_card")
    assert set(id_card["fields"]) == {"name", "id_number"}  # no photo, no address, no birth date
    assert "photo" not in resp.text
    checklist = {item["material"]: item for item in pulled["checklist"]}
    assert checklist["borrower_identity"]["satisfied"] is True
    assert checklist["purchase_contract"]["satisfied"] is False
    assert "purchase_contract" in pulled["remaining"] and "borrower_identity" not in pulled["remaining"]

    actions = [(u["action"], u["outcome"]) for u in usage(exchange, citizen)]
    for expected in ("counter_scan", "consent_requested", "consent_approved", "pull"):
        assert (expected, "ok") in actions
    pull_entry = next(u for u in usage(exchange, citizen) if u["action"] == "pull")
    assert pull_entry["actor"].startswith("陈晓梅") and pull_entry["place"] == "长沙市政务服务中心 A01号窗口"
    assert pull_entry["matter"] == "hpf_loan"


def test_another_clerk_cannot_read_or_pull_the_case(exchange: ExchangeEnv) -> None:
    citizen = citizen_token(exchange)
    clerk1, clerk2 = clerk_token(exchange, "clerk01"), clerk_token(exchange, "clerk02")
    scanned = scan(exchange, clerk1, citizen, "driving_licence_renewal")
    decide(exchange, citizen, scanned["consent_id"])
    resp = exchange.client.get(f"/api/v1/counter/cases/{scanned['case_id']}", headers=bearer(clerk2))
    assert resp.status_code == 403 and resp.json()["error"] == "NOT_CASE_OWNER"
    resp = _pull(exchange, clerk2, scanned["case_id"])
    assert resp.status_code == 403 and resp.json()["error"] == "NOT_CASE_OWNER"
    resp = exchange.client.get(f"/api/v1/counter/cases/{'0' * 32}", headers=bearer(clerk2))
    assert resp.status_code == 404
    refused = [u for u in usage(exchange, citizen) if u["action"] == "pull_refused"
               and u["subject"].get("case_id") == scanned["case_id"]]
    assert {u["subject"]["op"] for u in refused} == {"get_case", "pull"}
    assert all(u["subject"]["reason"] == "NOT_CASE_OWNER" and u["actor"].startswith("刘志远") for u in refused)
    assert _pull(exchange, clerk1, scanned["case_id"]).status_code == 200


def test_withdrawn_declined_pending_and_expired_consents_yield_403(exchange: ExchangeEnv) -> None:
    citizen, clerk = citizen_token(exchange), clerk_token(exchange)

    pending = scan(exchange, clerk, citizen)
    resp = _pull(exchange, clerk, pending["case_id"])
    assert resp.status_code == 403 and resp.json()["error"] == "CONSENT_PENDING"

    withdrawn = scan(exchange, clerk, citizen)
    decide(exchange, citizen, withdrawn["consent_id"])
    assert _pull(exchange, clerk, withdrawn["case_id"]).status_code == 200
    resp = exchange.client.post(f"/api/v1/citizen/consents/{withdrawn['consent_id']}/withdraw",
                                headers=bearer(citizen))
    assert resp.status_code == 200 and resp.json()["status"] == "withdrawn"
    resp = _pull(exchange, clerk, withdrawn["case_id"])
    assert resp.status_code == 403 and resp.json()["error"] == "CONSENT_WITHDRAWN"

    declined = scan(exchange, clerk, citizen)
    assert decide(exchange, citizen, declined["consent_id"], "decline").json()["status"] == "declined"
    resp = _pull(exchange, clerk, declined["case_id"])
    assert resp.status_code == 403 and resp.json()["error"] == "CONSENT_DECLINED"
    again = decide(exchange, citizen, declined["consent_id"], "approve")
    assert again.status_code == 409 and again.json()["error"] == "CONSENT_NOT_PENDING"

    expired = scan(exchange, clerk, citizen)
    decide(exchange, citizen, expired["consent_id"])
    with exchange.session() as s:
        row = s.get(Consent, expired["consent_id"])
        assert row is not None
        assert row.expires_at - row.created_at <= timedelta(minutes=30)
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        s.commit()
    resp = _pull(exchange, clerk, expired["case_id"])
    assert resp.status_code == 403 and resp.json()["error"] == "CONSENT_EXPIRED"
    listed = exchange.client.get("/api/v1/citizen/consents?status=expired", headers=bearer(citizen)).json()
    assert expired["consent_id"] in {c["id"] for c in listed}

    reasons = {u["subject"].get("case_id"): u["subject"]["reason"] for u in usage(exchange, citizen)
               if u["action"] == "pull_refused"}
    assert reasons[pending["case_id"]] == "CONSENT_PENDING"
    assert reasons[withdrawn["case_id"]] == "CONSENT_WITHDRAWN"
    assert reasons[declined["case_id"]] == "CONSENT_DECLINED"
    assert reasons[expired["case_id"]] == "CONSENT_EXPIRED"
    actions = [u["action"] for u in usage(exchange, citizen)]
    assert "consent_withdrawn" in actions and "consent_declined" in actions


def test_racing_decisions_change_a_consent_once(exchange: ExchangeEnv) -> None:
    """Two decisions on one consent (approve on the phone, decline on a kiosk) that both read it as pending:
    the second one finds the row already decided, changes nothing and logs nothing."""
    citizen, clerk = citizen_token(exchange), clerk_token(exchange)
    case = scan(exchange, clerk, citizen)
    holder = exchange.ctx.protector.holder_hash(exchange.records.citizens[PERSONA_A].id_number)
    with exchange.session() as late:
        stale = late.get(Consent, case["consent_id"])  # read as pending before the other decision lands
        assert stale is not None and stale.status == "pending"
        assert decide(exchange, citizen, case["consent_id"], "approve").status_code == 200
        with pytest.raises(Conflict) as lost:
            consents.decide(exchange.ctx, late, holder, case["consent_id"], "decline")
        assert lost.value.code == "CONSENT_NOT_PENDING"
        late.rollback()
    with exchange.session() as s:
        row = s.get(Consent, case["consent_id"])
        assert row is not None and row.status == "approved"
    decisions = [u["action"] for u in usage(exchange, citizen)
                 if u["subject"].get("consent_id") == case["consent_id"] and u["action"].startswith("consent_")]
    assert sorted(decisions) == ["consent_approved", "consent_requested"]
    assert _pull(exchange, clerk, case["case_id"]).status_code == 200


def test_counter_cannot_receive_anything_outside_matter_and_consent(exchange: ExchangeEnv) -> None:
    citizen, clerk = citizen_token(exchange), clerk_token(exchange)
    scanned = scan(exchange, clerk, citizen, "driving_licence_renewal")
    decide(exchange, citizen, scanned["consent_id"])
    with exchange.session() as s:
        row = s.get(Consent, scanned["consent_id"])
        assert row is not None
        assert row.requested == {"driving_licence": ["expires_on", "file_number", "licence_number", "name",
                                                     "vehicle_classes"],
                                 "resident_id_card": ["id_number", "name"]}
        # A consent row widened behind the exchange's back (another type, the photo) and narrowed (no
        # file_number): a pull follows the narrower of consent and matter.
        row.requested = {"resident_id_card": ["id_number", "name", "photo", "address"],
                         "driving_licence": ["expires_on", "licence_number", "name", "vehicle_classes"],
                         "realty_certificate": ["location"]}
        s.commit()
    resp = _pull(exchange, clerk, scanned["case_id"])
    assert resp.status_code == 200, resp.text
    got = {lic["type"]: set(lic["fields"]) for lic in resp.json()["licences"]}
    assert got == {"resident_id_card": {"id_number", "name"},
                   "driving_licence": {"expires_on", "licence_number", "name", "vehicle_classes"}}
    for lic in resp.json()["licences"]:
        assert set(unpack(parse_sd_jwt(lic["presentation"])).disclosed) == got[lic["type"]]


def test_qr_refusals_are_refused_and_logged(exchange: ExchangeEnv) -> None:
    citizen, clerk = citizen_token(exchange), clerk_token(exchange)
    holder = _holder(exchange)

    def scan_text(text: str, matter: str = "hpf_loan") -> Any:
        return exchange.client.post("/api/v1/counter/scan", headers=bearer(clerk),
                                    json={"matter": matter, "qr_text": text})

    text = new_qr(exchange, citizen)
    assert text.startswith(PREFIX) and len(text) == 64
    resp = scan_text(text, matter="no_such_matter")
    assert resp.status_code == 422 and resp.json()["error"] == "UNKNOWN_MATTER"
    assert scan_text(text).status_code == 200  # an unknown matter did not spend the QR
    replay = scan_text(text)
    assert replay.status_code == 409 and replay.json()["error"] == "QR_USED"

    fresh = new_qr(exchange, citizen)
    last = fresh[-2]
    tampered_mac = fresh[:-2] + B32[(B32.index(last) + 1) % 32] + fresh[-1]
    resp = scan_text(tampered_mac)
    assert resp.status_code == 403 and resp.json()["error"] == "QR_INVALID"
    tampered_id = fresh[:10] + B32[(B32.index(fresh[10]) + 1) % 32] + fresh[11:]
    resp = scan_text(tampered_id)
    assert resp.status_code == 403 and resp.json()["error"] == "QR_INVALID"
    assert scan_text(fresh).status_code == 200  # the genuine one still works, once

    with exchange.session() as s:
        old = qr_service.mint(exchange.ctx, s, holder_hash=holder, session_jti="test",
                              now=datetime.now(UTC) - timedelta(seconds=120), with_svg=False)
        s.commit()
    resp = scan_text(old.text)
    assert resp.status_code == 410 and resp.json()["error"] == "QR_EXPIRED"

    for other in (citizen, clerk, "eyJhbGciOiJub25lIn0.e30.", "LX1:" + "A" * 60, "https://example.org/?q=1"):
        resp = scan_text(other)
        assert resp.status_code == 422 and resp.json()["error"] == "QR_MALFORMED", other[:20]

    reasons = [u["subject"]["reason"] for u in usage(exchange, citizen) if u["action"] == "scan_refused"]
    for code in ("QR_USED", "QR_INVALID", "QR_EXPIRED"):
        assert code in reasons
    with exchange.session() as s:
        unattributed = list(s.scalars(select(UsageEntry).where(UsageEntry.holder_hash == UNATTRIBUTED)))
    reasons_unattributed = {e.subject["reason"] for e in unattributed}
    assert {"QR_INVALID", "QR_MALFORMED"} <= reasons_unattributed
    assert all(e.action == "scan_refused" and e.actor_kind == "clerk" for e in unattributed)


def test_tokens_are_purpose_bound(exchange: ExchangeEnv) -> None:
    citizen, clerk = citizen_token(exchange), clerk_token(exchange)
    reviewer = clerk_token(exchange, "review_psb")
    text = new_qr(exchange, citizen)
    resp = exchange.client.post("/api/v1/counter/scan", headers=bearer(citizen), json={"matter": "hpf_loan",
                                                                                       "qr_text": text})
    assert resp.status_code == 401 and resp.json()["error"] == "TOKEN_WRONG_TYPE"
    for path in ("/api/v1/citizen/licences", "/api/v1/citizen/usage", "/api/v1/citizen/consents"):
        resp = exchange.client.get(path, headers=bearer(clerk))
        assert resp.status_code == 401 and resp.json()["error"] == "TOKEN_WRONG_TYPE"
        assert exchange.client.get(path).status_code == 401
        assert exchange.client.get(path, headers=bearer(text)).status_code == 401
    resp = exchange.client.post("/api/v1/counter/scan", headers=bearer(reviewer), json={"matter": "hpf_loan",
                                                                                        "qr_text": text})
    assert resp.status_code == 403 and resp.json()["error"] == "ROLE_REQUIRED"
    resp = exchange.client.post("/api/v1/counter/scan", headers=bearer(clerk), json={"matter": "hpf_loan",
                                                                                     "qr_text": text})
    assert resp.status_code == 200  # the refused attempts did not spend it


def test_citizen_cannot_decide_someone_elses_consent(exchange: ExchangeEnv) -> None:
    owner, other, clerk = citizen_token(exchange, 0), citizen_token(exchange, 1), clerk_token(exchange)
    scanned = scan(exchange, clerk, owner)
    resp = decide(exchange, other, scanned["consent_id"])
    assert resp.status_code == 404 and resp.json()["error"] == "CONSENT_NOT_FOUND"
    resp = exchange.client.post(f"/api/v1/citizen/consents/{scanned['consent_id']}/withdraw", headers=bearer(other))
    assert resp.status_code == 404
    assert scanned["consent_id"] not in {c["id"] for c in exchange.client.get(
        "/api/v1/citizen/consents", headers=bearer(other)).json()}
    resp = decide(exchange, owner, scanned["consent_id"], "maybe")
    assert resp.status_code == 422


def test_my_licences_are_masked(exchange: ExchangeEnv) -> None:
    citizen = citizen_token(exchange)
    resp = exchange.client.get("/api/v1/citizen/licences", headers=bearer(citizen))
    assert resp.status_code == 200
    person = exchange.records.citizens[PERSONA_A]
    assert person.id_number not in resp.text
    licences = resp.json()
    id_card = next(lic for lic in licences if lic["type"] == "resident_id_card")
    fields = {f["name"]: f for f in id_card["fields"]}
    assert fields["id_number"]["value"] == person.id_number[:4] + "*" * 10 + person.id_number[-4:]
    assert fields["photo"]["value"] is None and fields["photo"]["masked"] is True
    assert fields["birth_date"]["value"].endswith("-**-**")
    assert fields["name"]["value"] == person.name and fields["name"]["masked"] is False
    assert id_card["type_name"] == "居民身份证" and id_card["issuer"] == "长沙市公安局" and id_card["status"] == "valid"
    assert {lic["type"] for lic in licences} >= {"resident_id_card", "household_register", "marriage_certificate"}


def test_usage_log_is_own_and_chained(exchange: ExchangeEnv) -> None:
    owner, clerk = citizen_token(exchange, 0), clerk_token(exchange)
    scan(exchange, clerk, owner)
    mine = usage(exchange, owner)
    assert mine and [u["seq"] for u in mine] == sorted((u["seq"] for u in mine), reverse=True)
    assert set(mine[0]) >= {"seq", "at", "action", "outcome", "actor", "place", "matter", "subject"}
    other = usage(exchange, citizen_token(exchange, 5))
    assert not {u["subject"].get("case_id") for u in other} & {u["subject"].get("case_id") for u in mine} - {None}
    page = exchange.client.get(f"/api/v1/citizen/usage?limit=2&before_seq={mine[0]['seq']}",
                               headers=bearer(owner)).json()
    assert [u["seq"] for u in page] == [u["seq"] for u in mine[1:3]]
    assert exchange.client.get("/api/v1/citizen/usage?limit=0", headers=bearer(owner)).status_code == 422
    sequence_all(exchange.ctx)
    with exchange.session() as s:
        assert verify_holder(s, _holder(exchange)) == (True, None)
        assert verify_holder(s, UNATTRIBUTED)[0] is True
