"""Response models of the counter API (the consent views are :mod:`exchange.consents.responses`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..archive.responses import ArchiveItemOut
from ..consents.responses import RequestedLicenceOut, UseOut
from ..kit.responses import Out


class ClerkOut(Out):
    username: str
    name: str
    hall: str
    window: str
    role: str
    department: str | None = None


class ClerkLoginOut(Out):
    token: str
    token_type: str
    expires_in: int
    clerk: ClerkOut


class ScanOut(Out):
    case_id: str
    consent_id: str
    status: str
    matter: str
    matter_name: str
    expires_at: str
    requested: list[RequestedLicenceOut]
    uses: list[UseOut] = Field(default_factory=list)


class SatisfiedByOut(Out):
    """What satisfied a material; which keys are present depends on ``how``: ``licence`` (type, type_name,
    licence_id), ``instant_proof`` (proof_id, type, type_name), ``department_check`` (check, name, department,
    department_name, source, result, detail, signed — a JWS by the department's seal key), ``archive``
    (archive_id, title, accepted_by, media_type, sha256), ``commitment`` (statement, consent_id,
    confirmed_at)."""

    type: str | None = None
    type_name: str | None = None
    licence_id: str | None = None
    proof_id: str | None = None
    check: str | None = None
    name: str | None = None
    department: str | None = None
    department_name: str | None = None
    source: str | None = None
    result: bool | None = None
    detail: str | None = None
    signed: str | None = None
    archive_id: str | None = None
    title: str | None = None
    accepted_by: str | None = None
    statement: str | None = None
    consent_id: str | None = None
    confirmed_at: str | None = None


class ChecklistItemOut(Out):
    material: str
    name: str
    name_en: str | None = None
    required: bool
    satisfied: bool
    how: str | None = Field(default=None, description="licence | instant_proof | department_check | archive | "
                            "commitment; None while unsatisfied")
    modes: list[str] = Field(default_factory=list)
    archive: str | None = Field(default=None, description="archive material type an upload for it is filed as")
    by: SatisfiedByOut | None = None
    electronic: bool


class CaseOut(Out):
    case_id: str
    matter: str
    matter_name: str
    case_status: str | None = None
    consent_id: str | None = None
    consent_status: str | None = None
    consent_expires_at: str | None = None
    requested: list[RequestedLicenceOut]
    checklist: list[ChecklistItemOut]
    remaining: list[str]


class VerificationOut(Out):
    valid: bool
    codes: list[str]
    verdict: str


class PulledLicenceOut(Out):
    licence_id: str
    type: str
    type_name: str
    issuer: Any = None
    presentation: str
    verification: VerificationOut
    fields: dict[str, Any]


class PullOut(Out):
    case_id: str
    matter: str
    licences: list[PulledLicenceOut]
    checklist: list[ChecklistItemOut]
    remaining: list[str]


class CompletedCaseOut(Out):
    case_id: str
    status: str
    filed: list[ArchiveItemOut]
