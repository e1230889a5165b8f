"""Counter flow throughput and dynamic QR generation time, each against a naive baseline in the same run.

Run: ``.venv/bin/python -m bench.bench_counter [--counters 32] [--flows-per-counter 6] [--citizens 200]
[--database-url URL] [--workers 1]``; prints one JSON document.

Setup: a demo exchange is provisioned in a temporary directory (SQLite by default, or ``--database-url``), then
served by a real ``uvicorn`` process. The catalogue's matters need at most 4 licences from any one synthetic
citizen (household register and residence permit are alternatives), so the bench adds one bench-only matter
assembled from catalogue material definitions, needing 5 licence types: 居民身份证 (name, ID number), 居民户口簿
(name, ID, address), 社会保障卡, 结婚证 and 机动车驾驶证. Citizens holding all five are spread over the counters.

* ``flow``: ``--counters`` concurrent counters (async HTTP clients), each repeating: citizen asks for a dynamic
  QR → clerk scans it for the matter → citizen approves → clerk pulls (5 SD-JWT presentations, each verified
  against the trust list with the registry status). Reported: flows/s, p50/p99 flow latency, and the pull
  alone. Every pull must return 5 valid licences.
* ``flow_naive``: the same against a server where every pull rebuilds, re-signs and re-loads (verifies) the
  trust list instead of using the cached one, and the QR is drawn with ``qrcode``'s defaults (mask search).
* ``open_loop``: flows *started* at a fixed rate — 50 % and 80 % of the closed loop's throughput — for
  ``--open-loop`` seconds each: the latency a hall sees below saturation (measured from each flow's scheduled
  start). The closed loop's p99 is queueing at saturation by construction.
* ``cpu_ms_per_flow`` (in ``flow``, ``flow_naive`` and each floor run): CPU milliseconds per completed flow used by
  the server (uvicorn and its workers), the client (this process) and PostgreSQL — which of them bounds the run.
  The floor is bound by the client: one asyncio process of ``httpx`` spends more CPU per static request than the
  server does.
* ``qr``: time to mint one dynamic QR in process (token + HMAC + SVG with a fixed mask) vs the naive
  ``qrcode`` default (all 8 masks evaluated) for the same text.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import logging
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from bench.cpu import postgres_seconds, process_seconds
from exchange.cli import KEEP_ALIVE_S

BENCH_MATTER = "bench_five_licences"
BENCH_TYPES = ("resident_id_card", "household_register", "social_security_card", "marriage_certificate",
               "driving_licence")
ROOT = Path(__file__).resolve().parent.parent


# -- server side (imported by uvicorn in the server process) ---------------------------------------------------

def _bench_matter() -> Any:
    from schemas.catalogue import Material, MaterialAlternative, Matter, load_catalogue

    cat = load_catalogue()
    materials = []
    for type_key in BENCH_TYPES:
        lt = cat.licence_types[type_key]
        fields = [lt.holder_name_field, lt.holder_code_field]
        if type_key == "household_register":
            fields.append("household_address")
        materials.append(Material(id=type_key, name=lt.name, name_en=lt.name_en, required=True,
                                  satisfied_by=(MaterialAlternative(licence_type=type_key,
                                                                    fields=tuple(dict.fromkeys(fields))),)))
    return Matter(key=BENCH_MATTER, name="基准测试事项（五证）", name_en="Benchmark matter (five licences)",
                  department="psb", materials=tuple(materials))


def _naive_svg(text: str) -> str:
    import qrcode
    import qrcode.image.svg

    img = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage)  # defaults: mask search, level M
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue().decode()


class _NaiveTrust:
    """ASGI middleware: forget the cached trust list before every pull, so it is rebuilt, signed and loaded."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/pull"):
            scope["app"].state.ctx.trust_cache = None
        await self.app(scope, receive, send)


def make_app() -> Any:
    """uvicorn factory: the exchange app with the bench matter; naive when ``LICEX_BENCH_NAIVE=1``."""
    from exchange.app import create_app
    from exchange.config import Settings
    from exchange.context import AppContext

    settings = Settings()
    ctx = AppContext.build(settings)
    ctx.catalogue = replace(ctx.catalogue, matters={**ctx.catalogue.matters, BENCH_MATTER: _bench_matter()})
    app = create_app(settings, context=ctx)
    if os.environ.get("LICEX_BENCH_NAIVE") == "1":
        import exchange.qr.service as qr_service

        qr_service.render_svg = _naive_svg  # the naive baseline draws its QR codes with qrcode defaults
        app.add_middleware(_NaiveTrust)
    return app


