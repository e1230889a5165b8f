"""Licence intake over HTTP: verified before storage, idempotent, authorised, bad input named — both DBs."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from exchange.models import Licence
from issuers.sdjwt import issue_licence
from schemas.identifiers import make_licence_identifier
from tests.fixtures.exchange import ExchangeEnv

SD_JWT = {"Content-Type": "application/dc+sd-jwt"}


def _draft(env: ExchangeEnv, type_key: str, index: int = 0):  # type: ignore[no-untyped-def]
    drafts = [d for d in env.records.licences() if d.type_key == type_key]
    return drafts[index]


def _push(env: ExchangeEnv, credential: str, department: str, **headers: str):  # type: ignore[no-untyped-def]
    token = env.department_token(department)
    return env.client.post("/api/v1/licences", content=credential,
                           headers={**SD_JWT, "Authorization": f"Bearer {token}", **headers})


def _fresh(env: ExchangeEnv, type_key: str, serial: str, **changes: object) -> tuple[str, str]:
    """Sign a variant of a demo draft. Department-side validation is skipped (validate=False) so that the
    exchange's own checks are what is tested."""
    draft = _draft(env, type_key)
    fields = dict(draft.fields)
    fields.update(changes.pop("fields", {}))  # type: ignore[call-overload]
    draft = dataclasses.replace(draft, serial=serial, fields=fields, **changes)
    return env.signer(draft.department_id).sign(draft, validate=False), draft.department_id


