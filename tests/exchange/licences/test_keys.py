"""Department keys over their life (SQLite and PostgreSQL): a rotated key keeps earlier licences valid, a key the
city CA never certified is refused at intake, and revoking a key makes every licence it signed REVOKED while
``signed-by`` (API, client and CLI) lists exactly those licences."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from exchange.departments.admin import register_certificate, revoke_certificate
from exchange.kit.db import unit_of_work
from exchange.licences.models import LicenceSigner
from exchange.models import Licence
from exchange.provision import demo_ca_dir
from exchange.status.service import RegistryStatus
from issuers import pki
from issuers.department import DepartmentSigner
from tests.fixtures.exchange import ExchangeEnv
from verifier.licence import verify_licence
from verifier.result import Code
from verifier.trust import TrustList

SD_JWT = {"Content-Type": "application/dc+sd-jwt"}
DEPT = "blood"


def _headers(env: ExchangeEnv) -> dict[str, str]:
    return {"Authorization": f"Bearer {env.department_token(DEPT)}"}


def _trust(env: ExchangeEnv) -> TrustList:
    return TrustList.load(env.client.get("/api/v1/trust-list").content)


def _sign_and_push(env: ExchangeEnv, signer: DepartmentSigner, serial: str) -> tuple[str, str, int]:
    draft = dataclasses.replace(next(d for d in env.records.licences() if d.department_id == DEPT), serial=serial)
    ref = env.client.post("/api/v1/status-lists/allocations", json={"count": 1},
                          headers=_headers(env)).json()["references"][0]
    credential = signer.sign(draft, status_list=(ref["idx"], ref["uri"]))
    resp = env.client.post("/api/v1/licences", content=credential, headers={**SD_JWT, **_headers(env)})
    return credential, resp.json().get("licence_id", resp.json().get("error")), resp.status_code


def _rotated(env: ExchangeEnv, old: DepartmentSigner) -> DepartmentSigner:
    """A new licence key certified by the city root (the demo keeps the root key; production signs a CSR)."""
    ca_dir = demo_ca_dir(env.settings.data_dir)
    root_key = pki.load_private_key(ca_dir / "root.key", env.settings.key_passphrase_bytes())
    root_cert = pki.cert_from_pem((ca_dir / "root.crt").read_bytes())
    dept = old.department
    key, cert = pki.issue_certificate(root_key, root_cert, subject_cn=f"{dept.name} licence 2", org=dept.name,
                                      department_id=dept.id, uscc=dept.uscc, use="licence")
    with unit_of_work(env.ctx.sessions) as session:
        register_certificate(session, dept.id, "licence", cert)
    return dataclasses.replace(old, licence_key=key, licence_cert=cert)


def _verify(env: ExchangeEnv, credential: str) -> tuple[str, ...]:
    with env.session() as session:
        result = verify_licence(credential, _trust(env), status=RegistryStatus(env.ctx, session),
                                catalogue=env.ctx.catalogue)
    return result.codes


def test_rotation_uncertified_key_revocation_and_signed_by(exchange: ExchangeEnv, tmp_path: Path) -> None:
    old = exchange.signer(DEPT)
    old_fp = pki.cert_fingerprint(old.licence_cert)
    with exchange.session() as session:
        demo_ids = set(session.scalars(select(Licence.licence_id).where(Licence.department_id == DEPT)))
    assert demo_ids
    before, before_id, status = _sign_and_push(exchange, old, "KEY0001")
    assert status == 201 and _verify(exchange, before) == ()

    # rotation: a second certified key; both are listed, earlier licences stay valid, new ones are accepted
    new = _rotated(exchange, old)
    trust = _trust(exchange)
    assert {pki.cert_fingerprint(c.cert) for c in trust.departments[DEPT].certificates if c.use == "licence"} >= {
        old_fp, pki.cert_fingerprint(new.licence_cert)}
    after, after_id, status = _sign_and_push(exchange, new, "KEY0002")
    assert status == 201 and _verify(exchange, after) == () and _verify(exchange, before) == ()

    # a key the city CA never certified (its own self-made CA) is refused at intake
    rogue_root_key, rogue_root = pki.create_root_ca(common_name="rogue root")
    rkey, rcert = pki.issue_certificate(rogue_root_key, rogue_root, subject_cn="rogue", org=old.department.name,
                                        department_id=DEPT, uscc=old.department.uscc, use="licence")
    _, error, status = _sign_and_push(exchange, dataclasses.replace(old, licence_key=rkey, licence_cert=rcert),
                                      "KEY0003")
    assert status == 403 and error == "UNTRUSTED_ISSUER"

    # signed-by lists exactly what the old key signed (API and client), nothing of the new key
    listed = exchange.client.get(f"/api/v1/licences/signed-by/{old_fp}", headers=_headers(exchange))
    assert listed.status_code == 200, listed.text
    assert set(listed.json()["licences"]) == demo_ids | {before_id}
    with exchange.session() as session:
        by_old = set(session.scalars(select(LicenceSigner.licence_id).where(LicenceSigner.cert_fingerprint == old_fp)))
    assert by_old == demo_ids | {before_id} and after_id not in by_old
    other = exchange.client.get(f"/api/v1/licences/signed-by/{old_fp}",
                                headers={"Authorization": f"Bearer {exchange.department_token('hpf')}"})
    assert other.status_code == 200 and other.json()["licences"] == []  # only one's own licences

    # revoking the old key: every licence it signed reads REVOKED, the rotated key's do not
    with unit_of_work(exchange.ctx.sessions) as session:
        revoke_certificate(session, old_fp, "keyCompromise")
    assert Code.REVOKED in _verify(exchange, before)
    assert _verify(exchange, after) == ()
    with exchange.session() as session:
        trust = _trust(exchange)
        status = RegistryStatus(exchange.ctx, session)
        for row in session.scalars(select(Licence).where(Licence.licence_id.in_(demo_ids))):
            from exchange.licences.service import credential_of

            result = verify_licence(credential_of(row, exchange.ctx.protector), trust, status=status,
                                    catalogue=exchange.ctx.catalogue)
            assert Code.REVOKED in result.codes, result.verdict

    # the operator's CLI says the same
    cert_file = tmp_path / "old.crt"
    cert_file.write_text(pki.cert_to_pem(old.licence_cert))
    env = {**os.environ, "LICEX_DATABASE_URL": exchange.settings.sqlalchemy_url, "LICEX_LOG_LEVEL": "WARNING"}
    res = subprocess.run([str(Path(sys.executable).parent / "licex"), "licences", "signed-by", "--cert",
                          str(cert_file), "--data-dir", str(exchange.settings.data_dir)],
                         capture_output=True, text=True, env=env, check=False, timeout=300)
    assert res.returncode == 0, res.stderr
    assert set(json.loads(res.stdout)["licences"]) == demo_ids | {before_id}
