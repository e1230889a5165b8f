from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..kit.db import table_of
from ..models import Clerk, CounterCase

_INSERT_CASE = insert(table_of(CounterCase))  # Core: every scan opens a case; an ORM flush costs twice the CPU


def add_case(session: Session, *, clerk_id: int, matter_key: str, holder_hash: str, now: datetime) -> str:
    """Open a case for a scanned citizen; its fresh id."""
    case_id = secrets.token_hex(16)
    session.execute(_INSERT_CASE, {"id": case_id, "clerk_id": clerk_id, "matter_key": matter_key,
                                   "holder_hash": holder_hash, "status": "open", "created_at": now})
    return case_id


def get_case(session: Session, case_id: str) -> CounterCase | None:
    return session.get(CounterCase, case_id)


def clerk_by_username(session: Session, username: str) -> Clerk | None:
    return session.scalars(select(Clerk).where(Clerk.username == username)).first()
