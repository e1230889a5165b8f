"""Appending to and reading the usage log (用证记录).

:func:`record` (one event) and :func:`record_many` (a request's events, in order; two inserts on PostgreSQL)
are the append functions every feature calls for a use of a citizen's data. Each event is written with a fresh
32-byte salt, and its commitment — SHA-256(``licex-usage/v1\\n`` ‖ salt ‖ canonical event), see
:mod:`verifier.tlog.events` — goes to the transparency log (``exchange.tlog``) in the caller's transaction.
Nothing is locked and no shared row is updated, so any number of counters can record for the same holder at
once; the log's sequencer gives the commitment its index within about a second.

The citizen's own view returns each event with ``log: {index, leaf_input}`` and ``opening: {salt}`` so their
browser can recompute the commitment and check it against the signed checkpoint.
"""

from __future__ import annotations

import base64
import functools
import hmac
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, NamedTuple

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from verifier.tlog.events import SALT_BYTES, commitment
from verifier.tlog.merkle import leaf_hash, verify_inclusion

from ..kit.db import table_of, utcnow
from ..models import UsageEntry
from ..tlog import service as tlog

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


#: The committed fields of an entry (what its commitment is computed over): event key → column.
_COMMITTED: Final = (("holder", "holder_hash"), ("at", "at"), ("action", "action"), ("outcome", "outcome"),
                     ("actor_kind", "actor_kind"), ("actor", "actor"), ("place", "place"), ("matter", "matter_key"),
                     ("subject", "subject"))


def _body(column: Callable[[str], Any]) -> dict[str, Any]:
    body = {key: column(name) for key, name in _COMMITTED}
    at: datetime = body["at"]
    body["at"] = at.isoformat()
    return body


def event_body(entry: UsageEntry) -> dict[str, Any]:
    """The committed fields of a stored entry."""
    return _body(functools.partial(getattr, entry))


@dataclass(frozen=True)
class Event:
    """One use of a holder's data, to be recorded (:func:`record_many`)."""

    holder_hash: str
    action: str
    actor: Actor
    outcome: str = "ok"
    matter_key: str | None = None
    subject: dict[str, Any] | None = None


class Recorded(NamedTuple):
    """A recorded event: its row (``seq`` in the citizen's view) and its transparency-log entry."""

    id: int
    log_entry_id: int


# Core, built once: every use of a citizen's data is recorded, and an ORM flush costs several times the CPU of
# the statement it sends. ``sort_by_parameter_order``: the ids come back in the order of the rows given.
_INSERT_ENTRIES = insert(table_of(UsageEntry)).returning(table_of(UsageEntry).c.id, sort_by_parameter_order=True)


def record(session: Session, holder_hash: str, action: str, actor: Actor, *, outcome: str = "ok",
           matter_key: str | None = None, subject: dict[str, Any] | None = None) -> Recorded:
    """Append one use of ``holder_hash``'s data to the usage log (and its commitment to the transparency log)."""
    return record_many(session, [Event(holder_hash, action, actor, outcome, matter_key, subject)])[0]


def record_many(session: Session, events: Sequence[Event]) -> list[Recorded]:
    """:func:`record` for several events, in order: one insert of the commitments (into the transparency log)
    and one of the entries, whatever their number (multi-row on PostgreSQL; a statement per row on SQLite)."""
    for event in events:
        if event.action not in ACTIONS:
            raise ValueError(f"unknown usage action {event.action}")
    if not events:
        return []
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {"holder_hash": e.holder_hash, "at": now, "action": e.action, "outcome": e.outcome,
         "actor_kind": e.actor.kind, "actor": e.actor.name[:128], "place": e.actor.place or None,
         "matter_key": e.matter_key, "subject": e.subject or {}, "salt": os.urandom(SALT_BYTES)}
        for e in events]
    log_ids = tlog.append_many(session, [commitment(_body(row.__getitem__), row["salt"]) for row in rows])
    for row, log_id in zip(rows, log_ids, strict=True):
        row["log_entry_id"] = log_id
    ids = session.execute(_INSERT_ENTRIES, rows).scalars()
    return [Recorded(i, log_id) for i, log_id in zip(ids, log_ids, strict=True)]


