"""Trust list, catalogue API, OpenAPI operationIds, JSON errors — both DBs."""

from __future__ import annotations

from exchange.departments.admin import revoke_certificate
from exchange.kit.db import unit_of_work
from issuers.pki import cert_fingerprint
from tests.fixtures.exchange import ExchangeEnv
from verifier.licence import verify_licence
from verifier.trust import TrustList


def test_trust_list_is_signed_and_lists_departments(exchange: ExchangeEnv) -> None:
    resp = exchange.client.get("/api/v1/trust-list")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/jwt")
    root_fp = cert_fingerprint(exchange.ctx.keyring.root)
    trust = TrustList.load(resp.content, pinned_root_fingerprints=[root_fp])
    assert set(trust.departments) == set(exchange.ctx.catalogue.departments)
    psb = trust.departments["psb"]
    assert exchange.ctx.catalogue.licence_types["resident_id_card"].code in psb.may_issue
    uses = {c.use for c in psb.certificates}
    assert uses == {"licence", "seal"}  # client keys are not published


def test_revoked_department_key_appears_in_trust_list_and_fails_licences(exchange: ExchangeEnv) -> None:
    draft = next(d for d in exchange.records.licences() if d.department_id == "blood")
    signer = exchange.signer("blood")
    credential = signer.sign(draft)
    trust = TrustList.load(exchange.client.get("/api/v1/trust-list").content)
    assert verify_licence(credential, trust).valid
    with unit_of_work(exchange.ctx.sessions) as s:
        revoke_certificate(s, cert_fingerprint(signer.licence_cert), "key compromise drill")
    trust = TrustList.load(exchange.client.get("/api/v1/trust-list").content)
    assert trust.is_revoked(signer.licence_cert)
    result = verify_licence(credential, trust)
    assert not result.valid and "REVOKED" in result.codes


def test_catalogue_lists_at_least_twelve_types(exchange: ExchangeEnv) -> None:
    types = exchange.client.get("/api/v1/catalogue/licence-types").json()
    assert len(types) >= 12
    names = {t["name"] for t in types}
    assert {"居民身份证", "居民户口簿", "营业执照", "不动产权证书", "教师资格证"} <= names
    one = exchange.client.get("/api/v1/catalogue/licence-types/resident_id_card").json()
    assert one["name"] == "居民身份证"
    assert exchange.client.get("/api/v1/catalogue/licence-types/nope").json()["error"] == "LICENCE_TYPE_NOT_FOUND"
    assert len(exchange.client.get("/api/v1/catalogue/matters").json()) >= 5
    assert exchange.client.get("/api/v1/catalogue/departments").status_code == 200
    assert exchange.client.get("/api/v1/catalogue/proof-types").status_code == 200


def test_every_route_has_a_stable_unique_operation_id(exchange: ExchangeEnv) -> None:
    spec = exchange.client.get("/openapi.json").json()
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert all(i.replace("_", "").isalnum() and i == i.lower() for i in ids), ids
    assert {"push_licence", "get_licence_status", "change_licence_status", "get_trust_list",
            "list_licence_types", "issue_access_token"} <= set(ids)


def test_unknown_route_and_health(exchange: ExchangeEnv) -> None:
    assert exchange.client.get("/api/v1/nothing-here").json()["error"] == "NOT_FOUND"
    assert exchange.client.get("/healthz").json() == {"status": "ok"}
