from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Clerk, CounterCase


def get_case(session: Session, case_id: str) -> CounterCase | None:
    return session.get(CounterCase, case_id)


def clerk_by_username(session: Session, username: str) -> Clerk | None:
    return session.scalars(select(Clerk).where(Clerk.username == username)).first()
