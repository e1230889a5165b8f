from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Clerk, Consent


def consent_for_case(session: Session, case_id: str) -> Consent | None:
    return session.scalars(select(Consent).where(Consent.case_id == case_id)
                           .order_by(Consent.created_at.desc())).first()


def get_consent(session: Session, consent_id: str) -> Consent | None:
    return session.get(Consent, consent_id)


def consents_of(session: Session, holder_hash: str, *, limit: int = 100) -> list[Consent]:
    return list(session.scalars(select(Consent).where(Consent.holder_hash == holder_hash)
                                .order_by(Consent.created_at.desc()).limit(limit)))


def clerks_by_id(session: Session, ids: set[int]) -> dict[int, Clerk]:
    if not ids:
        return {}
    return {c.id: c for c in session.scalars(select(Clerk).where(Clerk.id.in_(sorted(ids))))}
