"""``licex init``: create the database, the PKI and (with ``--demo``) the demo city.

Production (no ``--demo``): the exchange **imports** the city root certificate (``--root-cert``, from
``licex ca export-root``) and creates only its own keys — the trust/status-list signing key and the departments'
seal keys it is entrusted with — each with a CSR for the offline CA (``pki/exchange.csr``,
``pki/seals/<id>.csr``). It never creates, reads or stores the root's or a department's licence-signing private
key: departments make theirs with ``licex department init`` and the exchange enrols their certificates
(``licex exchange enrol``). See docs/keys.md.

Demo (``--demo``): a composition root that plays the city CA and the departments (via ``issuers``) as well as the
exchange on one machine, each party in its own directory side by side: ``<root>/ca`` (the root key),
``<root>/departments/<id>`` (licence and client keys) and ``<root>/exchange`` — the exchange's whole state (its
database, ``pki/`` with root.crt, its signing key and the seal keys), so ``licex serve --data-dir <root>/exchange``
is the exchange alone. A demo's exchange directory is the one named ``exchange``; its parties live beside it
(:func:`demo_parties_dir`). Demo departments reserve status entries and push their licences through the
exchange's HTTP API (in process), authenticated by their RFC 7523 client assertions, as real departments do.
The exchange's services never import ``issuers`` and never read ``ca/`` or ``departments/``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from issuers import pki
from issuers.department import DepartmentSigner

from .config import Settings
from .context import AppContext
from .departments import admin
from .keyring import EXCHANGE_KEY_LABEL, seal_key_label
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
    csrs: list[Path] = field(default_factory=list)


def _save_cert(path: Path, cert: x509.Certificate) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(pki.cert_to_pem(cert))


DEMO_EXCHANGE_DIR = "exchange"


def demo_parties_dir(data_dir: Path) -> Path:
    """Where a demo keeps the parties other than the exchange (``ca/``, ``departments/``): beside the exchange's
    directory when that is named ``exchange`` (the demo layout: ``<root>/exchange``), else inside ``data_dir``
    itself (benchmarks that play every party in one directory, and data dirs from before the layout)."""
    if data_dir.name == DEMO_EXCHANGE_DIR and not (data_dir / "ca").exists():
        return data_dir.parent
    return data_dir


def exchange_dir_of(data_dir: Path) -> Path:
    """The exchange's own directory: ``data_dir`` itself, or ``data_dir/exchange`` when ``data_dir`` is a demo's
    root (an initialised exchange directory inside, none at the top)."""
    inner = data_dir / DEMO_EXCHANGE_DIR
    if not (data_dir / "pki" / "root.crt").exists() and (inner / "pki" / "root.crt").exists():
        return inner
    return data_dir


def demo_exchange_dir(data_dir: Path) -> Path:
    """Where a demo rooted at ``data_dir`` (or whose exchange part ``data_dir`` is) keeps the exchange's state.
    Raises :class:`ProvisionError` for a data dir made before the layout (the exchange's state at the top)."""
    if data_dir.name == DEMO_EXCHANGE_DIR:
        return data_dir
    if (data_dir / "pki" / "root.crt").exists():
        raise ProvisionError(f"{data_dir} holds a demo made by an earlier licex (the exchange's state at the top of "
                             f"the data dir; now the CA, the departments and the exchange each have their own "
                             f"directory under it): remove it, or pass a new --data-dir")
    return data_dir / DEMO_EXCHANGE_DIR


def demo_ca_dir(data_dir: Path) -> Path:
    """Where the demo keeps the city CA's root key: ``<root>/ca`` (``pki/`` in data dirs made before the parties
    were kept apart). ``data_dir`` is the exchange's directory or the demo root."""
    parties = demo_parties_dir(data_dir)
    return parties / "pki" if (parties / "pki" / "root.key").exists() else parties / "ca"


def demo_department_dir(data_dir: Path, department_id: str) -> Path:
    """A demo department's own key directory: ``<root>/departments/<id>`` (legacy: ``issuers/<id>``)."""
    parties = demo_parties_dir(data_dir)
    legacy = parties / "issuers" / department_id
    return legacy if legacy.exists() else parties / "departments" / department_id


def _root(data_dir: Path, passphrase: bytes, report: ProvisionReport
          ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The demo's city CA in ``<data-dir>/ca``; the exchange's ``pki/`` gets only the public root.crt."""
    ca_dir = demo_ca_dir(data_dir)
    crt, key = ca_dir / "root.crt", ca_dir / "root.key"
    if crt.exists() and key.exists():
        root_key, root_cert = pki.load_private_key(key, passphrase), pki.cert_from_pem(crt.read_bytes())
    else:
        ca_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        root_key, root_cert = pki.create_root_ca(common_name=ROOT_CN)
        pki.save_private_key(root_key, key, passphrase)
        _save_cert(crt, root_cert)
        report.created_root = True
    _save_cert(data_dir / "pki" / "root.crt", root_cert)  # the exchange imports the public root only
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


EXCHANGE_USCC_BASE = "11430100000000000"  # 17 characters; the check character is computed


class ProvisionError(ValueError):
    """Production initialisation cannot proceed (e.g. no root certificate to import)."""


def _own_key(path: Path, passphrase: bytes, *, org: str, department_id: str, uscc: str, cn: str,
             token: Any = None, label: str = "") -> Path | None:
    """Create a key the exchange holds (a file, or in the PKCS#11 ``token`` under ``label``) and its CSR; None
    when the key and its certificate already exist."""
    from issuers.ca import make_csr

    crt, csr = path.with_suffix(".crt"), path.with_suffix(".csr")
    path.parent.mkdir(parents=True, exist_ok=True)
    if token is not None:
        from schemas.hsm import HsmError

        try:
            key = token.key(label)
        except HsmError:
            key = token.generate(label)
        else:
            if crt.exists():
                return None
        csr.write_bytes(make_csr(key, org=org, department_id=department_id, uscc=uscc, common_name=cn))
        return csr
    if path.exists() and crt.exists():
        return None
    if path.exists():
        key = pki.load_private_key(path, passphrase)
    else:
        key = pki.generate_key()
        pki.save_private_key(key, path, passphrase)
    csr.write_bytes(make_csr(key, org=org, department_id=department_id, uscc=uscc, common_name=cn))
    return csr


def provision_production(settings: Settings, root_cert: Path, *, progress: Progress | None = None
                         ) -> ProvisionReport:
    """Import the root certificate, register the departments, make the exchange's own keys and CSRs."""
    from schemas.identifiers import uscc_check_char

    say = progress or (lambda _msg: None)
    report = ProvisionReport()
    try:
        root = pki.cert_from_pem(root_cert.read_bytes())
    except (OSError, ValueError) as exc:
        raise ProvisionError(f"cannot read the root certificate {root_cert}: {exc}") from exc
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    pki_dir = settings.data_dir / "pki"
    pki_dir.mkdir(parents=True, exist_ok=True)
    if (pki_dir / "root.key").exists():
        raise ProvisionError(f"{pki_dir / 'root.key'} exists: a production exchange must not hold the root key")
    current = pki_dir / "root.crt"
    if current.exists() and pki.cert_from_pem(current.read_bytes()) != root:
        raise ProvisionError("the data directory already trusts another root certificate")
    _save_cert(current, root)
    say("migrating database")
    migrate.upgrade(settings.sqlalchemy_url)
    passphrase = settings.key_passphrase_bytes()
    uscc = EXCHANGE_USCC_BASE + uscc_check_char(EXCHANGE_USCC_BASE)
    ctx = AppContext.build(settings)
    token = None
    if ctx.keyring.hsm is not None:
        from schemas.hsm import Token

        say(f"keys in the PKCS#11 token {ctx.keyring.hsm.token_label!r}")
        token = Token(ctx.keyring.hsm)
    made = _own_key(pki_dir / "exchange.key", passphrase, org=settings.city_name + "数据资源局",
                    department_id="exchange", uscc=uscc, cn="电子证照交换平台 trust list", token=token,
                    label=EXCHANGE_KEY_LABEL)
    report.csrs.extend([made] if made else [])
    from .tlog.keys import ensure_log_key

    ensure_log_key(settings)  # the usage transparency log's note key: the exchange's own (a file, Ed25519)
    try:
        with unit_of_work(ctx.sessions) as session:
            for dept in ctx.catalogue.departments.values():
                say(f"department {dept.id} {dept.name} (seal key held by the exchange)")
                admin.ensure_department(session, dept)
                made = _own_key(pki_dir / "seals" / f"{dept.id}.key", passphrase, org=dept.name,
                                department_id=dept.id, uscc=dept.uscc, cn=f"{dept.name}电子印章", token=token,
                                label=seal_key_label(dept.id))
                report.csrs.extend([made] if made else [])
                report.departments.append(dept.id)
    finally:
        ctx.close()
    return report


def provision(settings: Settings, *, demo: bool = False, citizens: int = 24, seed: int = 2024,
              progress: Progress | None = None, root_cert: Path | None = None,
              all_parties_locally: bool = False) -> ProvisionReport:
    """``demo`` (or ``all_parties_locally``, for benchmarks): one machine plays CA, departments and exchange.
    Otherwise the production path (:func:`provision_production`), which needs ``root_cert``."""
    if not (demo or all_parties_locally):
        if root_cert is None:
            raise ProvisionError("production init imports the city root certificate: pass --root-cert "
                                 "(made offline with `licex ca init` / `licex ca export-root`); --demo runs all "
                                 "parties on this machine")
        return provision_production(settings, root_cert, progress=progress)
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
        root = _root(settings.data_dir, passphrase, report)
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
                dept_dir = demo_department_dir(settings.data_dir, dept.id)
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

    records = SystemOfRecord.generate(seed=seed, citizens=citizens)
    (ctx.settings.data_dir / DEMO_FILE).write_text(json.dumps({"seed": seed, "citizens": citizens}))
    drafts = []
    with ctx.sessions() as session:
        for draft in records.licences():
            lt = ctx.catalogue.licence_types[draft.type_key]
            dept = ctx.catalogue.departments[draft.department_id]
            if licence_repo.by_licence_id(session, make_licence_identifier(lt.code, dept.uscc, draft.serial, 1)):
                report.licences_existing += 1
            else:
                drafts.append(draft)
    if drafts:
        say(f"demo departments sign {len(drafts)} licences and push them to the exchange's API")
        created, existing = _push_as_departments(ctx, signers, drafts)
        report.licences_created += created
        report.licences_existing += existing
    from .counter.provision import DEMO_CLERKS_FILE, ensure_demo_clerks

    say(f"demo clerks (passwords in {ctx.settings.data_dir / DEMO_CLERKS_FILE})")
    with unit_of_work(ctx.sessions) as session:
        report.clerks = ensure_demo_clerks(session, ctx)


def _push_as_departments(ctx: AppContext, signers: dict[str, DepartmentSigner], drafts: list[Any]
                         ) -> tuple[int, int]:
    """Each demo department does what a real one does (``licex department push``): a token by RFC 7523 client
    assertion, status entries reserved over ``POST /api/v1/status-lists/allocations``, licences signed with its
    own key in its own directory and pushed to ``POST /api/v1/licences`` — over the exchange's real HTTP app,
    in process (the server is not listening yet). Returns (created, already present)."""
    import logging
    import warnings

    from issuers.client import TOKEN_PATH, ExchangeClient

    from .app import create_app

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*starlette.testclient")  # a note about its httpx transport
        from fastapi.testclient import TestClient

    by_department: dict[str, list[Any]] = {}
    for draft in drafts:
        by_department.setdefault(draft.department_id, []).append(draft)
    audience = ctx.settings.public_base_url.rstrip("/") + TOKEN_PATH
    created = existing = 0
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "licex.access")}
    for name in quiet:  # one line per request would bury the demo's own output
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        with TestClient(create_app(ctx.settings), base_url="http://127.0.0.1") as http:
            for dept_id, batch in sorted(by_department.items()):
                with ExchangeClient("http://127.0.0.1", signers[dept_id], client_id=dept_id, http=http,
                                    audience=audience) as client:
                    refs: list[tuple[int, str]] = []
                    while len(refs) < len(batch):
                        refs.extend(client.allocate_status(min(1000, len(batch) - len(refs))))
                    for draft, ref in zip(batch, refs, strict=True):
                        answer = client.push(signers[dept_id].sign(draft, status_list=ref))
                        created += bool(answer.get("created"))
                        existing += not answer.get("created")
    finally:
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)
    return created, existing
