"""All tables of the exchange (SQLAlchemy 2 typed models). Personal identifiers are never stored in clear in an
index column: ``holder_hash`` is a keyed hash (see ``kit.crypto``); payloads are AES-GCM encrypted."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .kit.db import Base, utcnow
from .kit.nonces import UsedNonce as UsedNonce  # the table lives with its one function, in the kit

HASH = String(64)


class Department(Base):
    __tablename__ = "departments"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DepartmentCertificate(Base):
    """Public certificates the exchange trusts for a department: licence signing, seals, API clients."""

    __tablename__ = "department_certificates"
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    use: Mapped[str] = mapped_column(String(16))  # licence | seal | client
    fingerprint: Mapped[str] = mapped_column(HASH, unique=True)
    pem: Mapped[str] = mapped_column(Text)
    not_before: Mapped[datetime]
    not_after: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiClient(Base):
    """A department system allowed to call the API with a client assertion (RFC 7523) and given scopes."""

    __tablename__ = "api_clients"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QrGrant(Base):
    """A dynamic QR a citizen is showing: the QR carries only a random token id; this row (keyed by the token
    id's SHA-256) says whose it is. Single use is enforced separately, in ``used_nonces``."""

    __tablename__ = "qr_tokens"
    token_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    holder_hash: Mapped[str] = mapped_column(HASH, index=True)
    session_jti: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Licence(Base):
    __tablename__ = "licences"
    __table_args__ = (Index("ix_licences_holder_type", "holder_hash", "type_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    licence_id: Mapped[str] = mapped_column(String(128), unique=True)
    type_code: Mapped[str] = mapped_column(String(32), index=True)
    type_key: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    holder_hash: Mapped[str] = mapped_column(HASH)
    holder_code_type: Mapped[str] = mapped_column(String(3))
    content_digest: Mapped[str] = mapped_column(HASH)
    payload_enc: Mapped[bytes] = mapped_column(LargeBinary)
    issued_on: Mapped[date]
    valid_from: Mapped[date]
    valid_until: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default="valid")
    status_reason: Mapped[str | None] = mapped_column(String(200))
    status_changed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LicenceStatusEvent(Base):
    __tablename__ = "licence_status_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    licence_pk: Mapped[int] = mapped_column(ForeignKey("licences.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportRun(Base):
    """Checkpoint of a bulk import: lines committed so far, advanced in the same transaction as the rows."""

    __tablename__ = "import_runs"
    file_digest: Mapped[str] = mapped_column(HASH, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    lines_done: Mapped[int] = mapped_column(default=0)
    imported: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FaceLockout(Base):
    __tablename__ = "face_lockouts"
    holder_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Clerk(Base):
    __tablename__ = "clerks"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # clerk | reviewer | admin
    department_id: Mapped[str | None] = mapped_column(ForeignKey("departments.id"))
    hall: Mapped[str] = mapped_column(String(64))
    window: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CounterCase(Base):
    """One service case at a counter: a clerk, a matter, and (after a scan) a citizen."""

    __tablename__ = "counter_cases"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("clerks.id"), index=True)
    matter_key: Mapped[str] = mapped_column(String(64))
    holder_hash: Mapped[str | None] = mapped_column(HASH, index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Consent(Base):
    __tablename__ = "consents"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("counter_cases.id"), index=True)
    holder_hash: Mapped[str] = mapped_column(HASH, index=True)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("clerks.id"))
    matter_key: Mapped[str] = mapped_column(String(64))
    requested: Mapped[dict[str, Any]] = mapped_column(JSON)  # {licence type key: [fields]}
    status: Mapped[str] = mapped_column(String(16), default="pending")
    expires_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UsageEntry(Base):
    """The citizen-readable usage log (用证记录). Each row's commitment (SHA-256 over its random salt and the
    canonical event) is an entry of the transparency log (``exchange.tlog``), which gives it an index when the
    sequencer runs. Rows are deleted after the retention period; their commitments stay in the log."""

    __tablename__ = "usage_log"
    __table_args__ = (
        Index("ix_usage_log_holder_id", "holder_hash", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    holder_hash: Mapped[str] = mapped_column(HASH)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    place: Mapped[str | None] = mapped_column(String(128))
    matter_key: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[dict[str, Any]] = mapped_column(JSON)
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    log_entry_id: Mapped[int] = mapped_column(BigInteger, unique=True)  # exchange.tlog entry of its commitment


class Proof(Base):
    __tablename__ = "proofs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type_key: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"))
    holder_hash: Mapped[str] = mapped_column(HASH, index=True)
    data_enc: Mapped[bytes] = mapped_column(LargeBinary)
    data_digest: Mapped[str] = mapped_column(HASH)
    pdf_enc: Mapped[bytes] = mapped_column(LargeBinary)
    pdf_digest: Mapped[str] = mapped_column(HASH, index=True)
    seal_fingerprint: Mapped[str] = mapped_column(HASH)
    status: Mapped[str] = mapped_column(String(16), default="valid")
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    requested_by: Mapped[str] = mapped_column(String(128))


class ProofApplication(Base):
    __tablename__ = "proof_applications"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type_key: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[str] = mapped_column(ForeignKey("departments.id"), index=True)
    holder_hash: Mapped[str] = mapped_column(HASH, index=True)
    data_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(String(500))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("clerks.id"))
    proof_id: Mapped[str | None] = mapped_column(ForeignKey("proofs.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
