"""The department side of signing: its keys, licence signing, and client assertions for the exchange API.

A department directory holds two key pairs, each an encrypted PKCS#8 key (mode 0600) and a PEM certificate
issued by the city root::

    licence.key  licence.crt   signs licences (SD-JWT VC, x5c = licence.crt)
    client.key   client.crt    signs RFC 7523 client assertions (header kid = SHA-256 of client.crt)

Create once with :meth:`DepartmentSigner.create` (needs the root key), then :meth:`DepartmentSigner.load`.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from issuers.drafts import LicenceDraft
from issuers.pki import (
    CertificateUse,
    cert_fingerprint,
    cert_from_pem,
    cert_to_pem,
    issue_certificate,
    load_private_key,
    save_private_key,
)
from issuers.sdjwt import SaltSource, issue_licence
from schemas.catalogue import Catalogue, Department, load_catalogue
from schemas.identifiers import make_licence_identifier

__all__ = ["CLIENT_ASSERTION_MAX_TTL_S", "DepartmentSigner", "SigningError"]

LICENCE_KEY: Final = "licence.key"
LICENCE_CERT: Final = "licence.crt"
CLIENT_KEY: Final = "client.key"
CLIENT_CERT: Final = "client.crt"
#: Upper bound on a client assertion's lifetime (the exchange rejects long-lived assertions).
CLIENT_ASSERTION_MAX_TTL_S: Final = 300


class SigningError(ValueError):
    """The draft cannot be signed by this department (``code``: WRONG_DEPARTMENT, NOT_AUTHORISED,
    UNKNOWN_TYPE, INVALID_FIELDS, KEY_EXISTS, CERT_MISMATCH, BAD_TTL)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def _pass(passphrase: bytes | str) -> bytes:
    return passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase


def _write_public(path: Path, text: str) -> None:
    path.write_text(text, encoding="ascii")
    os.chmod(path, 0o644)


