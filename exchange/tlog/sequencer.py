"""The sequencer: gives pending entries their indices in batches, extends the tiles, signs a checkpoint.

Requests only insert entries (no shared row is touched, so no contention however hot a holder is). One sequencer
is active at a time across processes and replicas: on PostgreSQL a transaction-scoped advisory lock (keyed by
schema), on SQLite an exclusive file lock beside the database (SQLite has a single writer anyway). The tree size
is also advanced with a compare-and-set, so even two sequencers that both thought they held the lock could not
both extend the same tree.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text, update
from sqlalchemy.orm import Session

from verifier.tlog.merkle import HASH_SIZE, leaf_hash, perfect_root
from verifier.tlog.note import Checkpoint, sign_checkpoint
from verifier.tlog.tiles import ENTRIES, TILE_WIDTH, TileHashes, encode_bundle

from ..context import AppContext
from ..kit.db import unit_of_work, utcnow
from ..kit.periodic import PeriodicJob
from ..ops import metrics
from . import repository as repo
from .keys import log_signer
from .models import LogCheckpoint, LogState

log = logging.getLogger(__name__)
BATCH_LIMIT = 50_000


class LostRace(RuntimeError):
    pass


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _pg_lock(session: Session) -> bool:
    schema = session.execute(text("select current_schema()")).scalar_one()
    key = int.from_bytes(hashlib.sha256(f"licex-tlog:{schema}".encode()).digest()[:8], "big", signed=True)
    return bool(session.execute(text("select pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar_one())


def tile_hashes(session: Session, size: int) -> TileHashes:
    def get(level: int, index: int, width: int) -> bytes:
        row = repo.tile(session, level, index)
        if row is None or row.width < width:
            raise LookupError(f"tile {level}/{index} width {width} missing")
        return row.data[:width * HASH_SIZE]
    return TileHashes(size, get)


def _append_level(session: Session, level: int, count: int, items: list[bytes]) -> list[bytes]:
    """Append ``items`` (hashes, or encoded entries for ENTRIES) at position ``count`` of ``level``; returns the
    roots of the hash tiles this completed (the next level's new hashes)."""
    completed: list[bytes] = []
    pos = 0
    while pos < len(items):
        index, width = divmod(count, TILE_WIDTH)
        row = repo.tile(session, level, index) if width else None
        data = row.data if row is not None else b""
        take = min(TILE_WIDTH - width, len(items) - pos)
        data += b"".join(items[pos:pos + take])
        width += take
        repo.save_tile(session, level, index, width, data)
        if width == TILE_WIDTH and level != ENTRIES:
            completed.append(perfect_root([data[i:i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]))
        pos += take
        count += take
    return completed


def extend_tiles(session: Session, size: int, leaf_inputs: list[bytes]) -> int:
    """Write the tiles for ``leaf_inputs`` appended to a tree of ``size``; returns the new size."""
    _append_level(session, ENTRIES, size, [encode_bundle([x]) for x in leaf_inputs])
    hashes = [leaf_hash(x) for x in leaf_inputs]
    level = 0
    while hashes:
        hashes = _append_level(session, level, size >> (8 * level), hashes)
        level += 1
    return size + len(leaf_inputs)


def _sequence(ctx: AppContext, session: Session, limit: int) -> int | None:
    if session.get_bind().dialect.name == "postgresql" and not _pg_lock(session):
        return None
    st = repo.state(session, for_update=True)
    if st is None:
        st = LogState(id=repo.STATE_ID, size=0, root=hashlib.sha256(b"").digest(), updated_at=utcnow())
        session.add(st)
        session.flush()
    old_size = st.size
    batch = repo.pending(session, limit)
    latest = repo.latest_checkpoint(session)
    if not batch and latest is not None and latest.size == old_size:
        return old_size
    repo.assign_indices(session, [{"id": eid, "leaf_index": old_size + i} for i, (eid, _) in enumerate(batch)])
    new_size = extend_tiles(session, old_size, [leaf for _, leaf in batch])
    root = tile_hashes(session, new_size).root()
    result = session.execute(update(LogState).where(LogState.id == repo.STATE_ID, LogState.size == old_size)
                             .values(size=new_size, root=root, updated_at=utcnow()))
    moved = getattr(result, "rowcount", 0)
    if moved != 1:
        raise LostRace("another sequencer advanced the tree")
    if latest is None or latest.size != new_size:
        note = sign_checkpoint(Checkpoint(ctx.settings.log_origin, new_size, root), log_signer(ctx))
        session.add(LogCheckpoint(size=new_size, root=root, note=note, created_at=utcnow()))
    return new_size


def measure_lag(ctx: AppContext) -> tuple[int, float]:
    """Entries appended but not yet in a signed checkpoint, and the oldest one's age in seconds; published as
    ``licex_log_sequencer_lag_entries`` / ``_seconds``."""
    with ctx.sessions() as session:
        count, oldest = repo.backlog(session)
    age = (utcnow() - _aware(oldest)).total_seconds() if count and oldest is not None else 0.0
    metrics.set_sequencer_lag(count, age)
    return count, age


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # SQLite gives naive UTC


def install_lag_probe(ctx: AppContext) -> None:
    """Measure the backlog at every ``/metrics`` scrape of this process as well: it grows exactly when no
    sequencer runs, and a stuck or stopped sequencer cannot report that itself. Once per context."""
    if ctx.lag_probe is None:
        def probe() -> None:
            measure_lag(ctx)

        ctx.lag_probe = metrics.on_scrape(probe)


def remove_lag_probe(ctx: AppContext) -> None:
    remove, ctx.lag_probe = ctx.lag_probe, None
    if remove is not None:
        remove()


def sequence_once(ctx: AppContext, *, limit: int = BATCH_LIMIT) -> int | None:
    """Run one batch; returns the tree size after it, or None when another sequencer holds the lock. After a
    batch the sequencer publishes the backlog left (entries appended while it ran)."""
    lock_path = ctx.settings.data_dir / "tlog-sequencer.lock"
    with _file_lock(lock_path) as held:
        if not held:
            return None
        with unit_of_work(ctx.sessions) as session:
            size = _sequence(ctx, session, limit)
    measure_lag(ctx)
    return size


def sequence_all(ctx: AppContext, *, wait_s: float = 30.0) -> int | None:
    """Sequence until nothing is pending (CLI, tests); waits for a sequencer busy elsewhere (None if it stays
    busy for ``wait_s``)."""
    deadline = time.monotonic() + wait_s
    last: int | None = None
    while True:
        size = sequence_once(ctx)
        if size is None:
            if time.monotonic() > deadline:
                return last
            time.sleep(0.05)
            continue
        if size == last:
            return size
        last = size


def sequencer_job(ctx: AppContext, interval: float) -> PeriodicJob:
    """:func:`sequence_once` every ``interval`` seconds in a daemon thread of the serving process."""
    return PeriodicJob("tlog-sequencer", interval, lambda: sequence_once(ctx))
