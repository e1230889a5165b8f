"""Response models of the counter API (the consent views are :mod:`exchange.consents.responses`)."""

from __future__ import annotations

from typing import Any

from ..consents.responses import RequestedLicenceOut
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


class SatisfiedByOut(Out):
    type: str
    licence_id: str


class ChecklistItemOut(Out):
    material: str
    name: str
    name_en: str | None = None
    required: bool
    satisfied: bool
    by: SatisfiedByOut | None = None
    electronic: bool


class CaseOut(Out):
    case_id: str
    matter: str
    matter_name: str
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
