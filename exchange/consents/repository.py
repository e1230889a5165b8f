from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..kit.db import table_of
from ..models import Clerk, Consent

# Statements on the counter flow's path, built once: building one per call costs more CPU than running it.
_CONSENT_FOR_CASE = (select(Consent).where(Consent.case_id == bindparam("case_id"))
                     .order_by(Consent.created_at.desc()).limit(1))
_CLERKS_BY_ID = select(Clerk).where(Clerk.id.in_(bindparam("ids", expanding=True)))
_consents = table_of(Consent)
# A decision moves the row only from a state it is still in and before it expires: of two decisions racing on
# one consent (approve on the phone, withdraw on a kiosk), exactly one changes it.
_TRANSITION = (update(_consents)
               .where(_consents.c.id == bindparam("consent_id"),
                      _consents.c.status.in_(bindparam("from_", expanding=True)),
                      _consents.c.expires_at > bindparam("now"))
               .values(status=bindparam("to"), decided_at=bindparam("now")))


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


def transition(session: Session, consent: Consent, *, from_: Collection[str], to: str, now: datetime) -> bool:
    """Move ``consent`` to ``to`` if it is still in one of ``from_`` and unexpired at ``now``; False when another
    decision came first (or it expired meanwhile). On success the loaded object shows the new state."""
    moved = session.execute(_TRANSITION, {"consent_id": consent.id, "from_": sorted(from_), "to": to, "now": now})
    if getattr(moved, "rowcount", 0) != 1:
        return False
    set_committed_value(consent, "status", to)  # what the row now holds: no second UPDATE at the flush
    set_committed_value(consent, "decided_at", now)
    return True