# -- client side -----------------------------------------------------------------------------------------------

def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)


def _cpu_seconds(server: subprocess.Popen[bytes]) -> dict[str, float]:
    """CPU seconds used so far by the server (uvicorn and its workers), this client process and PostgreSQL's
    processes on this machine: the split that says which of them bounds a run."""
    import psutil

    root = psutil.Process(server.pid)
    return {"server": sum(process_seconds(p) for p in [root, *root.children(recursive=True)]),
            "client": process_seconds(psutil.Process()), "postgres": postgres_seconds()}


def _measured(server: subprocess.Popen[bytes], run: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """The run's result with the CPU milliseconds per completed flow of each party (``cpu_ms_per_flow``)."""
    before = _cpu_seconds(server)
    result = asyncio.run(run)
    after = _cpu_seconds(server)
    flows = max(1, int(result.get("flows", 0)))
    result["cpu_ms_per_flow"] = {k: round((after[k] - before[k]) * 1000 / flows, 2) for k in before}
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(env: dict[str, str], workers: int, naive: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "bench.bench_counter:make_app", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log",
         "--timeout-keep-alive", str(KEEP_ALIVE_S)],
        cwd=ROOT, env={**env, "LICEX_BENCH_NAIVE": "1" if naive else "0"}, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("server did not start")


FLOOR_PATH = "/static/css/kiosk-proofs.css"  # a small static file (5 KB) served by the same app


async def _run_floor(url: str, counters: int, per_counter: int) -> dict[str, Any]:
    """The floor: the same client and concurrency doing 4 GETs of a small static file per "flow"."""
    flow_ms: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=counters * 2, max_keepalive_connections=counters * 2)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def counter(rounds: int, record: bool) -> None:
            nonlocal errors
            for _ in range(rounds):
                start = time.perf_counter()
                for _step in range(4):
                    resp = await client.get(FLOOR_PATH)
                    errors += resp.status_code != 200
                if record:
                    flow_ms.append((time.perf_counter() - start) * 1000)

        await asyncio.gather(*(counter(1, False) for _ in range(counters)))
        started = time.perf_counter()
        await asyncio.gather(*(counter(per_counter, True) for _ in range(counters)))
        elapsed = time.perf_counter() - started
    return {"flows": len(flow_ms), "seconds": round(elapsed, 2), "flows_per_s": round(len(flow_ms) / elapsed, 1),
            "flow_ms": {"p50": _pct(flow_ms, 0.5), "p99": _pct(flow_ms, 0.99)}, "errors": errors}


async def _flow(client: httpx.AsyncClient, citizen: dict[str, str], clerk: dict[str, str]
                ) -> tuple[dict[str, float], str | None]:
    """One counter flow — QR → scan → approve → pull of 5 verified licences: the milliseconds of each step, or
    what went wrong."""
    steps: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        qr = (await client.post("/api/v1/citizen/qr", headers=citizen)).json()
        t1 = time.perf_counter()
        scan = await client.post("/api/v1/counter/scan", headers=clerk,
                                 json={"matter": BENCH_MATTER, "qr_text": qr["qr_text"]})
        t2 = time.perf_counter()
        if scan.status_code != 200:
            return steps, scan.text[:200]
        case = scan.json()
        await client.post(f"/api/v1/citizen/consents/{case['consent_id']}", headers=citizen,
                          json={"decision": "approve"})
        t3 = time.perf_counter()
        pulled = await client.post(f"/api/v1/counter/cases/{case['case_id']}/pull", headers=clerk)
        t4 = time.perf_counter()
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        return steps, f"{type(exc).__name__}: {exc}"[:200]
    lics = pulled.json().get("licences", []) if pulled.status_code == 200 else []
    if len(lics) != 5 or not all(lic["verification"]["valid"] for lic in lics):
        return steps, f"pull: {pulled.status_code} {len(lics)} licences"
    steps = {"qr": (t1 - t0) * 1000, "scan": (t2 - t1) * 1000, "consent": (t3 - t2) * 1000, "pull": (t4 - t3) * 1000}
    return steps, None


