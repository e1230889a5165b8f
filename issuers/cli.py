"""``licex ca`` (the offline city root) and ``licex department`` (a department's own keys, licences and pushes).

Passphrases come from the environment only: ``LICEX_CA_PASSPHRASE`` for the root key,
``LICEX_DEPARTMENT_PASSPHRASE`` for a department's keys. Neither tool talks to a database; the department
talks to the exchange over HTTP with its RFC 7523 client assertion.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from schemas.hsm import HsmError

ca_app = typer.Typer(help="the city root CA, run offline: init, sign CSRs by profile, revoke, export-root",
                     no_args_is_help=True)
department_app = typer.Typer(help="a department's own keys: init, install-cert, issue/push, rotate, signed-by",
                             no_args_is_help=True)
console = Console(stderr=True)
Dir = Annotated[Path, typer.Option("--dir", file_okay=False, help="the key directory")]


def _secret(name: str) -> bytes:
    value = os.environ.get(name, "")
    if len(value) < 8:
        console.print(f"[red]set {name}[/red] (at least 8 characters): it encrypts the private keys")
        raise typer.Exit(2)
    return value.encode()


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"[red]{getattr(exc, 'code', type(exc).__name__)}[/red]: {getattr(exc, 'detail', exc)}")
    return typer.Exit(1)


# ------------------------------------------------------------------------------------------------ the CA


@ca_app.command("init")
def ca_init(ca_dir: Dir, common_name: Annotated[str, typer.Option()] = "长沙市电子证照根CA",
            org: Annotated[str, typer.Option()] = "长沙市数据资源管理局") -> None:
    """Create the root key (encrypted with LICEX_CA_PASSPHRASE) and the self-signed root certificate."""
    from issuers.ca import CaDir, CaError
    from issuers.pki import cert_fingerprint

    try:
        cert = CaDir(ca_dir).init(_secret("LICEX_CA_PASSPHRASE"), common_name=common_name, org=org)
    except CaError as exc:
        raise _fail(exc) from exc
    print(json.dumps({"root": str(ca_dir / "root.crt"), "fingerprint": cert_fingerprint(cert)}))


@ca_app.command("sign")
def ca_sign(ca_dir: Dir, csr: Annotated[Path, typer.Option(exists=True, dir_okay=False)],
            profile: Annotated[str, typer.Option(help="licence | seal | client | exchange")],
            out: Annotated[Path, typer.Option(dir_okay=False)]) -> None:
    """Certify a request under a profile (key usage, EKU and validity are the profile's, not the requester's)."""
    from issuers.ca import CaDir, CaError
    from issuers.pki import cert_fingerprint, cert_to_pem

    try:
        cert = CaDir(ca_dir).sign(csr.read_bytes(), profile, _secret("LICEX_CA_PASSPHRASE"))
    except CaError as exc:
        raise _fail(exc) from exc
    out.write_text(cert_to_pem(cert))
    print(json.dumps({"certificate": str(out), "profile": profile, "fingerprint": cert_fingerprint(cert),
                      "not_after": cert.not_valid_after_utc.isoformat()}))


@ca_app.command("revoke")
def ca_revoke(ca_dir: Dir, cert: Annotated[Path, typer.Option(exists=True, dir_okay=False)],
              reason: Annotated[str, typer.Option(help="keyCompromise | superseded | cessationOfOperation")],
              ) -> None:
    """Revoke a certificate this CA issued and write the new root.crl (import it: licex exchange import-crl)."""
    from issuers.ca import CaDir, CaError
    from issuers.pki import cert_from_pem

    try:
        CaDir(ca_dir).revoke(cert_from_pem(cert.read_bytes()), reason, _secret("LICEX_CA_PASSPHRASE"))
    except (CaError, ValueError) as exc:
        raise _fail(exc) from exc
    print(json.dumps({"crl": str(ca_dir / "root.crl")}))


@ca_app.command("export-root")
def ca_export_root(ca_dir: Dir, out: Annotated[Path, typer.Option(dir_okay=False)]) -> None:
    """Write the root certificate (public) for the exchange and verifiers."""
    from issuers.ca import CaDir, CaError
    from issuers.pki import cert_to_pem

    try:
        out.write_text(cert_to_pem(CaDir(ca_dir).root_cert))
    except CaError as exc:
        raise _fail(exc) from exc
    console.print(f"root certificate written to {out}")


# ------------------------------------------------------------------------------------------------ a department


@department_app.command("init")
def department_init(dept_dir: Dir, department: Annotated[str, typer.Option(help="department id")],
                    hsm: Annotated[bool, typer.Option(
                        "--hsm", help="generate the licence key in the PKCS#11 token (LICEX_PKCS11_*)")] = False
                    ) -> None:
    """Make the department's licence-signing and API-client keys (here, and only here) and their CSRs."""
    from issuers.department_dir import DepartmentDir, DepartmentDirError

    try:
        csrs = DepartmentDir(dept_dir).init(department, _secret("LICEX_DEPARTMENT_PASSPHRASE"), hsm=hsm)
    except (DepartmentDirError, HsmError) as exc:
        raise _fail(exc) from exc
    print(json.dumps({"csrs": {"licence": str(csrs[0]), "client": str(csrs[1])}}))