def _raw_sign(env: ExchangeEnv, draft, department_id: str, *, licence_id: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """Sign exactly what we say, bypassing the department's own guards (a misbehaving issuer)."""
    signer = env.signer(department_id)
    lt = env.ctx.catalogue.licence_types[draft.type_key]
    dept = env.ctx.catalogue.departments[department_id]
    return issue_licence(
        key=signer.licence_key, cert=signer.licence_cert, department_id=dept.id, issuer_name=dept.name,
        issuer_uscc=dept.uscc, licence_type_code=lt.code, licence_name=lt.name,
        licence_id=licence_id or make_licence_identifier(lt.code, dept.uscc, draft.serial),
        licence_no=draft.licence_no, fields=draft.fields, holder_name=draft.holder_name,
        holder_code=draft.holder_code, holder_code_type=lt.holder_code_type, issued_on=draft.issued_on,
        valid_from=draft.valid_from, valid_until=draft.valid_until, jurisdiction=dept.division)


def test_push_is_verified_stored_and_idempotent(exchange: ExchangeEnv) -> None:
    credential, dept = _fresh(exchange, "blood_donation", "PUSH000001")
    before = exchange.count(Licence)
    first = _push(exchange, credential, dept)
    assert first.status_code == 201, first.text
    assert first.json()["created"] is True
    again = _push(exchange, credential, dept)
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["licence_id"] == first.json()["licence_id"]
    assert exchange.count(Licence) == before + 1
    status = exchange.client.get(f"/api/v1/status/{first.json()['licence_id']}")
    assert status.status_code == 200 and status.json()["status"] == "valid"
    # a licence is registered once: intake keeps no parse of it (bulk imports would fill the memo for nothing)
    from verifier import licence as licence_module

    assert credential not in licence_module._MEMO


def test_json_body_form_is_accepted(exchange: ExchangeEnv) -> None:
    credential, dept = _fresh(exchange, "blood_donation", "PUSH000002")
    token = exchange.department_token(dept)
    resp = exchange.client.post("/api/v1/licences", json={"credential": credential},
                                headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 201, resp.text


def test_same_identifier_different_content_conflicts(exchange: ExchangeEnv) -> None:
    credential, dept = _fresh(exchange, "blood_donation", "PUSH000003")
    assert _push(exchange, credential, dept).status_code == 201
    resigned, _ = _fresh(exchange, "blood_donation", "PUSH000003")  # new salts → different bytes
    resp = _push(exchange, resigned, dept)
    assert resp.status_code == 409 and resp.json()["error"] == "LICENCE_ID_CONFLICT"


def _id_with_bad_check_digit(env: ExchangeEnv) -> str:
    good = _draft(env, "resident_id_card").holder_code
    wrong = "0" if good[-1] != "0" else "1"
    return good[:-1] + wrong


@pytest.mark.parametrize("case", ["id_check_digit", "birth_date", "uscc_char", "licence_identifier"])
def test_bad_identifiers_are_refused_naming_the_field(exchange: ExchangeEnv, case: str) -> None:
    before = exchange.count(Licence)
    if case == "id_check_digit":
        bad = _id_with_bad_check_digit(exchange)
        draft = _draft(exchange, "resident_id_card")
        field = draft and exchange.ctx.catalogue.licence_types["resident_id_card"].holder_code_field
        credential, dept = _fresh(exchange, "resident_id_card", "BADID0001", holder_code=bad,
                                  fields={field: bad})
        expected_fields = {"holder_code", field}
    elif case == "birth_date":
        good = _draft(exchange, "resident_id_card").holder_code
        from schemas.identifiers import citizen_id_check_char

        body = good[:6] + "19990230" + good[14:17]  # 30 February
        bad = body + citizen_id_check_char(body)
        field = exchange.ctx.catalogue.licence_types["resident_id_card"].holder_code_field
        credential, dept = _fresh(exchange, "resident_id_card", "BADID0002", holder_code=bad,
                                  fields={field: bad})
        expected_fields = {"holder_code", field}
    elif case == "uscc_char":
        draft = _draft(exchange, "business_licence")
        lt = exchange.ctx.catalogue.licence_types["business_licence"]
        bad = draft.holder_code[:5] + "I" + draft.holder_code[6:]  # I is not in the GB 32100 charset
        credential, dept = _fresh(exchange, "business_licence", "BADUSCC01", holder_code=bad,
                                  fields={lt.holder_code_field: bad})
        expected_fields = {"holder_code", lt.holder_code_field}
    else:
        draft = _draft(exchange, "blood_donation")
        good = make_licence_identifier(exchange.ctx.catalogue.licence_types["blood_donation"].code,
                                       exchange.ctx.catalogue.departments["blood"].uscc, "BADLID01")
        bad = good[:-1] + ("0" if good[-1] != "0" else "1")  # wrong MOD 37,36 check character
        dept = draft.department_id
        credential = _raw_sign(exchange, draft, dept, licence_id=bad)
        expected_fields = {"licence_id"}
    resp = _push(exchange, credential, dept)
    assert 400 <= resp.status_code < 500, resp.text
    body = resp.json()
    assert body["error"] and body.get("field") in expected_fields, body
    assert exchange.count(Licence) == before


def test_oversize_body_and_wrong_content_type(exchange: ExchangeEnv) -> None:
    before = exchange.count(Licence)
    token = exchange.department_token("blood")
    big = exchange.client.post("/api/v1/licences", content=b"a" * (exchange.settings.max_body_bytes + 1),
                               headers={**SD_JWT, "Authorization": f"Bearer {token}"})
    assert big.status_code == 413 and big.json()["error"] == "PAYLOAD_TOO_LARGE"
    credential, _ = _fresh(exchange, "blood_donation", "CTYPE0001")
    wrong = exchange.client.post("/api/v1/licences", content=credential,
                                 headers={"Content-Type": "text/plain", "Authorization": f"Bearer {token}"})
    assert wrong.status_code == 415 and wrong.json()["field"] == "content-type"
    assert exchange.count(Licence) == before


def test_department_may_not_push_a_type_it_does_not_issue(exchange: ExchangeEnv) -> None:
    before = exchange.count(Licence)
    draft = dataclasses.replace(_draft(exchange, "blood_donation"), serial="NOTMINE01")
    credential = _raw_sign(exchange, draft, "hpf")
    resp = _push(exchange, credential, "hpf")
    assert resp.status_code == 403 and resp.json()["error"] == "ISSUER_NOT_AUTHORISED"
    assert exchange.count(Licence) == before


def test_department_may_not_push_another_departments_licence(exchange: ExchangeEnv) -> None:
    credential, _ = _fresh(exchange, "blood_donation", "OTHER0001")
    resp = _push(exchange, credential, "hpf")
    assert resp.status_code == 403 and resp.json()["error"] == "DEPARTMENT_MISMATCH"


def test_tampered_credential_is_refused(exchange: ExchangeEnv) -> None:
    credential, dept = _fresh(exchange, "blood_donation", "TAMPER001")
    head, payload, sig_rest = credential.split(".", 2)
    flipped = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
    resp = _push(exchange, f"{head}.{flipped}.{sig_rest}", dept)
    assert resp.status_code == 422 and resp.json()["error"] in {"BAD_SIGNATURE", "MALFORMED_LICENCE"}


def test_status_revoke_suspend_reinstate_by_issuer_only(exchange: ExchangeEnv) -> None:
    credential, dept = _fresh(exchange, "blood_donation", "STATUS001")
    lid = _push(exchange, credential, dept).json()["licence_id"]
    other = exchange.department_token("hpf")
    own = exchange.department_token(dept)
    refused = exchange.client.post(f"/api/v1/licences/{lid}/status", json={"action": "revoke", "reason": "x"},
                                   headers={"Authorization": f"Bearer {other}"})
    assert refused.status_code == 403
    for action, expected in (("suspend", "suspended"), ("reinstate", "valid"), ("revoke", "revoked")):
        resp = exchange.client.post(f"/api/v1/licences/{lid}/status", json={"action": action, "reason": "test"},
                                    headers={"Authorization": f"Bearer {own}"})
        assert resp.status_code == 200 and resp.json()["status"] == expected, resp.text
    again = exchange.client.post(f"/api/v1/licences/{lid}/status", json={"action": "reinstate", "reason": "t"},
                                 headers={"Authorization": f"Bearer {own}"})
    assert again.status_code == 409


def test_expiry_is_honoured_in_status(exchange: ExchangeEnv) -> None:
    long_ago = date.today() - timedelta(days=3000)
    credential, dept = _fresh(exchange, "blood_donation", "EXPIRED01", issued_on=long_ago, valid_from=long_ago,
                              valid_until=long_ago + timedelta(days=365))
    resp = _push(exchange, credential, dept)
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"] == "expired"
    assert exchange.client.get(f"/api/v1/status/{resp.json()['licence_id']}").json()["status"] == "expired"


def test_unknown_licence_status_is_404_json(exchange: ExchangeEnv) -> None:
    resp = exchange.client.get("/api/v1/status/1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F")
    assert resp.status_code == 404 and resp.json()["error"] == "LICENCE_NOT_FOUND"
