"""Response models of the reviewed-proof API."""

from __future__ import annotations

from typing import Any

from ..kit.responses import Out


class ApplicationOut(Out):
    id: str
    type: str
    type_name: str
    department: str
    purpose: str | None = None
    status: str
    reason: str | None = None
    created_at: str
    decided_at: str | None = None
    proof_id: str | None = None
    download_url: str | None = None
    verify_url: str | None = None


class ApplicantOut(Out):
    name: str
    id_number: str
    id_masked: str


class RecordOut(Out):
    fields: dict[str, Any]
    findings: dict[str, Any]


class QueueItemOut(Out):
    id: str
    type: str
    type_name: str
    status: str
    created_at: str
    applicant: ApplicantOut
    purpose: str | None = None
    details: dict[str, Any]
    record: RecordOut | None = None
    blocked_by: str | None = None
