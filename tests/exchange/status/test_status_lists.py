"""IETF Token Status Lists at the exchange (SQLite and PostgreSQL): a department reserves entries over HTTP,
signs, pushes; the list is served as a statuslist+jwt and read by the verifier's client; revoke / suspend /
reinstate change it at once; sealed proofs carry an entry too; and an unknown status fails closed in the
counter pull and the department verify API."""

from __future__ import annotations

import base64
import dataclasses
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select

from exchange.proofs import service as proofs
from exchange.proofs.datasource import install_default
from exchange.status.models import StatusAllocation, StatusListShard
from exchange.usage.service import Actor
from tests.exchange.counter.flow import bearer, citizen_token, clerk_token, decide, scan
from tests.fixtures.exchange import ExchangeEnv
from tests.verifier.test_status_list import draft_decoder
from verifier.licence import verify_licence
from verifier.proof import parse_proof_qr, verify_proof_pdf
from verifier.result import Code
from verifier.status_list import MEDIA_TYPE, StatusListClient
from verifier.trust import TrustList

SD_JWT = {"Content-Type": "application/dc+sd-jwt"}


def _auth(env: ExchangeEnv, department: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {env.department_token(department)}"}


def _allocate(env: ExchangeEnv, department: str, count: int = 1) -> list[dict[str, Any]]:
    resp = env.client.post("/api/v1/status-lists/allocations", json={"count": count}, headers=_auth(env, department))
    assert resp.status_code == 200, resp.text
    refs: list[dict[str, Any]] = resp.json()["references"]
    return refs


def _fetch(env: ExchangeEnv) -> Any:
    def fetch(uri: str) -> str:
        resp = env.client.get(uri, headers={"Accept": MEDIA_TYPE})
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith(MEDIA_TYPE)
        return resp.text

    return fetch


def _trust(env: ExchangeEnv) -> TrustList:
    """The published trust list, as a verifier downloads it."""
    return TrustList.load(env.client.get("/api/v1/trust-list").content)


def _client(env: ExchangeEnv) -> StatusListClient:
    """A fresh verifier-side client (no cache): what a verifier sees after its ttl."""
    trust = _trust(env)
    return StatusListClient(trust, fetch=_fetch(env), allowed_prefixes=("http://testserver/",))


def _signed(env: ExchangeEnv, serial: str, ref: dict[str, Any], type_key: str = "blood_donation") -> str:
    draft = next(d for d in env.records.licences() if d.type_key == type_key)
    draft = dataclasses.replace(draft, serial=serial)
    return env.signer(draft.department_id).sign(draft, status_list=(ref["idx"], ref["uri"]))


def test_list_is_served_as_a_status_list_token(exchange: ExchangeEnv) -> None:
    ref = _allocate(exchange, "blood")[0]
    resp = exchange.client.get(ref["uri"], headers={"Accept": MEDIA_TYPE})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith(MEDIA_TYPE)
    assert resp.headers["cache-control"] == "public, max-age=300"
    token = _client(exchange).token(ref["uri"])
    assert token.status_list.bits == 2 and token.status_list.size == 1 << 20
    assert token.ttl == 300 and token.expires_at > token.issued_at
    assert exchange.client.get("/api/v1/status-lists/ffffffffffffffff").status_code == 404
    assert exchange.client.post("/api/v1/status-lists/allocations", json={"count": 1}).status_code == 401


def test_indices_are_random_not_in_issue_order(exchange: ExchangeEnv) -> None:
    idx = [_allocate(exchange, "blood")[0]["idx"] for _ in range(40)]
    assert len(set(idx)) == 40
    assert idx != sorted(idx) and idx != sorted(idx, reverse=True)
    assert max(idx) - min(idx) > 100_000  # spread over the 1 Mi list, not clustered at the start
    ascending = sum(1 for a, b in itertools.pairwise(idx) if b > a)
    assert 5 < ascending < 34  # about half the steps go up, as for a random order


def test_push_revoke_suspend_reinstate_round_trip(exchange: ExchangeEnv) -> None:
    ref = _allocate(exchange, "blood")[0]
    credential = _signed(exchange, "ST0001", ref)
    resp = exchange.client.post("/api/v1/licences", content=credential, headers={**SD_JWT, **_auth(exchange, "blood")})
    assert resp.status_code == 201, resp.text
    licence_id = resp.json()["licence_id"]
    trust = _trust(exchange)

    def check() -> Any:
        return verify_licence(credential, trust, status=_client(exchange), catalogue=exchange.ctx.catalogue)

    first = check()
    assert first.valid, first.verdict
    assert first.details["status_list"] == {"idx": ref["idx"], "uri": ref["uri"]}
    for action, code in (("suspend", Code.SUSPENDED), ("reinstate", None), ("revoke", Code.REVOKED)):
        resp = exchange.client.post(f"/api/v1/licences/{licence_id}/status", json={"action": action, "reason": "t"},
                                    headers=_auth(exchange, "blood"))
        assert resp.status_code == 200, resp.text
        result = check()
        assert result.codes == (() if code is None else (code,)), (action, result.verdict)
        # the bit, read by the draft's decoder from the served token
        lst = exchange.client.get(ref["uri"], headers={"Accept": MEDIA_TYPE}).text
        claims = json.loads(base64.urlsafe_b64decode(lst.split(".")[1] + "=="))
        bit = draft_decoder(claims["status_list"]["lst"], 2, ref["idx"])
        assert bit == {"suspend": 2, "reinstate": 0, "revoke": 1}[action]


def test_intake_refuses_entries_not_given_to_the_department(exchange: ExchangeEnv) -> None:
    theirs = _allocate(exchange, "hpf")[0]  # allocated to another department
    resp = exchange.client.post("/api/v1/licences", content=_signed(exchange, "ST0002", theirs),
                                headers={**SD_JWT, **_auth(exchange, "blood")})
    assert resp.status_code == 403 and resp.json()["error"] == "STATUS_REFERENCE_INVALID"
    mine = _allocate(exchange, "blood")[0]
    ok = exchange.client.post("/api/v1/licences", content=_signed(exchange, "ST0003", mine),
                              headers={**SD_JWT, **_auth(exchange, "blood")})
    assert ok.status_code == 201, ok.text
    reused = exchange.client.post("/api/v1/licences", content=_signed(exchange, "ST0004", mine),
                                  headers={**SD_JWT, **_auth(exchange, "blood")})
    assert reused.status_code == 403 and reused.json()["error"] == "STATUS_REFERENCE_INVALID"
    forged = dict(mine, uri="http://elsewhere.example/api/v1/status-lists/0011")
    bad = exchange.client.post("/api/v1/licences", content=_signed(exchange, "ST0005", forged),
                               headers={**SD_JWT, **_auth(exchange, "blood")})
    assert bad.status_code == 403


@pytest.fixture(scope="module")
def sealed(exchange: ExchangeEnv) -> Any:
    exchange.ctx.proof_workers = 0
    install_default(exchange.ctx)
    with exchange.session() as session, session.begin():
        issued = proofs.create_instant(exchange.ctx, session, type_key="realty_query",
                                       id_number=exchange.records.persona(3).id_number,
                                       requester=Actor("system", "test"))
    return issued


def test_revoked_sealed_proof_reads_revoked_in_verify_proof(exchange: ExchangeEnv, sealed: Any) -> None:
    assert parse_proof_qr(sealed.qr_text).status_list is not None  # the signed QR names its entry
    trust = _trust(exchange)
    ok = verify_proof_pdf(sealed.pdf, trust, status=_client(exchange))
    assert ok.valid, ok.verdict
    assert ok.details["status"] == "valid" and "status_list" in ok.details
    with exchange.session() as session, session.begin():
        proofs.revoke(session, sealed.proof.id)
    revoked = verify_proof_pdf(sealed.pdf, trust, status=_client(exchange))
    assert revoked.codes == (Code.REVOKED,), revoked.verdict
    # offline, without a status source: fail closed
    unknown = verify_proof_pdf(sealed.pdf, trust)
    assert unknown.codes == (Code.STATUS_UNAVAILABLE,) and unknown.outcome == "indeterminate"


@contextmanager
def _status_store_broken(env: ExchangeEnv) -> Iterator[None]:
    """Fault injection: the status bits of every list become unreadable (then are restored)."""
    with env.session() as session, session.begin():
        saved = {s.id: s.data for s in session.scalars(select(StatusListShard))}
        for shard in session.scalars(select(StatusListShard)):
            shard.data = b"\x00"
    try:
        yield
    finally:
        with env.session() as session, session.begin():
            for shard in session.scalars(select(StatusListShard)):
                shard.data = saved[shard.id]


def test_verify_api_fails_closed(exchange: ExchangeEnv) -> None:
    exchange.ctx.proof_workers = 0
    install_default(exchange.ctx)
    with exchange.session() as session, session.begin():
        issued = proofs.create_instant(exchange.ctx, session, type_key="realty_query",
                                       id_number=exchange.records.persona(3).id_number,
                                       requester=Actor("system", "test"))
    headers = {"Authorization": f"Bearer {exchange.department_token('amr', 'verify:proofs')}",
               "Content-Type": "application/pdf"}
    ok = exchange.client.post("/api/v1/proofs/verify", content=issued.pdf, headers=headers)
    assert ok.status_code == 200 and ok.json()["valid"] is True and ok.json()["outcome"] == "valid"
    with _status_store_broken(exchange):
        resp = exchange.client.post("/api/v1/proofs/verify", content=issued.pdf, headers=headers)
    body = resp.json()
    assert resp.status_code == 200 and body["valid"] is False, body
    assert body["codes"] == [Code.STATUS_UNAVAILABLE] and body["outcome"] == "indeterminate"
    assert body["verdict"].startswith("INDETERMINATE")


def test_counter_pull_fails_closed(exchange: ExchangeEnv) -> None:
    citizen, clerk = citizen_token(exchange), clerk_token(exchange)
    scanned = scan(exchange, clerk, citizen, "hpf_loan")
    assert decide(exchange, citizen, scanned["consent_id"]).json()["status"] == "approved"
    with _status_store_broken(exchange):
        resp = exchange.client.post(f"/api/v1/counter/cases/{scanned['case_id']}/pull", headers=bearer(clerk))
    assert resp.status_code == 200, resp.text
    pulled = resp.json()
    assert pulled["licences"]
    for lic in pulled["licences"]:
        assert lic["verification"]["valid"] is False
        assert lic["verification"]["codes"] == [Code.STATUS_UNAVAILABLE]
        assert lic["verification"]["outcome"] == "indeterminate"
    assert not any(item["satisfied"] for item in pulled["checklist"])


def test_every_demo_licence_has_a_bound_entry(exchange: ExchangeEnv) -> None:
    from exchange.models import Licence

    with exchange.session() as session:
        licences = set(session.scalars(select(Licence.licence_id)))
        bound = set(session.scalars(select(StatusAllocation.subject).where(StatusAllocation.kind == "licence")))
    assert licences and licences <= bound


def test_registry_status_reads_one_byte_and_agrees_with_the_whole_list(exchange: ExchangeEnv) -> None:
    """The exchange's own status check reads the one byte that holds an entry; at every probed index, in
    every value, it says what the whole list says, and outside the list or for another list it fails closed."""
    from exchange.status import service as status_lists
    from verifier.errors import StatusUnavailable
    from verifier.status_list import STATUS_NAMES, StatusList

    with exchange.session() as session, session.begin():
        shard = session.scalars(select(StatusListShard).order_by(StatusListShard.id)).first()
        assert shard is not None
        list_id, size, saved, saved_bits = shard.list_id, shard.size, shard.data, shard.bits
        probes = [0, 1, 2, 3, 4, 5, 7, 8, 1023, size // 2, size - 4, size - 1]
        bits = StatusList(shard.size, shard.bits, shard.data)
        for n, idx in enumerate(probes):
            bits.set(idx, n % 4)  # 0 valid, 1 invalid, 2 suspended, 3 undefined
        shard.data = bytes(bits.data)
    uri = status_lists.list_uri(exchange.ctx, list_id)
    try:
        with exchange.session() as session:
            source = status_lists.RegistryStatus(exchange.ctx, session)
            for n, idx in enumerate(probes):
                if n % 4 == 3:
                    with pytest.raises(StatusUnavailable, match="undefined"):
                        source.lookup(uri, idx)
                else:
                    assert source.lookup(uri, idx) == STATUS_NAMES[bits.get(idx)] == STATUS_NAMES[n % 4]
            for idx in (size, size + 8, -1, 1 << 40):
                with pytest.raises(StatusUnavailable, match="outside"):
                    source.lookup(uri, idx)
            with pytest.raises(StatusUnavailable, match="does not exist"):
                source.lookup(status_lists.list_uri(exchange.ctx, "0" * 16), 0)
        for corrupt in (3, 1000, -2):  # a width no list has (and one that would overflow the byte offset)
            with exchange.session() as session, session.begin():
                session.scalars(select(StatusListShard).where(StatusListShard.list_id == list_id)).one().bits = corrupt
            with exchange.session() as session, pytest.raises(StatusUnavailable, match="unreadable"):
                status_lists.RegistryStatus(exchange.ctx, session).lookup(uri, (1 << 28) - 1)
    finally:
        with exchange.session() as session, session.begin():
            row = session.scalars(select(StatusListShard).where(StatusListShard.list_id == list_id)).one()
            row.data, row.bits = saved, saved_bits


def test_prefetched_entries_answer_without_another_query(exchange: ExchangeEnv) -> None:
    """A counter pull reads all its licences' entries in one query; each lookup then answers what a lookup of
    its own would, without touching the database, and a token not read ahead is still read on its own."""
    from sqlalchemy import event

    from exchange.models import Licence
    from exchange.status import service as status_lists

    with exchange.session() as session:
        ids = list(session.scalars(select(Licence.licence_id).order_by(Licence.licence_id).limit(8)))
        entries = session.execute(
            select(StatusAllocation.subject, StatusListShard.list_id, StatusAllocation.idx)
            .join(StatusListShard, StatusListShard.id == StatusAllocation.list_pk)
            .where(StatusAllocation.kind == "licence", StatusAllocation.subject.in_(ids))).all()
        assert len(entries) == len(ids) == 8
        alone = status_lists.RegistryStatus(exchange.ctx, session)
        expected = {s: alone.lookup(status_lists.list_uri(exchange.ctx, lid), idx) for s, lid, idx in entries}
        ahead = status_lists.RegistryStatus(exchange.ctx, session)
        ahead.prefetch("licence", ids[:6])
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(str(args[2]))

        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            got = {s: ahead.lookup(status_lists.list_uri(exchange.ctx, lid), idx) for s, lid, idx in entries}
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert got == expected
    assert len(statements) == 2  # only the two tokens that were not read ahead
