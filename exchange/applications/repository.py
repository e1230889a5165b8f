"""Storage of proof applications (table ``proof_applications``). Queries only; the caller commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ProofApplication


def add(session: Session, row: ProofApplication) -> ProofApplication:
    session.add(row)
    session.flush()
    return row


def get_for_update(session: Session, application_id: str) -> ProofApplication | None:
    stmt = select(ProofApplication).where(ProofApplication.id == application_id).with_for_update()
    return session.scalars(stmt).first()


def for_holder(session: Session, holder_hash: str, *, limit: int = 100) -> list[ProofApplication]:
    stmt = (select(ProofApplication).where(ProofApplication.holder_hash == holder_hash)
            .order_by(ProofApplication.created_at.desc()).limit(limit))
    return list(session.scalars(stmt))


def pending_of_type(session: Session, holder_hash: str, type_key: str) -> ProofApplication | None:
    stmt = select(ProofApplication).where(
        ProofApplication.holder_hash == holder_hash, ProofApplication.type_key == type_key,
        ProofApplication.status == "pending")
    return session.scalars(stmt).first()


def queue(session: Session, department_id: str, status: str, *, limit: int = 200) -> list[ProofApplication]:
    stmt = (select(ProofApplication)
            .where(ProofApplication.department_id == department_id, ProofApplication.status == status)
            .order_by(ProofApplication.created_at).limit(limit))
    return list(session.scalars(stmt))
