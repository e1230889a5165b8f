"""What a malicious insider with database access and the log's signing key can do to the usage log. Each helper
changes the stored log the way an attacker would and, where the attacker wants to stay consistent with what
they serve, rebuilds the tiles and signs a fresh checkpoint — so only outside memory (a witness's cosigned
checkpoint, a citizen's saved checkpoint or earlier export) can catch it."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterator

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from exchange.context import AppContext
from exchange.kit.db import unit_of_work, utcnow
from exchange.models import UsageEntry
from exchange.tlog.keys import log_signer
from exchange.tlog.models import LogCheckpoint, LogCosignature, LogEntry, LogState, LogTile
from exchange.tlog.sequencer import _file_lock, _pg_lock, extend_tiles, tile_hashes
from exchange.usage.service import event_body
from verifier.tlog.events import commitment
from verifier.tlog.note import Checkpoint, sign_checkpoint


@contextlib.contextmanager
def _locked(ctx: AppContext) -> Iterator[bool]:
    """Hold the sequencer's lock (waiting for a running batch to finish), as an insider would."""
    for _ in range(400):
        with _file_lock(ctx.settings.data_dir / "tlog-sequencer.lock") as held:
            if held:
                yield True
                return
        time.sleep(0.025)
    yield False


def _rebuild(ctx: AppContext, s: Session) -> None:
    """Re-derive tiles, state and a signed checkpoint from the (tampered) entries, as the attacker would."""
    s.execute(delete(LogCosignature))
    s.execute(delete(LogCheckpoint))
    s.execute(delete(LogTile))
    s.execute(delete(LogState))
    leaves = list(s.scalars(select(LogEntry.leaf_input).where(LogEntry.leaf_index.is_not(None))
                            .order_by(LogEntry.leaf_index)))
    size = extend_tiles(s, 0, leaves)
    root = tile_hashes(s, size).root()
    s.add(LogState(id=1, size=size, root=root, updated_at=utcnow()))
    note = sign_checkpoint(Checkpoint(ctx.settings.log_origin, size, root), log_signer(ctx))
    s.add(LogCheckpoint(size=size, root=root, note=note, created_at=utcnow()))


def _session_lock(s: Session) -> None:
    if s.get_bind().dialect.name == "postgresql":
        assert _pg_lock(s)


def rewrite_content(ctx: AppContext, usage_id: int, actor: str) -> None:
    """Change who did it, in the usage table only (the log is left alone)."""
    with unit_of_work(ctx.sessions) as s:
        s.execute(update(UsageEntry).where(UsageEntry.id == usage_id).values(actor=actor))


def rewrite_event(ctx: AppContext, usage_id: int, actor: str) -> None:
    """Change who did it, recompute the commitment, put it in the log at the same index and re-sign."""
    with _locked(ctx) as held, unit_of_work(ctx.sessions) as s:
        assert held
        _session_lock(s)
        row = s.get(UsageEntry, usage_id)
        assert row is not None
        row.actor = actor
        s.flush()
        s.execute(update(LogEntry).where(LogEntry.id == row.log_entry_id)
                  .values(leaf_input=commitment(event_body(row), row.salt)))
        _rebuild(ctx, s)


def delete_content(ctx: AppContext, usage_id: int) -> None:
    with unit_of_work(ctx.sessions) as s:
        s.execute(delete(UsageEntry).where(UsageEntry.id == usage_id))


def delete_event(ctx: AppContext, usage_id: int, *, pad: int = 0) -> None:
    """Remove an event and its leaf, close the gap, optionally append ``pad`` junk leaves so the tree does not
    shrink, and re-sign."""
    with _locked(ctx) as held, unit_of_work(ctx.sessions) as s:
        assert held
        _session_lock(s)
        row = s.get(UsageEntry, usage_id)
        assert row is not None
        entry = s.get(LogEntry, row.log_entry_id)
        assert entry is not None and entry.leaf_index is not None
        gone = entry.leaf_index
        s.delete(row)
        s.delete(entry)
        s.flush()
        later = list(s.scalars(select(LogEntry).where(LogEntry.leaf_index > gone).order_by(LogEntry.leaf_index)))
        for e in later:
            e.leaf_index = -1 - (e.leaf_index or 0)
        s.flush()
        for e in later:
            e.leaf_index = -e.leaf_index - 2  # old index - 1
        s.flush()
        top = s.scalar(select(LogEntry.leaf_index).order_by(LogEntry.leaf_index.desc()).limit(1)) or -1
        for i in range(pad):
            s.add(LogEntry(leaf_input=os.urandom(32), leaf_index=top + 1 + i, created_at=utcnow()))
        s.flush()
        _rebuild(ctx, s)


def truncate(ctx: AppContext, keep: int) -> None:
    """Cut the log back to its first ``keep`` leaves (and drop the content of what was cut)."""
    with _locked(ctx) as held, unit_of_work(ctx.sessions) as s:
        assert held
        _session_lock(s)
        cut = list(s.scalars(select(LogEntry.id).where(LogEntry.leaf_index >= keep)))
        s.execute(delete(UsageEntry).where(UsageEntry.log_entry_id.in_(cut)))
        s.execute(delete(LogEntry).where(LogEntry.id.in_(cut)))
        _rebuild(ctx, s)


def fork(ctx: AppContext, extra: int = 3) -> None:
    """Serve a different history: swap one old leaf for another value and grow the tree, then sign it."""
    with _locked(ctx) as held, unit_of_work(ctx.sessions) as s:
        assert held
        _session_lock(s)
        victim = s.scalars(select(LogEntry).where(LogEntry.leaf_index == 0)).one()
        victim.leaf_input = hashlib.sha256(b"fork" + victim.leaf_input).digest()
        top = s.scalar(select(LogEntry.leaf_index).order_by(LogEntry.leaf_index.desc()).limit(1)) or 0
        for i in range(extra):
            s.add(LogEntry(leaf_input=os.urandom(32), leaf_index=top + 1 + i, created_at=utcnow()))
        s.flush()
        _rebuild(ctx, s)
