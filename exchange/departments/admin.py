"""Registering departments, certificates and API clients (used by ``licex init`` and operators)."""

from __future__ import annotations

from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from sqlalchemy.orm import Session

from schemas.catalogue import Department as CatalogueDepartment

from ..kit.db import utcnow
from ..kit.errors import Conflict, InvalidInput, NotFound
from ..models import ApiClient, Department, DepartmentCertificate
from . import repository

USES = ("licence", "seal", "client")


def ensure_department(session: Session, dept: CatalogueDepartment) -> Department:
    row = repository.get_department(session, dept.id)
    if row is None:
        row = Department(id=dept.id, name=dept.name, uscc=dept.uscc)
        session.add(row)
        session.flush()
    return row


def register_certificate(session: Session, department_id: str, use: str, cert: x509.Certificate
                         ) -> DepartmentCertificate:
    if use not in USES:
        raise InvalidInput(f"use must be one of {', '.join(USES)}", field="use")
    if repository.get_department(session, department_id) is None:
        raise NotFound("unknown department", code="DEPARTMENT_NOT_FOUND")
    from cryptography.hazmat.primitives.serialization import Encoding

    fingerprint = cert.fingerprint(hashes.SHA256()).hex()
    existing = repository.certificate_by_fingerprint(session, fingerprint)
    if existing is not None:
        if existing.department_id != department_id or existing.use != use:
            raise Conflict("certificate already registered for another department or use")
        return existing
    row = DepartmentCertificate(
        department_id=department_id, use=use, fingerprint=fingerprint,
        pem=cert.public_bytes(Encoding.PEM).decode(), not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )
    session.add(row)
    session.flush()
    return row


def revoke_certificate(session: Session, fingerprint: str, reason: str) -> DepartmentCertificate:
    row = repository.certificate_by_fingerprint(session, fingerprint.lower().replace(":", ""))
    if row is None:
        raise NotFound("no certificate with that fingerprint", code="CERTIFICATE_NOT_FOUND")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        row.revoke_reason = reason[:200]
        session.flush()
    return row


def ensure_client(session: Session, client_id: str, department_id: str, scopes: Iterable[str]) -> ApiClient:
    row = repository.get_client(session, client_id)
    if row is None:
        row = ApiClient(client_id=client_id, department_id=department_id, scopes=sorted(set(scopes)))
        session.add(row)
    else:
        row.department_id = department_id
        row.scopes = sorted(set(scopes))
    session.flush()
    return row
