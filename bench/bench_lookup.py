"""Holder lookup latency with many licences in PostgreSQL, next to a bare round trip in the same run.

Run: ``.venv/bin/python -m bench.bench_lookup [--rows 10000000] [--payload-bytes 1024] [--queries 5000]``.
Prints one JSON object.

A fresh schema in the PostgreSQL test database gets the exchange's real tables (Alembic migrations), then
``--rows`` synthetic licence rows written with ``COPY`` (holders get 1–8 licences each, ``payload_enc`` is
``--payload-bytes`` random bytes, as an encrypted licence would be), then ``ANALYZE``. Reported: build time,
table and index sizes, and the latency of ``exchange.licences.repository.for_holder`` (what a counter pull and
the citizen's licence list run) for random existing holders through a SQLAlchemy session, beside the latency of
``SELECT 1`` over the same connection (the floor: one round trip). The schema is dropped at the end unless
``--keep``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from exchange.kit import migrate
from exchange.licences import repository
from schemas.catalogue import load_catalogue
from testkit.databases import postgres_url


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 3)


def _holder(i: int) -> str:
    return hashlib.sha256(f"bench-holder-{i}".encode()).hexdigest()


def _rows(n: int, payload_bytes: int, types: list[tuple[str, str, str]], seed: int) -> Iterator[tuple[object, ...]]:
    rng = random.Random(seed)
    payload = os.urandom(payload_bytes)  # one random block, rotated per row (COPY speed, not RNG speed)
    holder, left = 0, rng.randint(1, 8)
    today = date(2025, 1, 1)
    now = datetime.now(UTC)
    for i in range(n):
        if left == 0:
            holder, left = holder + 1, rng.randint(1, 8)
        left -= 1
        code, key, dept = types[i % len(types)]
        k = i % payload_bytes
        yield (f"1.2.156.3005.2.{code}.BENCH.{i:012d}.001.X", code, key, dept, _holder(holder), "111",
               hashlib.sha256(i.to_bytes(8, "big")).hexdigest(), payload[k:] + payload[:k], today, today, None,
               "valid", now)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--payload-bytes", type=int, default=1024)
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--keep", action="store_true", help="keep the schema (prints its name)")
    args = parser.parse_args()

    schema = f"bench_lookup_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url())
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{postgres_url()}{'&' if '?' in postgres_url() else '?'}options=-csearch_path%3D{schema}"
    engine = create_engine(url)
    result: dict[str, object] = {"bench": "holder_lookup", "python": platform.python_version(),
                                 "cpus": os.cpu_count(), "rows": args.rows, "payload_bytes": args.payload_bytes}
    try:
        migrate.upgrade(url)
        cat = load_catalogue()
        types = [(lt.code, lt.key, sorted(lt.issuing_departments)[0]) for lt in cat.licence_types.values()]
        with engine.begin() as conn:
            for dept in cat.departments.values():
                conn.execute(text("INSERT INTO departments (id, name, uscc, created_at) VALUES (:i, :n, :u, now())"),
                             {"i": dept.id, "n": dept.name, "u": dept.uscc})
        cols = ("licence_id, type_code, type_key, department_id, holder_hash, holder_code_type, content_digest, "
                "payload_enc, issued_on, valid_from, valid_until, status, created_at")
        t0 = time.perf_counter()
        holders = 0
        with engine.begin() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            with raw.cursor() as cur, cur.copy(f"COPY licences ({cols}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in _rows(args.rows, args.payload_bytes, types, seed=7):
                    copy.write_row(row)
        copy_s = time.perf_counter() - t0
        with engine.begin() as conn:
            conn.execute(text("ANALYZE licences"))
            holders = int(conn.execute(text("SELECT count(DISTINCT holder_hash) FROM licences")).scalar_one())
            sizes = conn.execute(text(
                "SELECT pg_relation_size('licences'), pg_indexes_size('licences'), "
                "pg_total_relation_size('licences')")).one()
        build_s = time.perf_counter() - t0
        result.update({
            "build_s": round(build_s, 1), "copy_s": round(copy_s, 1), "copy_rows_per_s": round(args.rows / copy_s),
            "holders": holders, "table_mb": round(sizes[0] / 2**20), "indexes_mb": round(sizes[1] / 2**20),
            "total_mb": round(sizes[2] / 2**20)})

        rng = random.Random(11)
        lookup_ms: list[float] = []
        floor_ms: list[float] = []
        found = 0
        with Session(engine) as session:
            session.execute(text("SELECT 1"))
            for _ in range(args.queries):  # interleaved: a burst of load elsewhere hits both alike
                t = time.perf_counter()
                session.execute(text("SELECT 1")).scalar_one()
                floor_ms.append((time.perf_counter() - t) * 1000)
                h = _holder(rng.randrange(holders))
                t = time.perf_counter()
                rows = repository.for_holder(session, h)
                lookup_ms.append((time.perf_counter() - t) * 1000)
                found += len(rows)
                session.expunge_all()
            plan = "\n".join(r[0] for r in session.execute(text(
                "EXPLAIN SELECT * FROM licences WHERE holder_hash = :h ORDER BY type_code, issued_on DESC"),
                {"h": _holder(1)}))
        result.update({
            "queries": args.queries, "mean_licences_per_lookup": round(found / args.queries, 2),
            "lookup_ms": {"p50": _pct(lookup_ms, 0.5), "p99": _pct(lookup_ms, 0.99), "max": _pct(lookup_ms, 1.0)},
            "floor_select_1_ms": {"p50": _pct(floor_ms, 0.5), "p99": _pct(floor_ms, 0.99)},
            "plan_uses_index": "Index Scan" in plan or "Bitmap" in plan,
        })
    finally:
        engine.dispose()
        if args.keep:
            result["schema"] = schema
        else:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
