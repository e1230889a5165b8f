"""Storage of issued proofs (table ``proofs``). Queries only; the caller's unit of work commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Proof


def add(session: Session, proof: Proof) -> Proof:
    session.add(proof)
    session.flush()
    return proof


def get(session: Session, proof_id: str) -> Proof | None:
    return session.get(Proof, proof_id)


def by_pdf_digest(session: Session, digest: str) -> Proof | None:
    return session.scalars(select(Proof).where(Proof.pdf_digest == digest)).first()


def for_holder(session: Session, holder_hash: str, *, limit: int = 100) -> list[Proof]:
    stmt = (select(Proof).where(Proof.holder_hash == holder_hash)
            .order_by(Proof.issued_at.desc()).limit(min(max(limit, 1), 500)))
    return list(session.scalars(stmt))
