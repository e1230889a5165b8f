from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..models import Clerk, Consent

# Statements on the counter flow's path, built once: building one per call costs more CPU than running it.
_CONSENT_FOR_CASE = (select(Consent).where(Consent.case_id == bindparam("case_id"))
                     .order_by(Consent.created_at.desc()).limit(1))
_CLERKS_BY_ID = select(Clerk).where(Clerk.id.in_(bindparam("ids", expanding=True)))


def consent_for_case(session: Session, case_id: str) -> Consent | None:
    return session.scalars(_CONSENT_FOR_CASE, {"case_id": case_id}).first()


def get_consent(session: Session, consent_id: str) -> Consent | None:
    return session.get(Consent, consent_id)


def consents_of(session: Session, holder_hash: str, *, limit: int = 100) -> list[Consent]:
    return list(session.scalars(select(Consent).where(Consent.holder_hash == holder_hash)
                                .order_by(Consent.created_at.desc()).limit(limit)))


def clerks_by_id(session: Session, ids: set[int]) -> dict[int, Clerk]:
    if not ids:
        return {}
    return {c.id: c for c in session.scalars(_CLERKS_BY_ID, {"ids": sorted(ids)})}