def last_entry(session: Session, holder_hash: str, *, action: str | None = None) -> UsageEntry | None:
    """The holder's newest entry (of ``action``, when given), if any."""
    stmt = select(UsageEntry).where(UsageEntry.holder_hash == holder_hash)
    if action is not None:
        stmt = stmt.where(UsageEntry.action == action)
    return session.scalars(stmt.order_by(UsageEntry.id.desc()).limit(1)).first()


def list_for_holder(session: Session, holder_hash: str, *, limit: int = 100, before_seq: int | None = None
                    ) -> list[UsageEntry]:
    """Newest first; ``before_seq`` pages by the entry's ``seq`` (its row id, increasing over time)."""
    stmt = select(UsageEntry).where(UsageEntry.holder_hash == holder_hash)
    if before_seq is not None:
        stmt = stmt.where(UsageEntry.id < before_seq)
    return list(session.scalars(stmt.order_by(UsageEntry.id.desc()).limit(min(max(limit, 1), 500))))


def entry_view(entry: UsageEntry, position: tlog.LogPosition | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {"seq": entry.id, **event_body(entry)}
    view["log"] = {"index": position.index if position else None,
                   "leaf_input": base64.b64encode(position.leaf_input).decode() if position else None}
    view["opening"] = {"salt": base64.b64encode(entry.salt).decode()}
    return view


def views(session: Session, entries: list[UsageEntry]) -> list[dict[str, Any]]:
    pos = tlog.positions(session, [e.log_entry_id for e in entries])
    return [entry_view(e, pos.get(e.log_entry_id)) for e in entries]


def verify_holder(session: Session, holder_hash: str) -> tuple[bool, int | None]:
    """Check every sequenced entry of a holder: its content matches its commitment and the commitment is included
    at its index under the latest checkpoint. (True, None), or (False, seq of the first bad entry)."""
    size, root = tlog.latest_tree(session)
    prover = tlog.prover(session, size)
    entries = list_for_holder(session, holder_hash, limit=500)
    pos = tlog.positions(session, [e.log_entry_id for e in entries])
    for entry in reversed(entries):
        p = pos.get(entry.log_entry_id)
        if p is None or not hmac.compare_digest(p.leaf_input, commitment(event_body(entry), entry.salt)):
            return False, entry.id
        if p.index is None or p.index >= size:
            continue  # not yet in a checkpoint
        if not verify_inclusion(leaf_hash(p.leaf_input), p.index, size, prover.inclusion(p.index), root):
            return False, entry.id
    return True, None


def retention_horizon(days: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=days)


def purge_expired(session: Session, days: int, *, now: datetime | None = None) -> int:
    """Delete the content (the whole row: event, salt, holder link) of entries older than ``days``. Their
    commitments stay in the transparency log, so the tree, its tiles and every newer event still verify."""
    if days < 180:
        raise ValueError("usage retention must be at least 180 days")
    result = session.execute(delete(UsageEntry).where(UsageEntry.at < retention_horizon(days, now)))
    return int(getattr(result, "rowcount", 0) or 0)


def export_for_holder(session: Session, holder_hash: str, *, retention_days: int,
                      consistency_from: list[int] | None = None, limit: int = 5000) -> dict[str, Any]:
    """The citizen's events with inclusion proofs against the latest checkpoint, for offline checking
    (``licex log verify``); ``consistency_from`` adds consistency proofs from earlier tree sizes."""
    note = tlog.checkpoint_note(session)
    size = int(note.split("\n")[1])
    events = views(session, list_for_holder(session, holder_hash, limit=limit))
    prover = tlog.prover(session, size)
    for ev in events:
        index = ev["log"]["index"]
        if index is not None and index < size:
            ev["log"]["inclusion"] = [tlog.b64(h) for h in prover.inclusion(index)]
        else:
            ev["log"] = {"index": None, "leaf_input": ev["log"]["leaf_input"]}  # not in this checkpoint yet
    consistency = {str(m): [tlog.b64(h) for h in prover.consistency(m)]
                   for m in sorted(set(consistency_from or [])) if 0 < m <= size}
    return {"checkpoint": note, "retained_since": retention_horizon(retention_days).isoformat(),
            "events": events, "consistency": consistency}
