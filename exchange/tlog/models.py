"""Tables of the transparency log. Tiles are stored as published (C2SP tlog-tiles bytes); the rightmost tile of
each level grows in place until it is full, after which it never changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..kit.db import Base, utcnow


class LogEntry(Base):
    """A leaf input handed to the log; ``leaf_index`` is set by the sequencer (NULL = not yet in the tree)."""

    __tablename__ = "tlog_entries"
    __table_args__ = (Index("ix_tlog_entries_pending", "id", sqlite_where=text("leaf_index IS NULL"),
                            postgresql_where=text("leaf_index IS NULL")),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    leaf_input: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_index: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LogTile(Base):
    __tablename__ = "tlog_tiles"
    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # -1: entry bundle
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    width: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class LogState(Base):
    """One row: the size and root of the sequenced tree (advanced only by the sequencer)."""

    __tablename__ = "tlog_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LogCheckpoint(Base):
    __tablename__ = "tlog_checkpoints"
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class LogCosignature(Base):
    """A witness's cosignature line on one of our checkpoints (verified against a configured witness key)."""

    __tablename__ = "tlog_cosignatures"
    __table_args__ = (UniqueConstraint("size", "cosigner"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, ForeignKey("tlog_checkpoints.size"), index=True)
    cosigner: Mapped[str] = mapped_column(String(200))
    line: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
