"""Queries for the archive tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .models import ArchiveItem


def get(session: Session, item_id: str) -> ArchiveItem | None:
    return session.get(ArchiveItem, item_id)


def for_holder(session: Session, holder_hash: str, *, include_deleted: bool = False) -> list[ArchiveItem]:
    q = select(ArchiveItem).where(ArchiveItem.holder_hash == holder_hash)
    if not include_deleted:
        q = q.where(ArchiveItem.deleted_at.is_(None))
    return list(session.scalars(q.order_by(ArchiveItem.created_at.desc(), ArchiveItem.id)))


def accepted_of_type(session: Session, holder_hash: str, material_type: str) -> ArchiveItem | None:
    q = (select(ArchiveItem)
         .where(ArchiveItem.holder_hash == holder_hash, ArchiveItem.material_type == material_type,
                ArchiveItem.deleted_at.is_(None), ArchiveItem.accepted_at.is_not(None))
         .order_by(ArchiveItem.accepted_at.desc()).limit(1))
    return session.scalars(q).first()


def for_case(session: Session, case_id: str) -> list[ArchiveItem]:
    return list(session.scalars(select(ArchiveItem).where(ArchiveItem.source_case == case_id)))


def purge(session: Session, *, created_before: datetime, now: datetime) -> int:
    """Delete rows older than the retention whose case retention (if any) has passed."""
    rows = session.scalars(select(ArchiveItem.id).where(
        ArchiveItem.created_at < created_before,
        (ArchiveItem.retain_until.is_(None)) | (ArchiveItem.retain_until < now))).all()
    if rows:
        session.execute(delete(ArchiveItem).where(ArchiveItem.id.in_(rows)))
    return len(rows)
