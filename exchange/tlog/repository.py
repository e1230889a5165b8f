"""Storage of the log: pending entries, tiles, state, checkpoints and cosignatures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ..kit.db import table_of
from .models import LogCheckpoint, LogCosignature, LogEntry, LogState, LogTile

STATE_ID = 1
# A Core insert, built once: every use of a citizen's data appends here, and an ORM flush costs several times the
# CPU of the statement it sends. ``sort_by_parameter_order``: the ids come back in the order of the rows given.
_INSERT_ENTRIES = insert(table_of(LogEntry)).returning(table_of(LogEntry).c.id, sort_by_parameter_order=True)


def add_entries(session: Session, leaf_inputs: Sequence[bytes]) -> list[int]:
    """Insert the entries; their ids, in the given order. One multi-row ``INSERT … RETURNING`` on PostgreSQL
    (SQLAlchemy's insertmanyvalues), whatever their number; a statement per row on SQLite."""
    if not leaf_inputs:
        return []
    return list(session.execute(_INSERT_ENTRIES, [{"leaf_input": leaf} for leaf in leaf_inputs]).scalars())


def entries_by_id(session: Session, ids: Sequence[int]) -> dict[int, LogEntry]:
    if not ids:
        return {}
    return {e.id: e for e in session.scalars(select(LogEntry).where(LogEntry.id.in_(list(ids))))}


def pending(session: Session, limit: int) -> list[tuple[int, bytes]]:
    rows = session.execute(select(LogEntry.id, LogEntry.leaf_input).where(LogEntry.leaf_index.is_(None))
                           .order_by(LogEntry.id).limit(limit)).all()
    return [(r[0], r[1]) for r in rows]


def backlog(session: Session) -> tuple[int, datetime | None]:
    """How many entries wait for an index (appended, not yet in a checkpoint), and when the oldest was appended."""
    count, oldest = session.execute(select(func.count(LogEntry.id), func.min(LogEntry.created_at))
                                    .where(LogEntry.leaf_index.is_(None))).one()
    return int(count), oldest


def assign_indices(session: Session, assignments: list[dict[str, int]]) -> None:
    if assignments:
        session.execute(update(LogEntry), assignments)


def state(session: Session, *, for_update: bool = False) -> LogState | None:
    stmt = select(LogState).where(LogState.id == STATE_ID)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def tile(session: Session, level: int, index: int) -> LogTile | None:
    return session.get(LogTile, (level, index))


def save_tile(session: Session, level: int, index: int, width: int, data: bytes) -> None:
    row = session.get(LogTile, (level, index))
    if row is None:
        session.add(LogTile(level=level, idx=index, width=width, data=data))
    else:
        row.width, row.data = width, data
    session.flush()


def latest_checkpoint(session: Session) -> LogCheckpoint | None:
    return session.scalars(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1)).first()


def checkpoint(session: Session, size: int) -> LogCheckpoint | None:
    return session.get(LogCheckpoint, size)


def latest_cosigned(session: Session) -> LogCheckpoint | None:
    sub = select(LogCosignature.size).distinct()
    return session.scalars(select(LogCheckpoint).where(LogCheckpoint.size.in_(sub))
                           .order_by(LogCheckpoint.size.desc()).limit(1)).first()


def cosignatures(session: Session, size: int) -> list[LogCosignature]:
    return list(session.scalars(select(LogCosignature).where(LogCosignature.size == size)
                                .order_by(LogCosignature.cosigner)))


def save_cosignature(session: Session, size: int, cosigner: str, line: str, signed_at: int) -> None:
    row = session.scalars(select(LogCosignature).where(LogCosignature.size == size,
                                                       LogCosignature.cosigner == cosigner)).first()
    if row is None:
        session.add(LogCosignature(size=size, cosigner=cosigner, line=line, signed_at=signed_at))
    elif signed_at > row.signed_at:
        row.line, row.signed_at = line, signed_at
