"""Appending to and reading the usage log.

Entries are hash-chained per holder: ``entry_hash = sha256(prev_hash || canonical(entry))`` with a per-holder
sequence number under a unique constraint, so a removed, reordered or edited entry breaks the chain and two
concurrent writers cannot both claim the same place (the loser retries). ``verify_chain`` checks a holder's log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schemas.canonical import canonical_json

from ..kit.db import utcnow
from ..models import UsageEntry

GENESIS = "0" * 64
ACTIONS = frozenset({
    "licence_issued", "licence_status", "face_login", "face_login_failed", "qr_created", "counter_scan",
    "scan_refused", "consent_requested", "consent_approved", "consent_declined", "consent_withdrawn",
    "pull", "pull_refused", "proof_created", "proof_printed", "proof_downloaded", "proof_viewed", "proof_verified",
    "proof_applied", "proof_reviewed", "kiosk_view",
    "material_uploaded", "material_accepted", "material_reused", "material_downloaded", "material_deleted",
    "materials_satisfied", "department_check", "commitment_confirmed", "case_filed",
})


@dataclass(frozen=True)
class Actor:
    kind: str  # citizen | clerk | department | kiosk | public | system
    name: str
    place: str | None = None


def _digest(prev: str, entry: UsageEntry) -> str:
    body = {
        "seq": entry.seq, "at": entry.at.isoformat(), "action": entry.action, "outcome": entry.outcome,
        "actor_kind": entry.actor_kind, "actor": entry.actor, "place": entry.place, "matter": entry.matter_key,
        "subject": entry.subject,
    }
    return hashlib.sha256(prev.encode() + canonical_json(body)).hexdigest()


def record(session: Session, holder_hash: str, action: str, actor: Actor, *, outcome: str = "ok",
           matter_key: str | None = None, subject: dict[str, Any] | None = None) -> UsageEntry:
    if action not in ACTIONS:
        raise ValueError(f"unknown usage action {action}")
    for _attempt in range(5):
        last = session.scalars(
            select(UsageEntry).where(UsageEntry.holder_hash == holder_hash).order_by(UsageEntry.seq.desc()).limit(1)
        ).first()
        prev = last.entry_hash if last else GENESIS
        at = utcnow()
        entry = UsageEntry(
            holder_hash=holder_hash, seq=(last.seq + 1) if last else 1, at=at, action=action, outcome=outcome,
            actor_kind=actor.kind, actor=actor.name[:128], place=(actor.place or None), matter_key=matter_key,
            subject=subject or {}, prev_hash=prev, entry_hash="",
        )
        entry.entry_hash = _digest(prev, entry)
        try:
            with session.begin_nested():
                session.add(entry)
                session.flush()
            return entry
        except IntegrityError:
            continue
    raise RuntimeError("could not append to the usage log after 5 attempts")


def last_entry(session: Session, holder_hash: str, *, action: str | None = None) -> UsageEntry | None:
    """The holder's newest entry (of ``action``, when given), if any."""
    stmt = select(UsageEntry).where(UsageEntry.holder_hash == holder_hash)
    if action is not None:
        stmt = stmt.where(UsageEntry.action == action)
    return session.scalars(stmt.order_by(UsageEntry.seq.desc()).limit(1)).first()


def list_for_holder(session: Session, holder_hash: str, *, limit: int = 100, before_seq: int | None = None
                    ) -> list[UsageEntry]:
    stmt = select(UsageEntry).where(UsageEntry.holder_hash == holder_hash)
    if before_seq is not None:
        stmt = stmt.where(UsageEntry.seq < before_seq)
    return list(session.scalars(stmt.order_by(UsageEntry.seq.desc()).limit(min(max(limit, 1), 500))))


def verify_chain(session: Session, holder_hash: str) -> tuple[bool, int | None]:
    """(True, None) if the holder's chain is intact, else (False, first bad seq)."""
    prev = GENESIS
    expected_seq = 1
    for entry in session.scalars(
        select(UsageEntry).where(UsageEntry.holder_hash == holder_hash).order_by(UsageEntry.seq)
    ):
        if entry.seq != expected_seq or entry.prev_hash != prev or _digest(prev, entry) != entry.entry_hash:
            return False, entry.seq
        prev = entry.entry_hash
        expected_seq += 1
    return True, None


def entry_view(entry: UsageEntry) -> dict[str, Any]:
    at: datetime = entry.at
    return {
        "seq": entry.seq, "at": at.isoformat(), "action": entry.action, "outcome": entry.outcome,
        "actor_kind": entry.actor_kind, "actor": entry.actor, "place": entry.place, "matter": entry.matter_key,
        "subject": entry.subject,
    }
