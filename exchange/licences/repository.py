from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Licence, LicenceStatusEvent


def by_licence_id(session: Session, licence_id: str) -> Licence | None:
    return session.scalars(select(Licence).where(Licence.licence_id == licence_id)).first()


def existing_ids(session: Session, licence_ids: Collection[str]) -> dict[str, str]:
    """licence_id -> content_digest for those already stored."""
    if not licence_ids:
        return {}
    rows = session.execute(select(Licence.licence_id, Licence.content_digest).where(
        Licence.licence_id.in_(list(licence_ids))))
    return {lid: digest for lid, digest in rows}


def for_holder(session: Session, holder_hash: str, *, type_codes: Collection[str] | None = None) -> list[Licence]:
    stmt = select(Licence).where(Licence.holder_hash == holder_hash)
    if type_codes is not None:
        stmt = stmt.where(Licence.type_code.in_(list(type_codes)))
    return list(session.scalars(stmt.order_by(Licence.type_code, Licence.issued_on.desc())))


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Licence)) or 0)


def add_status_event(session: Session, licence: Licence, status: str, reason: str, actor: str) -> None:
    session.add(LicenceStatusEvent(licence_pk=licence.id, status=status, reason=reason, actor=actor))
