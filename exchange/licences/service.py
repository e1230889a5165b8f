"""Licence intake and status.

Intake checks everything before anything is stored: the SD-JWT parses, its signature verifies against the
trust list (department certificate chained to the city root), the pushing department is the issuer and may
issue this type, the GB/T 36904 identifier is well-formed and names this type and issuer, the holder's ID number
or USCC passes its check digit, and every face field conforms to the catalogue's schema. The same licence pushed
twice is one licence (same identifier and same bytes → the stored one is returned).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schemas.catalogue import Catalogue, LicenceType
from schemas.identifiers import IdentifierError, parse_citizen_id, parse_licence_identifier, validate_uscc
from verifier.errors import MalformedInput
from verifier.licence import verify_licence
from verifier.result import Code
from verifier.status_list import StatusReference, status_reference
from verifier.trust import TrustList

from ..context import AppContext
from ..kit.crypto import DataProtector
from ..kit.db import utcnow
from ..kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from ..models import Licence
from ..ops.metrics import licence_verified
from ..status import service as status_lists
from . import repository
from .models import LicenceSigner

MAX_CREDENTIAL_CHARS = 400_000
STATUSES = ("valid", "suspended", "revoked")
# disclosures that carry metadata rather than a face field (licence_no is one when it equals the ID number)
NON_FACE_CLAIMS = frozenset({"holder_name", "holder_code", "licence_no"})


@dataclass(frozen=True)
class PreparedLicence:
    licence_id: str
    licence_type: LicenceType
    department_id: str
    holder_code: str
    holder_code_type: str
    credential: str
    digest: str
    issued_on: date
    valid_from: date
    valid_until: date | None
    status_list: StatusReference | None = None  # the licence's IETF Token Status List entry
    signer_fingerprint: str = ""  # SHA-256 of the certificate that signed it (signed-by)


@dataclass(frozen=True)
class IntakeResult:
    licence_id: str
    type_key: str
    created: bool
    status: str


def _date(value: Any, field: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidInput(f"{field} is not an ISO date", code="BAD_DATE", field=field) from exc


def prepare(credential: str, *, trust: TrustList, catalogue: Catalogue, pushing_department: str | None,
            now: datetime | None = None) -> PreparedLicence:
    """All checks, no storage. Raises an ExchangeError naming the offending field."""
    credential = credential.strip()
    if not credential or len(credential) > MAX_CREDENTIAL_CHARS or not credential.isascii():
        raise InvalidInput("credential must be a compact SD-JWT", code="MALFORMED_LICENCE", field="credential")
    # Intake checks authenticity; the status of a licence not yet registered is not asked (require_status=False)
    result = verify_licence(credential, trust, now=now or datetime.now(UTC), check_schema=False,
                            catalogue=catalogue, require_status=False)
    licence_verified("intake", result.codes)
    codes = set(result.codes)
    if Code.MALFORMED in codes:
        raise InvalidInput(result.verdict, code="MALFORMED_LICENCE", field="credential")
    if codes & {Code.BAD_SIGNATURE, Code.DISCLOSURE_TAMPERED}:
        raise InvalidInput(result.verdict, code="BAD_SIGNATURE", field="credential")
    if codes & {Code.UNKNOWN_ISSUER, Code.CHAIN_INVALID, Code.REVOKED}:
        raise Forbidden(result.verdict, code="UNTRUSTED_ISSUER")
    if Code.ISSUER_NOT_AUTHORISED in codes:
        raise Forbidden(result.verdict, code="ISSUER_NOT_AUTHORISED")
    meta: Mapping[str, Any] = result.metadata
    disclosed: Mapping[str, Any] = result.disclosed
    department_id = str(meta.get("iss", ""))
    if pushing_department is not None and department_id != pushing_department:
        raise Forbidden("a department may push only licences it issued", code="DEPARTMENT_MISMATCH")
    licence_type = catalogue.licence_type_by_code(str(meta.get("licence_type", "")))
    if licence_type is None:
        raise InvalidInput("unknown licence type", code="UNKNOWN_LICENCE_TYPE", field="licence_type")
    if department_id not in licence_type.issuing_departments:
        raise Forbidden(f"{department_id} may not issue {licence_type.key}", code="ISSUER_NOT_AUTHORISED")
    department = catalogue.departments.get(department_id)
    if department is None:
        raise Forbidden("issuer is not a known department", code="UNTRUSTED_ISSUER")

    licence_id = str(meta.get("licence_id", ""))
    try:
        ident = parse_licence_identifier(licence_id)
    except IdentifierError as exc:
        raise InvalidInput(str(exc), code=exc.code, field="licence_id") from exc
    if ident.type_code != licence_type.code:
        raise InvalidInput("identifier names another licence type", code="BAD_STRUCTURE", field="licence_id")
    if ident.issuer_uscc != department.uscc:
        raise InvalidInput("identifier names another issuer", code="BAD_STRUCTURE", field="licence_id")

    holder_code = str(disclosed.get("holder_code", ""))
    code_type = str(meta.get("holder_code_type", ""))
    if code_type != licence_type.holder_code_type:
        raise InvalidInput("holder code type does not match the licence type", code="BAD_CODE_TYPE",
                           field="holder_code_type")
    try:
        if code_type == "111":
            holder_code = parse_citizen_id(holder_code, field="holder_code").number
        else:
            holder_code = validate_uscc(holder_code, field="holder_code")
    except IdentifierError as exc:
        raise InvalidInput(str(exc), code=exc.code, field="holder_code") from exc

    fields = {k: v for k, v in disclosed.items() if k not in NON_FACE_CLAIMS}
    problems = licence_type.validate_fields(fields)
    if problems:
        first = problems[0]
        raise InvalidInput([{"field": p.field, "code": p.code, "message": p.message} for p in problems],
                           code=first.code, field=first.field)
    if str(fields.get(licence_type.holder_code_field, "")).upper() != holder_code:
        raise InvalidInput("holder_code differs from the licence's own field", code="HOLDER_MISMATCH",
                           field=licence_type.holder_code_field)
    valid_until = meta.get("valid_until")
    try:
        status_list = status_reference(meta.get("status"))
    except MalformedInput as exc:
        raise InvalidInput(exc.detail, code="MALFORMED_LICENCE", field="status") from exc
    return PreparedLicence(
        licence_id=licence_id, licence_type=licence_type, department_id=department_id, holder_code=holder_code,
        holder_code_type=code_type, credential=credential,
        digest=hashlib.sha256(credential.encode()).hexdigest(),
        issued_on=_date(meta.get("issued_on"), "issued_on"), valid_from=_date(meta.get("valid_from"), "valid_from"),
        valid_until=None if valid_until is None else _date(valid_until, "valid_until"),
        status_list=status_list,
        signer_fingerprint=str(result.details.get("certificate_fingerprint", "")),
    )


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
