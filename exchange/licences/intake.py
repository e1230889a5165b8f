"""Licence intake checks, without storage: everything :func:`prepare` decides before a licence may be stored.

Kept apart from :mod:`exchange.licences.service` (which stores) so that the bulk importer's verification
processes import only the verifier, the catalogue and these checks — not the database layer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from schemas.catalogue import Catalogue, LicenceType
from schemas.identifiers import IdentifierError, parse_citizen_id, parse_licence_identifier, validate_uscc
from verifier.errors import MalformedInput
from verifier.licence import verify_licence
from verifier.result import Code
from verifier.status_list import StatusReference, status_reference
from verifier.trust import TrustList

from ..kit.errors import Forbidden, InvalidInput
from ..ops.metrics import licence_verified

__all__ = ["MAX_CREDENTIAL_CHARS", "NON_FACE_CLAIMS", "PreparedLicence", "prepare"]

MAX_CREDENTIAL_CHARS = 400_000
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
    # Intake checks authenticity; the status of a licence not yet registered is not asked (require_status=False).
    # A licence is registered once (a pull verifies its presentations, other texts), so its parse is not kept.
    result = verify_licence(credential, trust, now=now or datetime.now(UTC), check_schema=False,
                            catalogue=catalogue, require_status=False, memoise=False)
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
    try:
        licence_type = catalogue.licence_type_by_code(str(meta.get("licence_type", "")))
    except KeyError:
        raise InvalidInput("unknown licence type", code="UNKNOWN_LICENCE_TYPE", field="licence_type") from None
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
