"""Tables of the e-archive."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..kit.db import Base, utcnow

HASH = String(64)


class ArchiveItem(Base):
    """One archived material, bound to its holder (keyed hash), encrypted at rest (AES-256-GCM, context bound to
    the item id). ``content_enc`` is emptied when the item is deleted; the row stays as the case record's trace
    until ``retain_until``."""

    __tablename__ = "archive_items"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder_hash: Mapped[str] = mapped_column(HASH)
    material_type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(120))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    digest: Mapped[str] = mapped_column(HASH)
    content_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    origin: Mapped[str] = mapped_column(String(16))  # upload | presentation | proof | check
    source_case: Mapped[str | None] = mapped_column(String(32))
    source_matter: Mapped[str | None] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(128))
    accepted_by: Mapped[str | None] = mapped_column(String(128))
    accepted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retain_until: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_archive_items_holder_type", "holder_hash", "material_type"),)