@department_app.command("install-cert")
def department_install_cert(dept_dir: Dir,
                            cert: Annotated[list[Path], typer.Option("--cert", exists=True, dir_okay=False)]) -> None:
    """Install the CA's certificates beside the keys they certify."""
    from issuers.department_dir import DepartmentDir, DepartmentDirError
    from issuers.pki import cert_from_pem

    d = DepartmentDir(dept_dir)
    try:
        uses = [d.install_cert(cert_from_pem(p.read_bytes()), _secret("LICEX_DEPARTMENT_PASSPHRASE")) for p in cert]
    except (DepartmentDirError, HsmError, ValueError) as exc:
        raise _fail(exc) from exc
    print(json.dumps({"installed": uses}))


@department_app.command("rotate")
def department_rotate(dept_dir: Dir) -> None:
    """Retire the licence key (destroyed; its certificate kept under retired/) and make a new key + CSR."""
    from issuers.department_dir import DepartmentDir, DepartmentDirError

    try:
        csr = DepartmentDir(dept_dir).rotate(_secret("LICEX_DEPARTMENT_PASSPHRASE"))
    except (DepartmentDirError, HsmError) as exc:
        raise _fail(exc) from exc
    print(json.dumps({"csr": str(csr)}))


@department_app.command("issue")
def department_issue(dept_dir: Dir,
                     type_key: Annotated[str, typer.Option("--type", help="licence type key")],
                     fields_file: Annotated[Path, typer.Option("--fields", exists=True, dir_okay=False)],
                     serial: Annotated[str, typer.Option(help="serial within the issuer, [0-9A-Z]{1,32}")],
                     exchange: Annotated[str, typer.Option(help="the exchange's base URL")],
                     out: Annotated[Path | None, typer.Option(dir_okay=False)] = None) -> None:
    """Sign a licence with this department's own key and push it to the exchange over HTTP (RFC 7523)."""
    from issuers.client import ExchangeClient, PushError
    from issuers.department import SigningError
    from issuers.department_dir import DepartmentDir, DepartmentDirError
    from issuers.drafts import LicenceDraft

    try:
        signer = DepartmentDir(dept_dir).signer(_secret("LICEX_DEPARTMENT_PASSPHRASE"))
        lt = signer.catalogue.licence_types.get(type_key)
        if lt is None:
            raise SigningError("UNKNOWN_TYPE", f"no licence type {type_key!r}")
        fields = json.loads(fields_file.read_text(encoding="utf-8"))
        if not isinstance(fields, dict):
            raise SigningError("INVALID_FIELDS", "--fields must hold a JSON object")
        today = datetime.now(UTC).date()
        draft = LicenceDraft(
            type_key=lt.key, department_id=signer.department.id,
            holder_code=str(fields.get(lt.holder_code_field, "")),
            holder_name=str(fields.get(lt.holder_name_field, "")),
            licence_no=str(fields.get(lt.licence_no_field, "")), serial=serial, fields=fields, issued_on=today,
            valid_from=today, valid_until=lt.validity_until(today, fields))
        with ExchangeClient(exchange, signer, signer.department.id) as client:
            idx, uri = client.allocate_status(1)[0]  # the status list entry, before the signature
            credential = signer.sign(draft, status_list=(idx, uri))
            answer = client.push(credential)
    except (DepartmentDirError, HsmError, SigningError, PushError, ValueError) as exc:
        raise _fail(exc) from exc
    if out:
        out.write_text(credential)
    print(json.dumps(answer, ensure_ascii=False))


@department_app.command("signed-by")
def department_signed_by(dept_dir: Dir, cert: Annotated[Path, typer.Option(exists=True, dir_okay=False)],
                         exchange: Annotated[str, typer.Option(help="the exchange's base URL")]) -> None:
    """List this department's registered licences signed by the key of --cert (to re-issue them)."""
    from issuers.client import ExchangeClient, PushError
    from issuers.department_dir import DepartmentDir, DepartmentDirError
    from issuers.pki import cert_fingerprint, cert_from_pem

    try:
        signer = DepartmentDir(dept_dir).signer(_secret("LICEX_DEPARTMENT_PASSPHRASE"))
        fingerprint = cert_fingerprint(cert_from_pem(cert.read_bytes()))
        with ExchangeClient(exchange, signer, signer.department.id) as client:
            ids = client.signed_by(fingerprint)
    except (DepartmentDirError, HsmError, PushError, ValueError) as exc:
        raise _fail(exc) from exc
    print(json.dumps({"fingerprint": fingerprint, "count": len(ids), "licences": ids}))
