"""Soak: many counters for a bounded time against ``licex serve --workers 2`` on PostgreSQL → errors and RSS growth.

Run: ``.venv/bin/python -m bench.bench_soak [--duration 600] [--counters 32] [--workers 2] [--warmup 30]
[--database-url URL]``; prints one JSON document.

Setup: a demo exchange is provisioned into a temporary data directory and a fresh schema of the PostgreSQL
database (``--database-url``, default the local server's ``test`` database; the schema is dropped at the end),
then served by ``licex serve --workers N`` (rate limits off: this measures the service, not the limiter).
``--counters`` concurrent counters (async HTTP clients) each repeat the counter flow: the citizen asks for a
dynamic QR → the clerk scans it → the citizen approves → the clerk pulls. Every non-200 answer or transport error
is an error.

Memory: the resident set of the server (the supervisor, its workers and their proof workers, summed) is sampled
every 5 s. The baseline is the RSS at the end of the warm-up, measured in the same run; ``rss_growth_pct`` is
the growth from it to the end of the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MATTER = "hpf_loan"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_bytes(pid: int) -> int:
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


class Soak:
    def __init__(self, base: str, clerk: str, citizens: list[str]) -> None:
        self.base = base
        self.clerk = clerk
        self.citizens = citizens
        self.statuses: Counter[str] = Counter()
        self.flows = 0
        self.requests = 0
        self.latencies: list[float] = []

    async def _call(self, client: httpx.AsyncClient, method: str, path: str, token: str, **kw: Any
                    ) -> httpx.Response | None:
        self.requests += 1
        try:
            resp = await client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kw)
        except httpx.HTTPError as exc:
            self.statuses[type(exc).__name__] += 1
            return None
        self.statuses[str(resp.status_code)] += 1
        return resp if resp.status_code == 200 else None

    async def flow(self, client: httpx.AsyncClient, citizen: str) -> None:
        t0 = time.perf_counter()
        qr = await self._call(client, "POST", "/api/v1/citizen/qr", citizen)
        if qr is None:
            return
        scan = await self._call(client, "POST", "/api/v1/counter/scan", self.clerk,
                                json={"matter": MATTER, "qr_text": qr.json()["qr_text"]})
        if scan is None:
            return
        case = scan.json()
        if await self._call(client, "POST", f"/api/v1/citizen/consents/{case['consent_id']}", citizen,
                            json={"decision": "approve"}) is None:
            return
        if await self._call(client, "POST", f"/api/v1/counter/cases/{case['case_id']}/pull", self.clerk) is None:
            return
        self.flows += 1
        self.latencies.append(time.perf_counter() - t0)

    async def run(self, counters: int, seconds: float) -> None:
        stop = time.monotonic() + seconds
        limits = httpx.Limits(max_connections=counters, max_keepalive_connections=counters)
        async with httpx.AsyncClient(base_url=self.base, timeout=120, limits=limits) as client:
            async def counter(i: int) -> None:
                citizen = self.citizens[i % len(self.citizens)]
                while time.monotonic() < stop:
                    await self.flow(client, citizen)

            await asyncio.gather(*(counter(i) for i in range(counters)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=600.0, help="seconds of load after the warm-up")
    ap.add_argument("--warmup", type=float, default=30.0, help="seconds of load before the RSS baseline")
    ap.add_argument("--counters", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--citizens", type=int, default=64)
    ap.add_argument("--database-url", default=os.environ.get("LICEX_BENCH_DATABASE_URL", DEFAULT_PG))
    args = ap.parse_args()

    from sqlalchemy import create_engine, text

    from exchange.auth.citizen import encrypt_id, issue_session
    from exchange.config import Settings
    from exchange.context import AppContext
    from exchange.counter.provision import demo_clerk_passwords
    from exchange.provision import provision
    from issuers.demo import SystemOfRecord

    # provisioning turns on INFO logging; httpx would then log every request of the load, costing the client CPU
    # on the machine it shares with the server
    logging.getLogger("httpx").setLevel(logging.WARNING)
    schema = f"soak_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.database_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in args.database_url else "?"
    db_url = f"{args.database_url}{sep}options=-csearch_path%3D{schema}"
    tmp = Path(tempfile.mkdtemp(prefix="licex-soak-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        settings = Settings(data_dir=tmp / "data", database_url=db_url, demo=True, public_base_url=base)
        provision(settings, demo=True, citizens=args.citizens)
        env = {**os.environ, "LICEX_DATA_DIR": str(settings.data_dir), "LICEX_DATABASE_URL": db_url,
               "LICEX_DEMO": "true", "LICEX_PUBLIC_BASE_URL": base, "LICEX_RATE_LIMITS": "false",
               "LICEX_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
        log = (tmp / "server.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-c", "from exchange.cli import app; app()", "serve", "--host",
                                 "127.0.0.1", "--port", str(port), "--workers", str(args.workers),
                                 "--data-dir", str(settings.data_dir)],
                                env=env, cwd=str(ROOT), stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        password = demo_clerk_passwords(settings.data_dir)["clerk01"]
        clerk = httpx.post(f"{base}/api/v1/counter/login", json={"username": "clerk01", "password": password},
                           timeout=60).json()["token"]
        ctx = AppContext.build(settings)
        try:
            people = SystemOfRecord.generate(seed=2024, citizens=args.citizens).citizens[:args.counters]
            citizens = [issue_session(ctx, holder_hash=ctx.protector.holder_hash(p.id_number),
                                      enc=encrypt_id(ctx, p.id_number), method="bench").token for p in people]
        finally:
            ctx.close()

        soak = Soak(base, clerk, citizens)
        samples: list[tuple[float, int]] = []
        started = time.monotonic()

        async def sample(until: float) -> None:
            while time.monotonic() < until:
                samples.append((round(time.monotonic() - started, 1), _rss_bytes(proc.pid)))  # type: ignore[union-attr]
                await asyncio.sleep(5)

        async def everything() -> tuple[int, int]:
            await soak.run(args.counters, args.warmup)
            baseline = _rss_bytes(proc.pid)  # type: ignore[union-attr]
            warm_flows = soak.flows
            end = time.monotonic() + args.duration
            await asyncio.gather(soak.run(args.counters, args.duration), sample(end))
            return baseline, warm_flows

        baseline_rss, warm_flows = asyncio.run(everything())
        final_rss = _rss_bytes(proc.pid)
        errors = sum(n for status, n in soak.statuses.items() if status != "200")
        lat = sorted(soak.latencies)
        result = {
            "bench": "soak", "python": platform.python_version(), "cpus": os.cpu_count(),
            "database": "postgresql", "workers": args.workers, "counters": args.counters,
            "warmup_s": args.warmup, "duration_s": args.duration,
            "flows": soak.flows, "flows_after_warmup": soak.flows - warm_flows,
            "flows_per_s": round((soak.flows - warm_flows) / args.duration, 2),
            "requests": soak.requests, "errors": errors, "statuses": dict(soak.statuses),
            "flow_p50_s": round(lat[len(lat) // 2], 3) if lat else None,
            "flow_p99_s": round(lat[int(len(lat) * 0.99)], 3) if lat else None,
            "baseline": {"what": "server RSS (all processes) at the end of the warm-up",
                         "rss_mb": round(baseline_rss / 1e6, 1)},
            "rss_end_mb": round(final_rss / 1e6, 1),
            "rss_growth_pct": round(100 * (final_rss - baseline_rss) / baseline_rss, 2) if baseline_rss else None,
            "rss_samples_mb": [(t, round(r / 1e6, 1)) for t, r in samples],
        }
        print(json.dumps(result, indent=2), flush=True)
    finally:
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