async def _run_flows(url: str, citizens: list[str], clerks: list[str], counters: int, per_counter: int
                     ) -> dict[str, Any]:
    flow_ms: list[float] = []
    pull_ms: list[float] = []
    step_ms: dict[str, list[float]] = {"qr": [], "scan": [], "consent": [], "pull": []}
    errors: list[str] = []
    limits = httpx.Limits(max_connections=counters * 2, max_keepalive_connections=counters * 2)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def counter(i: int, rounds: int, record: bool) -> None:
            citizen = {"Authorization": f"Bearer {citizens[i % len(citizens)]}"}
            clerk = {"Authorization": f"Bearer {clerks[i % len(clerks)]}"}
            for _ in range(rounds):
                steps, error = await _flow(client, citizen, clerk)
                if error is not None:
                    errors.append(error)
                elif record:
                    for name, took in steps.items():
                        step_ms[name].append(took)
                    flow_ms.append(sum(steps.values()))
                    pull_ms.append(steps["pull"])

        await asyncio.gather(*(counter(i, 1, False) for i in range(counters)))  # warm-up
        started = time.perf_counter()
        await asyncio.gather(*(counter(i, per_counter, True) for i in range(counters)))
        elapsed = time.perf_counter() - started
    return {"flows": len(flow_ms), "seconds": round(elapsed, 2), "flows_per_s": round(len(flow_ms) / elapsed, 1),
            "flow_ms": {"p50": _pct(flow_ms, 0.5), "p99": _pct(flow_ms, 0.99)},
            "pull_ms": {"p50": _pct(pull_ms, 0.5), "p99": _pct(pull_ms, 0.99)},
            "step_p50_ms": {k: _pct(v, 0.5) for k, v in step_ms.items() if v},
            "errors": len(errors), "first_error": errors[0] if errors else None}


async def _run_open_loop(url: str, citizens: list[str], clerks: list[str], rate: float, seconds: float
                         ) -> dict[str, Any]:
    """Open loop: flows *start* at a fixed rate (``rate`` per second, evenly spaced) whatever the server's
    latency, as counters in a hall do — unlike the closed loop, where 32 counters wait for each answer and so
    keep the server saturated. Latency is measured from each flow's scheduled start (no coordinated omission)."""
    flow_ms: list[float] = []
    errors: list[str] = []
    n = max(1, round(rate * seconds))
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def flow(i: int, due: float) -> None:
            citizen = {"Authorization": f"Bearer {citizens[i % len(citizens)]}"}
            clerk = {"Authorization": f"Bearer {clerks[i % len(clerks)]}"}
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            _steps, error = await _flow(client, citizen, clerk)
            if error is not None:
                errors.append(error)
                return
            flow_ms.append((time.perf_counter() - due) * 1000)

        start = time.perf_counter() + 0.2
        await asyncio.gather(*(flow(i, start + i / rate) for i in range(n)))
        elapsed = time.perf_counter() - start
    return {"offered_flows_per_s": round(rate, 1), "flows": len(flow_ms), "seconds": round(elapsed, 2),
            "completed_flows_per_s": round(len(flow_ms) / elapsed, 1),
            "flow_ms": {"p50": _pct(flow_ms, 0.5), "p90": _pct(flow_ms, 0.9), "p99": _pct(flow_ms, 0.99)},
            "errors": len(errors), "first_error": errors[0] if errors else None}


def _qr_times(repeat: int) -> dict[str, Any]:
    from exchange.qr.service import render_svg
    from schemas import qrtoken

    texts = [qrtoken.encode(qrtoken.QrToken(1, os.urandom(16), 1_900_000_000 + i, os.urandom(16)))
             for i in range(repeat)]

    def timed(fn: Callable[[str], object]) -> dict[str, float]:
        samples = []
        for text in texts:
            t0 = time.perf_counter()
            fn(text)
            samples.append((time.perf_counter() - t0) * 1000)
        return {"median_ms": round(statistics.median(samples), 2), "p99_ms": _pct(samples, 0.99)}

    import segno

    version = segno.make(texts[0], error="m", mode="alphanumeric", boost_error=False).version
    return {"chars": len(texts[0]), "qr_version_at_M": version, "tuned_segno_fixed_mask": timed(render_svg),
            "naive_qrcode_defaults": timed(_naive_svg)}


