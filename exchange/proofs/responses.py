"""Response models of the proof API."""

from __future__ import annotations

from typing import Any

from ..kit.responses import Out


class IssuerOut(Out):
    id: str
    name: str


class ProofSummaryOut(Out):
    proof_id: str
    type: str
    type_name: str
    mode: str | None = None  # instant | reviewed (online-issued)
    issuer: IssuerOut
    status: str
    issued_at: str
    expires_at: str
    download_url: str
    verify_url: str


class PublicProofOut(Out):
    """What anyone scanning the QR may see: no download link, masked data."""

    proof_id: str
    type: str
    type_name: str
    issuer: IssuerOut
    status: str
    issued_at: str
    expires_at: str
    verify_url: str
    data: dict[str, Any]
    data_digest: str
    seal_fingerprint: str | None = None


class PrintRecordedOut(Out):
    proof_id: str
    recorded: str
