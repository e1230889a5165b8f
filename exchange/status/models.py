"""Tables of the status feature: sharded status lists (the raw bits) and the indices handed out in them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..kit.db import Base, utcnow


class StatusListShard(Base):
    """One Status List (``bits`` bits per entry, ``size`` entries); ``data`` is the uncompressed byte array."""

    __tablename__ = "status_lists"
    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[str] = mapped_column(String(32), unique=True)  # random, the last segment of the URI
    bits: Mapped[int]
    size: Mapped[int]
    allocated: Mapped[int] = mapped_column(default=0)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StatusAllocation(Base):
    """An index handed out to ``owner`` (a department id); bound to the token (``kind`` + ``subject``) that
    carries it at intake. A department can only bind indices it was given, and each index only once."""

    __tablename__ = "status_allocations"
    __table_args__ = (
        UniqueConstraint("list_pk", "idx"),
        Index("ix_status_allocations_subject", "kind", "subject", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    list_pk: Mapped[int] = mapped_column(ForeignKey("status_lists.id"))
    idx: Mapped[int]
    owner: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str | None] = mapped_column(String(16))  # licence | proof
    subject: Mapped[str | None] = mapped_column(String(128))  # licence id | proof id
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
