"""Single-use values (a client assertion's jti, a dynamic QR's token id, a face challenge or assertion): the
``used_nonces`` table refuses a replay, across every process sharing the database. Each user picks a ``scope``
("assert", "qr", "face-chal", "face-assert") so values of different kinds never collide."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, utcnow


class UsedNonce(Base):
    """Single-use identifiers (client-assertion jti, dynamic QR jti, face challenges): the store refuses replays,
    across every process sharing the database."""

    __tablename__ = "used_nonces"
    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)


def _consume_statement(dialect: str) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING`` for the dialect, built once per dialect (building a statement
    per call costs about as much CPU as running it)."""
    insert: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the two supported engines
        raise RuntimeError(f"unsupported database {dialect}")
    return (insert(UsedNonce).values(scope=bindparam("scope"), nonce=bindparam("nonce"),
                                     expires_at=bindparam("expires_at"), used_at=bindparam("used_at"))
            .on_conflict_do_nothing(index_elements=["scope", "nonce"]).returning(UsedNonce.nonce))


_CONSUME: dict[str, Any] = {}


def consume_nonce(session: Session, scope: str, nonce: str, expires_at: datetime) -> bool:
    """Record a single-use value; False if it was already used (by any process sharing the database).

    One statement, ``INSERT … ON CONFLICT DO NOTHING RETURNING`` (PostgreSQL and SQLite): the primary key
    decides, so two processes racing with the same value get one True and one False, without a savepoint."""
    dialect = session.get_bind().dialect.name
    statement = _CONSUME.get(dialect)
    if statement is None:
        statement = _CONSUME[dialect] = _consume_statement(dialect)
    inserted = session.execute(statement, {"scope": scope, "nonce": nonce, "expires_at": expires_at,
                                           "used_at": utcnow()}).first()
    return inserted is not None
