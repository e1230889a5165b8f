"""Storage for the face gate: failure counters and lockouts (table ``face_lockouts``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import FaceLockout


def locked_until(session: Session, holder_hash: str, now: datetime) -> datetime | None:
    row = session.get(FaceLockout, holder_hash)
    if row is None or row.locked_until is None or row.locked_until <= now:
        return None
    return row.locked_until


def add_failure(session: Session, holder_hash: str, *, now: datetime, max_failures: int, lockout_s: int
                ) -> tuple[int, datetime | None]:
    """Count one failure (an atomic increment, safe across processes); at ``max_failures`` lock the holder out
    for ``lockout_s`` and start counting afresh. Returns (failures so far, locked until or None)."""
    if session.get(FaceLockout, holder_hash) is None:
        try:
            with session.begin_nested():
                session.add(FaceLockout(holder_hash=holder_hash, failures=0, updated_at=now))
                session.flush()
        except IntegrityError:
            pass
    session.execute(update(FaceLockout).where(FaceLockout.holder_hash == holder_hash)
                    .values(failures=FaceLockout.failures + 1, updated_at=now))
    row = session.get(FaceLockout, holder_hash, populate_existing=True)
    assert row is not None  # noqa: S101 - inserted above
    if row.failures >= max_failures:
        row.failures = 0
        row.locked_until = now + timedelta(seconds=lockout_s)
        session.flush()
        return max_failures, row.locked_until
    return row.failures, None


def clear_failures(session: Session, holder_hash: str) -> None:
    session.execute(delete(FaceLockout).where(FaceLockout.holder_hash == holder_hash))
