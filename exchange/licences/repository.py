from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import bindparam, func, select
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


_FOR_HOLDER = (select(Licence).where(Licence.holder_hash == bindparam("holder_hash"))
               .order_by(Licence.type_code, Licence.issued_on.desc()))  # built once (the counter pull's path)
_FOR_HOLDER_OF_TYPES = _FOR_HOLDER.where(Licence.type_code.in_(bindparam("type_codes", expanding=True)))


def for_holder(session: Session, holder_hash: str, *, type_codes: Collection[str] | None = None) -> list[Licence]:
    if type_codes is None:
        return list(session.scalars(_FOR_HOLDER, {"holder_hash": holder_hash}))
    return list(session.scalars(_FOR_HOLDER_OF_TYPES, {"holder_hash": holder_hash, "type_codes": list(type_codes)}))


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Licence)) or 0)


def add_status_event(session: Session, licence: Licence, status: str, reason: str, actor: str) -> None:
    session.add(LicenceStatusEvent(licence_pk=licence.id, status=status, reason=reason, actor=actor))
