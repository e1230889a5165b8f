"""``licex init``: create the database, the PKI and (with ``--demo``) the demo city.

This module is a composition root: it plays the city CA and the departments (via ``issuers``) as well as the
exchange, which is what a single-machine demo needs. The exchange's services never import ``issuers``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from issuers import pki
from issuers.department import DepartmentSigner

from .config import Settings
from .context import AppContext
from .departments import admin
from .kit import migrate
from .kit.db import unit_of_work

ROOT_CN = "长沙市电子证照根CA"
CLIENT_SCOPES = ("issue:licences", "manage:licences", "verify:proofs", "review:proofs")
DEMO_FILE = "demo.json"

Progress = Callable[[str], None]


@dataclass
class ProvisionReport:
    created_root: bool = False
    departments: list[str] = field(default_factory=list)
    licences_created: int = 0
    licences_existing: int = 0
    clerks: list[str] = field(default_factory=list)


def _save_cert(path: Path, cert: x509.Certificate) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(pki.cert_to_pem(cert))


def _root(pki_dir: Path, passphrase: bytes, report: ProvisionReport
          ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    crt, key = pki_dir / "root.crt", pki_dir / "root.key"
    if crt.exists() and key.exists():
        return pki.load_private_key(key, passphrase), pki.cert_from_pem(crt.read_bytes())
    pki_dir.mkdir(parents=True, exist_ok=True)
    root_key, root_cert = pki.create_root_ca(common_name=ROOT_CN)
    pki.save_private_key(root_key, key, passphrase)
    _save_cert(crt, root_cert)
    report.created_root = True
    return root_key, root_cert


def _leaf(pki_dir: Path, name: str, passphrase: bytes, root: tuple[ec.EllipticCurvePrivateKey, x509.Certificate],
          **kwargs: object) -> x509.Certificate:
    crt, key = pki_dir / f"{name}.crt", pki_dir / f"{name}.key"
    if crt.exists() and key.exists():
        return pki.cert_from_pem(crt.read_bytes())
    pki_dir.mkdir(parents=True, exist_ok=True)
    leaf_key, leaf_cert = pki.issue_certificate(root[0], root[1], **kwargs)  # type: ignore[arg-type]
    pki.save_private_key(leaf_key, key, passphrase)
    _save_cert(crt, leaf_cert)
    return leaf_cert


def provision(settings: Settings, *, demo: bool = False, citizens: int = 24, seed: int = 2024,
              progress: Progress | None = None) -> ProvisionReport:
    say = progress or (lambda _msg: None)
    report = ProvisionReport()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    say("migrating database")
    migrate.upgrade(settings.sqlalchemy_url)
    ctx = AppContext.build(settings)
    try:
        passphrase = settings.key_passphrase_bytes()
        pki_dir = settings.data_dir / "pki"
        say("city root CA and exchange certificate")
        root = _root(pki_dir, passphrase, report)
        _leaf(pki_dir, "exchange", passphrase, root, subject_cn="电子证照交换平台 trust list",
              org=settings.city_name + "数据资源局", department_id="exchange", uscc="114301000000000000",
              use="exchange")
        from .tlog.keys import ensure_log_key

        ensure_log_key(settings)  # the usage transparency log's note key (the exchange's own)
        signers: dict[str, DepartmentSigner] = {}
        with unit_of_work(ctx.sessions) as session:
            for dept in ctx.catalogue.departments.values():
                say(f"department {dept.id} {dept.name}")
                admin.ensure_department(session, dept)
                dept_dir = settings.data_dir / "issuers" / dept.id
                if (dept_dir / "licence.crt").exists():
                    signer = DepartmentSigner.load(dept_dir, dept, passphrase)
                else:
                    signer = DepartmentSigner.create(dept_dir, dept, root[0], root[1], passphrase)
                signers[dept.id] = signer
                admin.register_certificate(session, dept.id, "licence", signer.licence_cert)
                admin.register_certificate(session, dept.id, "client", signer.client_cert)
                seal = _leaf(pki_dir / "seals", dept.id, passphrase, root, subject_cn=f"{dept.name}电子印章",
                             org=dept.name, department_id=dept.id, uscc=dept.uscc, use="seal")
                admin.register_certificate(session, dept.id, "seal", seal)
                admin.ensure_client(session, dept.id, dept.id, CLIENT_SCOPES)
                report.departments.append(dept.id)
        if demo:
            _demo_data(ctx, signers, citizens=citizens, seed=seed, report=report, say=say)
    finally:
        ctx.close()
    return report


def _demo_data(ctx: AppContext, signers: dict[str, DepartmentSigner], *, citizens: int, seed: int,
               report: ProvisionReport, say: Progress) -> None:
    from issuers.demo import SystemOfRecord
    from schemas.identifiers import make_licence_identifier

    from .licences import repository as licence_repo
    from .licences import service as licences
    from .trust.service import current_trust_list

    records = SystemOfRecord.generate(seed=seed, citizens=citizens)
    (ctx.settings.data_dir / DEMO_FILE).write_text(json.dumps({"seed": seed, "citizens": citizens}))
    say("signing and registering demo licences")
    with unit_of_work(ctx.sessions) as session:
        trust = current_trust_list(ctx, session)
        for draft in records.licences():
            lt = ctx.catalogue.licence_types[draft.type_key]
            dept = ctx.catalogue.departments[draft.department_id]
            if licence_repo.by_licence_id(session, make_licence_identifier(lt.code, dept.uscc, draft.serial, 1)):
                report.licences_existing += 1
                continue
            credential = signers[draft.department_id].sign(
                draft, status_base_url=ctx.settings.public_base_url + "/api/v1/status")
            prepared = licences.prepare(credential, trust=trust, catalogue=ctx.catalogue,
                                        pushing_department=draft.department_id)
            result = licences.store(session, prepared, ctx.protector)
            if result.created:
                report.licences_created += 1
            else:
                report.licences_existing += 1
    from .counter.provision import DEMO_CLERKS_FILE, ensure_demo_clerks

    say(f"demo clerks (passwords in {ctx.settings.data_dir / DEMO_CLERKS_FILE})")
    with unit_of_work(ctx.sessions) as session:
        report.clerks = ensure_demo_clerks(session, ctx)
