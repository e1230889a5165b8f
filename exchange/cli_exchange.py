"""``licex exchange``: the exchange operator installs the CA's answers and enrols department certificates.

* ``install-cert --cert F …``: a certificate for one of the exchange's own keys (its trust/status-list signer,
  or a department seal key it holds) — placed beside the key whose public key it certifies; seal certificates
  are registered so the trust list publishes them.
* ``enrol --cert F …``: a department's licence-signing or API-client certificate (public only: the department
  keeps its key). It must be issued by the imported root, carry the profile's EKU and name a known department.
* ``import-crl --crl F``: the root's CRL; every listed certificate the exchange knows is marked revoked (the
  trust list then says so, and every licence signed by such a key reads REVOKED).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from rich.console import Console

exchange_app = typer.Typer(help="the exchange operator: install the CA's certificates, enrol departments",
                           no_args_is_help=True)
console = Console(stderr=True)
DataDir = Annotated[Path, typer.Option("--data-dir", "-d", envvar="LICEX_DATA_DIR", help="data directory")]
Certs = Annotated[list[Path], typer.Option("--cert", exists=True, dir_okay=False, help="PEM certificate")]
CLIENT_SCOPES = ("issue:licences", "manage:licences", "verify:proofs", "review:proofs")
_REASONS = {x509.ReasonFlags.key_compromise: "keyCompromise", x509.ReasonFlags.superseded: "superseded",
            x509.ReasonFlags.cessation_of_operation: "cessationOfOperation"}


def _ctx(data_dir: Path) -> Any:
    from .config import DEMO_SECRETS_FILE, Settings
    from .context import AppContext

    demo = (data_dir / DEMO_SECRETS_FILE).exists() and not os.environ.get("LICEX_MASTER_KEY")
    try:
        settings = Settings(data_dir=data_dir, demo=demo)
    except ValueError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if not (data_dir / "pki" / "root.crt").exists():
        console.print(f"[red]{data_dir} is not initialised[/red]: run `licex init --root-cert ...` first")
        raise typer.Exit(2)
    return AppContext.build(settings)


def _load(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError as exc:
        console.print(f"[red]not a PEM certificate:[/red] {path}")
        raise typer.Exit(2) from exc


def _spki(public: Any) -> bytes:
    data: bytes = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return data


def _issued_by_root(cert: x509.Certificate, root: x509.Certificate) -> None:
    try:
        cert.verify_directly_issued_by(root)
    except Exception as exc:
        console.print(f"[red]refused:[/red] {cert.subject.rfc4514_string()} was not issued by the city root")
        raise typer.Exit(1) from exc


def _eku(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    try:
        return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return set()


@exchange_app.command("install-cert")
def install_cert(cert: Certs, data_dir: DataDir = Path("./var/licex")) -> None:
    """Install the CA's certificates for the exchange's own keys (trust/status-list signer, seal keys)."""
    from issuers import pki

    from .departments.admin import register_certificate
    from .kit.db import unit_of_work

    ctx = _ctx(data_dir)
    pki_dir = data_dir / "pki"
    root = pki.cert_from_pem((pki_dir / "root.crt").read_bytes())
    passphrase = ctx.settings.key_passphrase_bytes()
    # (where the key will be, its public key): files, or the PKCS#11 token's labelled keys
    keys: list[tuple[Path, bytes]] = []
    if ctx.keyring.hsm is not None:
        from .keyring import EXCHANGE_KEY_LABEL, seal_key_label

        slots = [(pki_dir / "exchange.key", EXCHANGE_KEY_LABEL)] + [
            (pki_dir / "seals" / f"{d}.key", seal_key_label(d)) for d in ctx.catalogue.departments]
        for where, label in slots:
            from schemas.hsm import HsmError

            try:
                keys.append((where, _spki(ctx.keyring.token_key(label).public_key())))
            except HsmError as exc:  # not made in the token (yet)
                console.print(f"· {label}: {exc.code}")
    else:
        for where in [pki_dir / "exchange.key", *sorted((pki_dir / "seals").glob("*.key"))]:
            keys.append((where, _spki(pki.load_private_key(where, passphrase).public_key())))
    installed = []
    try:
        for path in cert:
            certificate = _load(path)
            _issued_by_root(certificate, root)
            target = next((k for k, public in keys if public == _spki(certificate.public_key())), None)
            if target is None:
                console.print(f"[red]refused:[/red] {path} certifies none of the exchange's keys")
                raise typer.Exit(1)
            if target.name == "exchange.key" and pki.EKU_TRUST_LIST_SIGNING not in _eku(certificate):
                console.print(f"[red]refused:[/red] {path} lacks the trust-list-signing EKU (profile exchange)")
                raise typer.Exit(1)
            target.with_suffix(".crt").write_text(pki.cert_to_pem(certificate))
            if target.parent.name == "seals":
                with unit_of_work(ctx.sessions) as session:
                    register_certificate(session, target.stem, "seal", certificate)
            installed.append(str(target.with_suffix(".crt")))
    finally:
        ctx.close()
    print(json.dumps({"installed": installed}))


@exchange_app.command("enrol")
def enrol(cert: Certs, data_dir: DataDir = Path("./var/licex")) -> None:
    """Register department certificates (licence signing or API client) issued by the city root."""
    from issuers import pki

    from .departments.admin import ensure_client, register_certificate
    from .kit.db import unit_of_work

    ctx = _ctx(data_dir)
    root = pki.cert_from_pem((data_dir / "pki" / "root.crt").read_bytes())
    enrolled = []
    try:
        for path in cert:
            certificate = _load(path)
            _issued_by_root(certificate, root)
            dept_id = pki.certificate_department_id(certificate) or ""
            dept = ctx.catalogue.departments.get(dept_id)
            if dept is None or pki.certificate_uscc(certificate) != dept.uscc:
                console.print(f"[red]refused:[/red] {path} names no known department (OU and USCC must match)")
                raise typer.Exit(1)
            ekus = _eku(certificate)
            if pki.EKU_LICENCE_SIGNING in ekus:
                use = "licence"
            elif x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in ekus:
                use = "client"
            else:
                console.print(f"[red]refused:[/red] {path} is neither a licence-signing nor a client certificate")
                raise typer.Exit(1)
            with unit_of_work(ctx.sessions) as session:
                register_certificate(session, dept.id, use, certificate)
                if use == "client":
                    ensure_client(session, dept.id, dept.id, CLIENT_SCOPES)
            enrolled.append({"department": dept.id, "use": use, "fingerprint": pki.cert_fingerprint(certificate)})
    finally:
        ctx.close()
    print(json.dumps({"enrolled": enrolled}))


@exchange_app.command("import-crl")
def import_crl(crl: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="the root's CRL (PEM)")],
               data_dir: DataDir = Path("./var/licex")) -> None:
    """Mark every certificate on the root's CRL as revoked."""
    from sqlalchemy import select

    from issuers import pki

    from .departments.admin import revoke_certificate
    from .kit.db import unit_of_work
    from .models import DepartmentCertificate

    ctx = _ctx(data_dir)
    root = pki.cert_from_pem((data_dir / "pki" / "root.crt").read_bytes())
    try:
        revocations = x509.load_pem_x509_crl(crl.read_bytes())
    except ValueError as exc:
        console.print(f"[red]not a PEM CRL:[/red] {crl}")
        raise typer.Exit(2) from exc
    if not revocations.is_signature_valid(root.public_key()):  # type: ignore[arg-type]
        console.print("[red]refused:[/red] the CRL is not signed by the city root")
        raise typer.Exit(1)
    revoked = []
    try:
        with unit_of_work(ctx.sessions) as session:
            for row in session.scalars(select(DepartmentCertificate)):
                known = x509.load_pem_x509_certificate(row.pem.encode())
                entry = revocations.get_revoked_certificate_by_serial_number(known.serial_number)
                if entry is None or row.revoked_at is not None:
                    continue
                try:
                    flag = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
                except x509.ExtensionNotFound:
                    flag = x509.ReasonFlags.unspecified
                revoke_certificate(session, row.fingerprint, _REASONS.get(flag, "unspecified"))
                revoked.append(row.fingerprint)
    finally:
        ctx.close()
    print(json.dumps({"revoked": revoked}))
