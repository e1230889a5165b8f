"""Licence intake and status.

Intake checks everything before anything is stored: the SD-JWT parses, its signature verifies against the
trust list (department certificate chained to the city root), the pushing department is the issuer and may
issue this type, the GB/T 36904 identifier is well-formed and names this type and issuer, the holder's ID number
or USCC passes its check digit, and every face field conforms to the catalogue's schema. The same licence pushed
twice is one licence (same identifier and same bytes → the stored one is returned). The checks themselves
live in :mod:`exchange.licences.intake` (no database imports) and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..context import AppContext
from ..kit.crypto import DataProtector
from ..kit.db import utcnow
from ..kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from ..models import Licence
from ..status import service as status_lists
from . import repository
from .intake import MAX_CREDENTIAL_CHARS as MAX_CREDENTIAL_CHARS
from .intake import NON_FACE_CLAIMS as NON_FACE_CLAIMS
from .intake import PreparedLicence as PreparedLicence
from .intake import prepare as prepare
from .models import LicenceSigner

STATUSES = ("valid", "suspended", "revoked")


@dataclass(frozen=True)
class IntakeResult:
    licence_id: str
    type_key: str
    created: bool
    status: str


def new_row(prepared: PreparedLicence, protector: DataProtector) -> Licence:
    return Licence(
        licence_id=prepared.licence_id, type_code=prepared.licence_type.code, type_key=prepared.licence_type.key,
        department_id=prepared.department_id, holder_hash=protector.holder_hash(prepared.holder_code),
        holder_code_type=prepared.holder_code_type, content_digest=prepared.digest,
        payload_enc=protector.encrypt(prepared.credential.encode(), prepared.licence_id),
        issued_on=prepared.issued_on, valid_from=prepared.valid_from, valid_until=prepared.valid_until,
        status="valid",
    )


def record_signer(session: Session, prepared: PreparedLicence) -> None:
    """Remember which certificate signed the licence (``signed-by``)."""
    if prepared.signer_fingerprint:
        session.add(LicenceSigner(licence_id=prepared.licence_id, department_id=prepared.department_id,
                                  cert_fingerprint=prepared.signer_fingerprint))


def signed_by(session: Session, fingerprint: str, *, department_id: str | None = None) -> list[str]:
    """The identifiers of every registered licence signed by the certificate with this SHA-256 fingerprint
    (only the department's own when ``department_id`` is given)."""
    fingerprint = fingerprint.replace(":", "").strip().lower()
    if len(fingerprint) != 64 or any(c not in "0123456789abcdef" for c in fingerprint):
        raise InvalidInput("a certificate fingerprint is 64 hex digits (SHA-256 of the DER)", field="fingerprint")
    query = select(LicenceSigner.licence_id).where(LicenceSigner.cert_fingerprint == fingerprint)
    if department_id is not None:
        query = query.where(LicenceSigner.department_id == department_id)
    return sorted(session.scalars(query))


def bind_status(ctx: AppContext | None, session: Session, prepared: PreparedLicence) -> None:
    """Bind the licence's status list entry to it (only an entry allocated to its department, used once)."""
    if prepared.status_list is None:
        return
    if ctx is None:
        raise InvalidInput("a licence with a status list entry needs the exchange context to register",
                           code="STATUS_REFERENCE_INVALID", field="status")
    status_lists.bind(ctx, session, prepared.status_list, owner=prepared.department_id, kind="licence",
                      subject=prepared.licence_id)


def store(session: Session, prepared: PreparedLicence, protector: DataProtector, *,
          ctx: AppContext | None = None) -> IntakeResult:
    """Store a prepared licence (``ctx`` binds its status list entry; required when it has one)."""
    existing = repository.by_licence_id(session, prepared.licence_id)
    if existing is None:
        row = new_row(prepared, protector)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
                bind_status(ctx, session, prepared)
                record_signer(session, prepared)
        except IntegrityError:
            existing = repository.by_licence_id(session, prepared.licence_id)
            if existing is None:
                raise
        else:
            return IntakeResult(prepared.licence_id, prepared.licence_type.key, True, effective_status(row))
    if existing.content_digest != prepared.digest:
        raise Conflict("a different licence with this identifier is already stored; issue a new version",
                       code="LICENCE_ID_CONFLICT")
    return IntakeResult(prepared.licence_id, prepared.licence_type.key, False, effective_status(existing))


def effective_status(row: Licence, today: date | None = None) -> str:
    if row.status != "valid":
        return row.status
    today = today or datetime.now(UTC).date()
    if row.valid_until is not None and row.valid_until < today:
        return "expired"
    if row.valid_from > today:
        return "not_yet_valid"
    return "valid"


def status_view(row: Licence) -> dict[str, Any]:
    return {
        "licence_id": row.licence_id, "status": effective_status(row), "reason": row.status_reason,
        "changed_at": row.status_changed_at.isoformat() if row.status_changed_at else None,
        "valid_until": row.valid_until.isoformat() if row.valid_until else None,
        "checked_at": utcnow().isoformat(),
    }


def get(session: Session, licence_id: str) -> Licence:
    row = repository.by_licence_id(session, licence_id)
    if row is None:
        raise NotFound("no such licence", code="LICENCE_NOT_FOUND")
    return row


_TRANSITIONS = {"revoke": ("valid", "suspended"), "suspend": ("valid",), "reinstate": ("suspended",)}
_TARGET = {"revoke": "revoked", "suspend": "suspended", "reinstate": "valid"}


def change_status(session: Session, licence_id: str, action: str, reason: str, *, department_id: str | None,
                  actor: str) -> Licence:
    if action not in _TRANSITIONS:
        raise InvalidInput("action must be revoke, suspend or reinstate", field="action")
    reason = reason.strip()
    if not reason or len(reason) > 200:
        raise InvalidInput("a reason (1–200 characters) is required", field="reason")
    row = get(session, licence_id)
    if department_id is not None and row.department_id != department_id:
        raise Forbidden("only the issuing department may change a licence's status", code="NOT_ISSUER")
    if row.status not in _TRANSITIONS[action]:
        raise Conflict(f"cannot {action} a licence that is {row.status}", code="BAD_TRANSITION")
    row.status = _TARGET[action]
    row.status_reason = reason
    row.status_changed_at = utcnow()
    repository.add_status_event(session, row, row.status, reason, actor)
    status_lists.set_status(session, kind="licence", subject=row.licence_id, action=action)  # the list, at once
    session.flush()
    return row


def credential_of(row: Licence, protector: DataProtector) -> str:
    return protector.decrypt(row.payload_enc, row.licence_id).decode()


def for_holder(session: Session, holder_hash: str, *, type_codes: Collection[str] | None = None) -> list[Licence]:
    """A holder's licences (optionally of some type codes), by type, newest first."""
    return repository.for_holder(session, holder_hash, type_codes=type_codes)
