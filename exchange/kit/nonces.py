"""Single-use values (a client assertion's jti, a dynamic QR's token id, a face challenge or assertion): the
``used_nonces`` table refuses a replay, across every process sharing the database. Each user picks a ``scope``
("assert", "qr", "face-chal", "face-assert") so values of different kinds never collide."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.exc import IntegrityError
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


def consume_nonce(session: Session, scope: str, nonce: str, expires_at: datetime) -> bool:
    """Record a single-use value; False if it was already used (by any process sharing the database)."""
    try:
        with session.begin_nested():
            session.add(UsedNonce(scope=scope, nonce=nonce, expires_at=expires_at))
            session.flush()
    except IntegrityError:
        return False
    return True