def _same_key(key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> bool:
    public = cert.public_key()
    return (
        isinstance(public, ec.EllipticCurvePublicKey)
        and public.public_numbers() == key.public_key().public_numbers()
    )


@dataclass(frozen=True, slots=True, repr=False)
class DepartmentSigner:
    """A department's signing identity.  ``repr`` never shows key material."""

    department: Department
    licence_key: ec.EllipticCurvePrivateKey
    licence_cert: x509.Certificate
    client_key: ec.EllipticCurvePrivateKey
    client_cert: x509.Certificate
    catalogue: Catalogue

    def __repr__(self) -> str:
        return f"DepartmentSigner(department={self.department.id!r})"

    # -- keys ------------------------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        dept_dir: Path,
        department: Department,
        root_key: ec.EllipticCurvePrivateKey,
        root_cert: x509.Certificate,
        passphrase: bytes | str,
        *,
        overwrite: bool = False,
        days: int = 825,
        now: datetime | None = None,
        catalogue: Catalogue | None = None,
    ) -> DepartmentSigner:
        """Make the licence-signing and API-client key pairs under ``root`` and save them in ``dept_dir``
        (created with mode 0700).  Refuses (KEY_EXISTS) to replace existing keys unless ``overwrite``."""
        dept_dir = Path(dept_dir)
        dept_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        secret = _pass(passphrase)
        if not overwrite:
            existing = [n for n in (LICENCE_KEY, CLIENT_KEY) if (dept_dir / n).exists()]
            if existing:
                raise SigningError("KEY_EXISTS", f"{', '.join(existing)} already in {dept_dir}")

        def leaf(use: CertificateUse, cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
            return issue_certificate(
                root_key,
                root_cert,
                subject_cn=f"{department.name} {cn}",
                org=department.name,
                department_id=department.id,
                uscc=department.uscc,
                use=use,
                days=days,
                now=now,
            )

        lkey, lcert = leaf("licence", "电子证照签发")
        ckey, ccert = leaf("client", "接口客户端")
        save_private_key(lkey, dept_dir / LICENCE_KEY, secret)
        _write_public(dept_dir / LICENCE_CERT, cert_to_pem(lcert))
        save_private_key(ckey, dept_dir / CLIENT_KEY, secret)
        _write_public(dept_dir / CLIENT_CERT, cert_to_pem(ccert))
        return cls(department, lkey, lcert, ckey, ccert, catalogue or load_catalogue())

    @classmethod
    def load(
        cls,
        dept_dir: Path,
        department: Department,
        passphrase: bytes | str,
        *,
        catalogue: Catalogue | None = None,
    ) -> DepartmentSigner:
        """Read what :meth:`create` wrote.  Raises ``issuers.pki.PkiError`` on a wrong passphrase and
        SigningError(CERT_MISMATCH) when a key does not belong to its certificate."""
        dept_dir = Path(dept_dir)
        secret = _pass(passphrase)
        lkey = load_private_key(dept_dir / LICENCE_KEY, secret)
        ckey = load_private_key(dept_dir / CLIENT_KEY, secret)
        lcert = cert_from_pem((dept_dir / LICENCE_CERT).read_bytes())
        ccert = cert_from_pem((dept_dir / CLIENT_CERT).read_bytes())
        for key, cert, what in ((lkey, lcert, "licence"), (ckey, ccert, "client")):
            if not _same_key(key, cert):
                raise SigningError("CERT_MISMATCH", f"{what}.key does not belong to {what}.crt")
        return cls(department, lkey, lcert, ckey, ccert, catalogue or load_catalogue())

    @property
    def client_kid(self) -> str:
        """The ``kid`` of client assertions: lower-case hex SHA-256 of the client certificate (DER)."""
        return cert_fingerprint(self.client_cert)

    # -- licences --------------------------------------------------------------------------------------
    def licence_id(self, draft: LicenceDraft, *, version: int = 1) -> str:
        """The GB/T 36904 identifier this department gives ``draft``."""
        lt = self.catalogue.licence_types.get(draft.type_key)
        if lt is None:
            raise SigningError("UNKNOWN_TYPE", f"no licence type {draft.type_key!r} in the catalogue")
        return make_licence_identifier(lt.code, self.department.uscc, draft.serial, version=version)

    def sign(
        self,
        draft: LicenceDraft,
        *,
        status_base_url: str | None = None,
        now: datetime | None = None,
        salt_source: SaltSource | None = None,
        validate: bool = True,
    ) -> str:
        """Sign ``draft`` as an SD-JWT VC (compact, ends with ``~``).

        Checks that the draft is this department's and that the catalogue lets it issue the type, and (unless
        ``validate=False``) that the face fields pass the type's schema.  With ``status_base_url`` (e.g.
        ``https://exchange.example/api/v1/status``) the licence carries ``status.uri`` =
        ``<status_base_url>/<licence id>``.  The jurisdiction is the department's division code.
        """
        dept = self.department
        lt = self.catalogue.licence_types.get(draft.type_key)
        if lt is None:
            raise SigningError("UNKNOWN_TYPE", f"no licence type {draft.type_key!r} in the catalogue")
        if draft.department_id != dept.id:
            raise SigningError(
                "WRONG_DEPARTMENT", f"draft belongs to {draft.department_id!r}, not {dept.id!r}"
            )
        if dept.id not in lt.issuing_departments:
            raise SigningError("NOT_AUTHORISED", f"{dept.id!r} may not issue {lt.key!r}")
        if validate:
            problems = lt.validate_fields(draft.fields)
            if problems:
                summary = "; ".join(f"{p.field}: {p.code}" for p in problems[:5])
                raise SigningError("INVALID_FIELDS", summary)
        licence_id = self.licence_id(draft)
        status_uri = f"{status_base_url.rstrip('/')}/{licence_id}" if status_base_url else None
        return issue_licence(
            key=self.licence_key,
            cert=self.licence_cert,
            department_id=dept.id,
            issuer_name=dept.name,
            issuer_uscc=dept.uscc,
            licence_type_code=lt.code,
            licence_name=lt.name,
            licence_id=licence_id,
            licence_no=draft.licence_no,
            fields=draft.fields,
            holder_name=draft.holder_name,
            holder_code=draft.holder_code,
            holder_code_type=lt.holder_code_type,
            issued_on=draft.issued_on,
            valid_from=draft.valid_from,
            valid_until=draft.valid_until,
            jurisdiction=dept.division,
            status_uri=status_uri,
            now=now,
            salt_source=salt_source,
        )

    # -- API client --------------------------------------------------------------------------------------
    def client_assertion(
        self, client_id: str, audience: str, ttl_s: int = 120, *, now: datetime | None = None
    ) -> str:
        """An RFC 7523 client assertion: ES256 JWT, header ``kid`` = :attr:`client_kid`, claims
        ``iss`` = ``sub`` = ``client_id``, ``aud`` = ``audience`` (the token endpoint URL), ``iat``, ``exp``
        (``iat + ttl_s``, at most :data:`CLIENT_ASSERTION_MAX_TTL_S`) and a random single-use ``jti``."""
        if not 1 <= ttl_s <= CLIENT_ASSERTION_MAX_TTL_S:
            raise SigningError("BAD_TTL", f"ttl_s must be 1..{CLIENT_ASSERTION_MAX_TTL_S}")
        if not client_id or not audience:
            raise SigningError("BAD_CLIENT", "client_id and audience are required")
        moment = now or datetime.now(UTC)
        iat = int(moment.timestamp())
        claims = {
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "iat": iat,
            "exp": int((moment + timedelta(seconds=ttl_s)).timestamp()),
            "jti": secrets.token_urlsafe(24),
        }
        return jwt.encode(
            claims, self.client_key, algorithm="ES256", headers={"kid": self.client_kid, "typ": "JWT"}
        )