def _setup(data_dir: Path, database_url: str | None, citizens: int) -> tuple[dict[str, str], list[str], list[str]]:
    from exchange.auth.citizen import encrypt_id, issue_session
    from exchange.config import Settings
    from exchange.context import AppContext
    from exchange.counter.provision import demo_clerk_passwords
    from exchange.provision import provision
    from issuers.demo import SystemOfRecord

    env = {**os.environ, "LICEX_DATA_DIR": str(data_dir), "LICEX_DEMO": "true", "LICEX_LOG_LEVEL": "WARNING",
           "LICEX_CITIZEN_SESSION_TTL_S": "3600", "LICEX_PUBLIC_BASE_URL": "http://127.0.0.1"}
    if database_url:
        env["LICEX_DATABASE_URL"] = database_url
    settings = Settings(data_dir=data_dir, database_url=database_url, demo=True, citizen_session_ttl_s=3600,
                        public_base_url="http://127.0.0.1")
    provision(settings, demo=True, citizens=citizens, seed=2024)
    # provisioning turns on INFO logging in this process; httpx would then log every request of the load (and of
    # the floor), costing the client CPU on the machine it shares with the server
    logging.getLogger("httpx").setLevel(logging.WARNING)
    records = SystemOfRecord.generate(seed=2024, citizens=citizens)
    holdings: dict[str, set[str]] = {}
    for draft in records.licences():
        holdings.setdefault(draft.holder_code, set()).add(draft.type_key)
    eligible = [code for code, types in holdings.items() if set(BENCH_TYPES) <= types]
    ctx = AppContext.build(settings)
    tokens = [issue_session(ctx, holder_hash=ctx.protector.holder_hash(code), enc=encrypt_id(ctx, code),
                            method="bench").token for code in eligible]
    ctx.close()
    passwords = demo_clerk_passwords(data_dir)
    return env, tokens, [passwords["clerk01"], passwords["clerk02"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--counters", type=int, default=32)
    parser.add_argument("--flows-per-counter", type=int, default=6)
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--postgres", action="store_true",
                        help="a fresh schema in the PostgreSQL test database (LICEX_TEST_POSTGRES_URL)")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive server")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--qr-repeat", type=int, default=300)
    parser.add_argument("--open-loop", type=float, default=10.0, metavar="SECONDS",
                        help="after the closed loop, flows started at 50%% and 80%% of its rate for this long "
                             "each (0: skip)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="licex-bench-counter-"))
    with contextlib.ExitStack() as stack:
        if args.postgres and not args.database_url:
            from testkit.databases import database_url

            args.database_url = stack.enter_context(database_url("postgresql", tmp))
        _bench(args, tmp)


def _bench(args: argparse.Namespace, tmp: Path) -> None:
    try:
        t0 = time.perf_counter()
        env, citizens, passwords = _setup(tmp / "data", args.database_url, args.citizens)
        setup_s = time.perf_counter() - t0
        results: dict[str, Any] = {}
        runs = (("flow", False),) if args.no_naive else (("flow", False), ("flow_naive", True))
        for name, naive in runs:
            proc, url = _start(env, args.workers, naive)
            try:
                tokens = []  # one login per clerk account (logins are rate limited per username)
                for i, username in enumerate(("clerk01", "clerk02")):
                    resp = httpx.post(url + "/api/v1/counter/login", timeout=30,
                                      json={"username": username, "password": passwords[i]})
                    tokens.append(str(resp.json()["token"]))
                clerks = [tokens[i % 2] for i in range(args.counters)]
                if not naive:  # the floor before and after the flows, from the same server and client
                    floors = [_measured(proc, _run_floor(url, args.counters, args.flows_per_counter))]
                results[name] = _measured(proc, _run_flows(url, citizens, clerks, args.counters,
                                                           args.flows_per_counter))
                if not naive and args.open_loop:
                    capacity = results[name]["flows_per_s"]
                    results["open_loop"] = [
                        {"share_of_closed_loop": share,
                         **asyncio.run(_run_open_loop(url, citizens, clerks, share * capacity, args.open_loop))}
                        for share in (0.5, 0.8)]
                if not naive:
                    floors.append(_measured(proc, _run_floor(url, args.counters, args.flows_per_counter)))
                    results["floor_static_file"] = {
                        "path": FLOOR_PATH, "requests_per_flow": 4, "runs": floors,
                        "flows_per_s": round(statistics.mean(f["flows_per_s"] for f in floors), 1)}
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        results["qr"] = _qr_times(args.qr_repeat)
        results["flow_vs_floor"] = round(results["flow"]["flows_per_s"]
                                         / max(results["floor_static_file"]["flows_per_s"], 1e-9), 3)
        if "flow_naive" in results:
            results["speedup_flows_per_s"] = round(results["flow"]["flows_per_s"]
                                                   / max(results["flow_naive"]["flows_per_s"], 1e-9), 2)
        print(json.dumps({
            "bench": "counter", "python": platform.python_version(), "cpus": os.cpu_count(),
            "database": "postgresql" if args.database_url else "sqlite", "server_workers": args.workers,
            "counters": args.counters, "citizens_with_5_licences": len(citizens), "setup_s": round(setup_s, 1),
            **results}, ensure_ascii=False, indent=1))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
