"""The usage transparency log: append throughput, event→checkpoint latency, proof time at 10M entries, tile
storage — each beside a baseline measured in the same run. Prints one JSON object.

Run: ``.venv/bin/python -m bench.bench_tlog [--postgres] [--seconds S] [--threads T] [--leaves N]``.

- ``appends``: T threads, each appending usage events for ONE hot holder in its own transaction (as requests do),
  for S seconds, with the sequencer running in the background every 0.5 s. Baseline: the previous design, a
  per-holder hash chain (read the holder's last entry, chain its hash, insert under a unique (holder, seq)
  constraint, retry up to 5 times on conflict) — same threads, same database, same duration.
- ``latency``: commit of an event → the first signed checkpoint that includes it (p50/p99, ms).
- ``proofs``: inclusion and consistency proofs computed from tiles for a synthetic tree of N leaves (default
  10M). The tree's upper tiles are built once (bounded build, timed); level-0 tiles are generated on demand.
  Baseline: the naive recompute over all leaf hashes (RFC 9162 PATH by recursion), at 2^20 leaves.
- ``storage``: bytes per million events of the published tiles and entry bundles, and of the database tables
  (tiles + entries), after appending ``--storage-events`` commitments in sequencer batches of 2,000.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError

from exchange.config import Settings
from exchange.context import AppContext
from exchange.kit import migrate
from exchange.kit.db import unit_of_work, utcnow
from exchange.tlog.models import LogCheckpoint, LogEntry, LogTile
from exchange.tlog.sequencer import sequence_all, sequencer_job
from exchange.usage import service as usage
from schemas.canonical import canonical_json
from verifier.tlog.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    perfect_root,
    verify_consistency,
    verify_inclusion,
)
from verifier.tlog.tiles import TILE_WIDTH, TileHashes

HOLDER = "ab" * 32
ACTOR = usage.Actor("clerk", "陈晓梅（clerk01）", "长沙市政务服务中心 A01号窗口")


@contextmanager
def _database(postgres: bool, tmp: Path) -> Any:
    if not postgres:
        yield f"sqlite:///{tmp / 'bench.sqlite'}"
        return
    base = os.environ.get("LICEX_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# --------------------------------------------------------------------------------------------- baseline chain

_meta = MetaData()
chain = Table(
    "bench_chain", _meta,
    Column("id", Integer, primary_key=True), Column("holder_hash", String(64)), Column("seq", Integer),
    Column("at", DateTime(timezone=True)), Column("action", String(32)), Column("actor", String(128)),
    Column("subject", JSON), Column("prev_hash", String(64)), Column("entry_hash", String(64)),
    UniqueConstraint("holder_hash", "seq"),
)


def chain_record(session: Any, holder: str) -> None:
    """The previous usage-log append, as it was: per-holder chain, 5 attempts."""
    for _ in range(5):
        last = session.execute(select(chain.c.seq, chain.c.entry_hash).where(chain.c.holder_hash == holder)
                               .order_by(chain.c.seq.desc()).limit(1)).first()
        seq, prev = (last[0] + 1, last[1]) if last else (1, "0" * 64)
        at = utcnow()
        body = {"seq": seq, "at": at.isoformat(), "action": "pull", "actor": ACTOR.name, "subject": {}}
        digest = hashlib.sha256(prev.encode() + canonical_json(body)).hexdigest()
        try:
            with session.begin_nested():
                session.execute(insert(chain).values(holder_hash=holder, seq=seq, at=at, action="pull",
                                                     actor=ACTOR.name, subject={}, prev_hash=prev,
                                                     entry_hash=digest))
            return
        except IntegrityError:
            continue
    raise RuntimeError("could not append to the usage log after 5 attempts")


def _hammer(ctx: AppContext, fn: Any, threads: int, seconds: float) -> dict[str, Any]:
    ok, errors, lat = [0] * threads, [0] * threads, [[] for _ in range(threads)]  # type: list[list[float]]
    commits: list[list[tuple[int, float]]] = [[] for _ in range(threads)]
    stop = time.monotonic() + seconds
    barrier = threading.Barrier(threads)

    def run(i: int) -> None:
        barrier.wait()
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                with unit_of_work(ctx.sessions) as s:
                    entry = fn(s)
                ok[i] += 1
                if entry is not None:
                    commits[i].append((entry, time.time()))
            except Exception:
                errors[i] += 1
            lat[i].append(time.perf_counter() - t0)

    started = time.perf_counter()
    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - started
    all_lat = sorted(x for xs in lat for x in xs)
    return {"appends": sum(ok), "errors": sum(errors), "appends_per_s": round(sum(ok) / elapsed, 1),
            "request_p50_ms": round(1000 * all_lat[len(all_lat) // 2], 2) if all_lat else None,
            "request_p99_ms": round(1000 * all_lat[int(len(all_lat) * 0.99)], 2) if all_lat else None,
            "_commits": [c for cs in commits for c in cs]}


def bench_appends(postgres: bool, threads: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, _database(postgres, Path(tmp)) as url:
        settings = Settings(data_dir=Path(tmp) / "data", database_url=url, demo=True)
        migrate.upgrade(url)
        ctx = AppContext.build(settings)
        _meta.create_all(ctx.engine)
        try:
            sequence_all(ctx)  # first checkpoint (and the log key) before timing
            seq = sequencer_job(ctx, 0.5)
            seq.start()

            def new(s: Any) -> int:
                return usage.record(s, HOLDER, "pull", ACTOR, matter_key="hpf_loan", subject={"case_id": "x"}
                                    ).log_entry_id

            new_result = _hammer(ctx, new, threads, seconds)
            time.sleep(2.0)
            seq.stop()
            sequence_all(ctx)
            commits = dict(new_result.pop("_commits"))
            with ctx.sessions() as s:
                entries = {e.id: e.leaf_index for e in s.scalars(select(LogEntry).where(LogEntry.id.in_(
                    list(commits))))}
                cps = [(c.size, c.created_at) for c in s.scalars(select(LogCheckpoint).order_by(LogCheckpoint.size))]
            delays = []
            for eid, t_commit in commits.items():
                index = entries[eid]
                assert index is not None
                first = next(at for size, at in cps if size > index)
                delays.append(max(0.0, first.timestamp() - t_commit))
            delays.sort()
            latency = {"events": len(delays), "p50_ms": round(1000 * delays[len(delays) // 2], 1),
                       "p99_ms": round(1000 * delays[int(len(delays) * 0.99)], 1),
                       "max_ms": round(1000 * delays[-1], 1), "sequencer_interval_s": 0.5}
            base_result = _hammer(ctx, lambda s: chain_record(s, HOLDER), threads, seconds)
            base_result.pop("_commits")
        finally:
            ctx.close()
    return {"new_log": new_result, "baseline_per_holder_chain": base_result, "latency_event_to_checkpoint": latency}


def bench_storage(postgres: bool, n: int, batch: int = 2000) -> dict[str, Any]:
    """Append ``n`` commitments in sequencer batches of ``batch`` to an empty log, then measure."""
    from exchange.tlog import service as tlog

    with tempfile.TemporaryDirectory() as tmp, _database(postgres, Path(tmp)) as url:
        settings = Settings(data_dir=Path(tmp) / "data", database_url=url, demo=True)
        migrate.upgrade(url)
        ctx = AppContext.build(settings)
        try:
            sequence_all(ctx)
            db_file = Path(tmp) / "bench.sqlite"
            before = db_file.stat().st_size if db_file.exists() else 0
            t0 = time.perf_counter()
            for start in range(0, n, batch):
                with unit_of_work(ctx.sessions) as s:
                    for i in range(start, min(n, start + batch)):
                        tlog.append(s, hashlib.sha256(i.to_bytes(8, "big")).digest())
                sequence_all(ctx)
            elapsed = time.perf_counter() - t0
            out = _storage(ctx)
            if postgres:
                with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text("VACUUM tlog_tiles"))
                    conn.execute(text("VACUUM tlog_entries"))
                    size = conn.execute(text("select pg_total_relation_size('tlog_tiles') + "
                                             "pg_total_relation_size('tlog_entries')")).scalar_one()
                out["database_bytes_per_million_events"] = round(int(size) / n * 1_000_000)
                out["database_measured"] = "pg_total_relation_size(tlog_tiles + tlog_entries) after VACUUM"
            else:
                with ctx.engine.connect() as conn:
                    conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
                out["database_bytes_per_million_events"] = round((db_file.stat().st_size - before) / n * 1_000_000)
                out["database_measured"] = "SQLite file growth (tlog tables only) after a WAL checkpoint"
            out["bulk_append_and_sequence_per_s"] = round(n / elapsed)
        finally:
            ctx.close()
    return out


def _storage(ctx: AppContext) -> dict[str, Any]:
    with ctx.sessions() as s:
        size = s.scalar(select(func.max(LogEntry.leaf_index))) or 0
        tiles = s.execute(select(LogTile.level, func.count(), func.sum(func.length(LogTile.data)))
                          .group_by(LogTile.level)).all()
    size += 1
    by_level = {("entries" if lvl == -1 else f"level_{lvl}"): {"tiles": n, "bytes": int(b)} for lvl, n, b in tiles}
    total = sum(v["bytes"] for v in by_level.values())
    return {"log_size": size, "tile_bytes_by_level": by_level,
            "published_bytes_per_million_events": round(total / size * 1_000_000),
            "note": "tiles + entry bundles as published (hash tiles 32 B/leaf + upper levels, bundles 34 B/leaf)"}


# --------------------------------------------------------------------------------------------- proofs at 10M

def _leaf(i: int) -> bytes:
    return leaf_hash(i.to_bytes(8, "big"))


def _level0_tile(n: int, size: int) -> bytes:
    width = min(TILE_WIDTH, size - n * TILE_WIDTH)
    return b"".join(_leaf(n * TILE_WIDTH + i) for i in range(width))


def bench_proofs(leaves: int, samples: int = 200) -> dict[str, Any]:
    t0 = time.perf_counter()
    store: dict[tuple[int, int], bytes] = {}
    # bounded build: level-0 tile roots feed level 1, and so on; level-0 tiles themselves are not kept
    hashes = []
    for n in range(leaves // TILE_WIDTH):
        tile = _level0_tile(n, leaves)
        hashes.append(perfect_root([tile[i:i + 32] for i in range(0, len(tile), 32)]))
    level = 1
    while hashes:
        nxt = []
        for n in range(0, len(hashes), TILE_WIDTH):
            chunk = hashes[n:n + TILE_WIDTH]
            store[(level, n // TILE_WIDTH)] = b"".join(chunk)
            if len(chunk) == TILE_WIDTH:
                nxt.append(perfect_root(chunk))
        hashes, level = nxt, level + 1
    build_s = time.perf_counter() - t0

    def get(lvl: int, index: int, width: int) -> bytes:
        data = store.get((lvl, index))
        if data is None and lvl == 0:
            data = _level0_tile(index, leaves)  # what a DB read of that tile returns
        assert data is not None
        return data[:width * 32]

    import random
    rng = random.Random(7)
    th = TileHashes(leaves, get)
    root = th.root()
    idx = [rng.randrange(leaves) for _ in range(samples)]
    times = []
    for i in idx:
        t = time.perf_counter()
        proof = TileHashes(leaves, get).inclusion(i)  # fresh cache: every tile fetched again
        times.append(time.perf_counter() - t)
        assert verify_inclusion(_leaf(i), i, leaves, proof, root)
    ctimes = []
    for _ in range(20):
        m = rng.randrange(1, leaves)
        t = time.perf_counter()
        cproof = TileHashes(leaves, get).consistency(m)
        ctimes.append(time.perf_counter() - t)
        assert verify_consistency(m, leaves, cproof, TileHashes(m, get).root(), root)
    # baseline: naive recompute over the full list of leaf hashes, at 2^20 leaves (10M would take minutes)
    n_naive = 1 << 20
    all_leaves = [_leaf(i) for i in range(n_naive)]

    def sub(h: int, i: int) -> bytes:
        return perfect_root(all_leaves[i << h:(i + 1) << h])

    ntimes = []
    for i in idx[:5]:
        i %= n_naive - 1000
        t = time.perf_counter()
        proof = inclusion_proof(i, n_naive - 1000, sub)
        ntimes.append(time.perf_counter() - t)
    naive_c = time.perf_counter()
    consistency_proof(n_naive // 3, n_naive - 1000, sub)
    naive_c_s = time.perf_counter() - naive_c
    return {"leaves": leaves, "bounded_build_s": round(build_s, 1), "upper_tiles_kept": len(store),
            "inclusion_ms_p50": round(1000 * statistics.median(times), 3),
            "inclusion_ms_p99": round(1000 * sorted(times)[int(len(times) * 0.99)], 3),
            "consistency_ms_p50": round(1000 * statistics.median(ctimes), 3),
            "baseline_naive_recompute": {"leaves": n_naive - 1000,
                                         "inclusion_ms_p50": round(1000 * statistics.median(ntimes), 1),
                                         "consistency_ms": round(1000 * naive_c_s, 1)}}


def main() -> None:
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--leaves", type=int, default=10_000_000)
    parser.add_argument("--skip-proofs", action="store_true")
    parser.add_argument("--storage-events", type=int, default=200_000)
    args = parser.parse_args()
    out: dict[str, Any] = {"bench": "tlog", "machine": platform.machine(), "python": platform.python_version(),
                           "cpus": os.cpu_count(), "database": "postgresql" if args.postgres else "sqlite",
                           "threads": args.threads, "seconds": args.seconds, "at": datetime.now().isoformat()}
    out.update(bench_appends(args.postgres, args.threads, args.seconds))
    out["storage"] = bench_storage(args.postgres, args.storage_events)
    if not args.skip_proofs:
        out["proofs"] = bench_proofs(args.leaves)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
