"""Faults, each against a live exchange on a THROWAWAY PostgreSQL server (never the machine's shared one).

* PostgreSQL stopped hard and restarted during a burst of counter flows: requests fail as 503 JSON (no 500, no
  hung worker), the service recovers without a restart, and no case, consent or usage entry is half-written.
* ``kill -9`` of one of two workers in the middle of pulls: nothing partial is left behind.
* The data directory full or read-only while a proof is sealed: a clear 503, no crash (SQLite in the data dir;
  a real tmpfs mount, so root is needed — skipped otherwise).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from exchange.auth.citizen import encrypt_id, issue_session
from exchange.config import Settings
from exchange.context import AppContext
from exchange.counter.provision import demo_clerk_passwords
from exchange.models import Consent, CounterCase, UsageEntry
from exchange.provision import provision
from exchange.usage import service as usage_service
from issuers.demo import SystemOfRecord

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PG_BIN = Path(os.environ.get("LICEX_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
CITIZENS = 16
REPO = Path(__file__).parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- a throwaway PostgreSQL ----------------------------------------------------------------------------------

class ThrowawayPostgres:
    """initdb into a temp dir, run on a free port as the ``postgres`` user; stopped and removed at the end."""

    def __init__(self, root: Path | None = None) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.skip(f"no PostgreSQL binaries in {PG_BIN}")
        self.root = root or Path(tempfile.mkdtemp(prefix="licex-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_postgres = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync", "-N")
        self.start()
        self._run(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "licex")

    def _run(self, *cmd: str) -> None:
        subprocess.run([*self._as_postgres, *cmd], check=True, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/licex"

    def start(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60",
                  "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def pg() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres()
    try:
        yield server
    finally:
        server.destroy()


# -- a live exchange -------------------------------------------------------------------------------------------

@dataclass
class Live:
    url: str
    settings: Settings
    proc: subprocess.Popen[bytes]
    log: Path
    tokens: dict[str, str] = field(default_factory=dict)


def start_exchange(tmp: Path, db_url: str, *, workers: int = 1, data_dir: Path | None = None) -> Live:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(data_dir=data_dir or tmp / "data", database_url=db_url, demo=True, public_base_url=url)
    provision(settings, demo=True, citizens=CITIZENS)
    env = {**os.environ, "LICEX_DATA_DIR": str(settings.data_dir), "LICEX_DATABASE_URL": db_url,
           "LICEX_DEMO": "true", "LICEX_PUBLIC_BASE_URL": url, "LICEX_RATE_LIMITS": "false",
           "LICEX_LOG_LEVEL": "WARNING"}
    log = tmp / f"server-{port}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-c", "from exchange.cli import app; app()", "serve",
                                 "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                                 "--data-dir", str(settings.data_dir)],
                                env=env, cwd=str(REPO), stdout=fh, stderr=fh, start_new_session=True)
    live = Live(url, settings, proc, log)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    password = demo_clerk_passwords(settings.data_dir)["clerk01"]
    resp = httpx.post(f"{url}/api/v1/counter/login", json={"username": "clerk01", "password": password}, timeout=60)
    assert resp.status_code == 200, resp.text
    live.tokens["clerk"] = resp.json()["token"]
    ctx = AppContext.build(settings)
    try:
        for i, person in enumerate(SystemOfRecord.generate(seed=2024, citizens=CITIZENS).citizens[:8]):
            number = person.id_number
            live.tokens[f"citizen{i}"] = issue_session(ctx, holder_hash=ctx.protector.holder_hash(number),
                                                       enc=encrypt_id(ctx, number), method="test").token
    finally:
        ctx.close()
    return live


def stop_exchange(live: Live) -> str:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(live.proc.pid, signal.SIGTERM)
    try:
        live.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(live.proc.pid, signal.SIGKILL)
        live.proc.wait(timeout=10)
    return live.log.read_text(errors="replace")


# -- the counter flow, as a script at many windows ---------------------------------------------------------------

@dataclass
class Outcome:
    statuses: list[int] = field(default_factory=list)
    non_json: list[str] = field(default_factory=list)
    transport_errors: int = 0
    flows_ok: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _call(client: httpx.Client, out: Outcome, method: str, path: str, token: str, **kw: Any) -> Any:
    try:
        resp = client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kw)
    except httpx.TransportError:
        with out.lock:
            out.transport_errors += 1
        return None
    with out.lock:
        out.statuses.append(resp.status_code)
        if not resp.headers.get("content-type", "").startswith("application/json"):
            out.non_json.append(f"{resp.status_code} {path}: {resp.text[:200]}")
    return resp if resp.status_code == 200 else None


def counter_flow(client: httpx.Client, live: Live, out: Outcome, citizen: str) -> bool:
    clerk, who = live.tokens["clerk"], live.tokens[citizen]
    qr = _call(client, out, "POST", "/api/v1/citizen/qr", who)
    if qr is None:
        return False
    scan = _call(client, out, "POST", "/api/v1/counter/scan", clerk,
                 json={"matter": "hpf_loan", "qr_text": qr.json()["qr_text"]})
    if scan is None:
        return False
    body = scan.json()
    if _call(client, out, "POST", f"/api/v1/citizen/consents/{body['consent_id']}", who,
             json={"decision": "approve"}) is None:
        return False
    if _call(client, out, "POST", f"/api/v1/counter/cases/{body['case_id']}/pull", clerk) is None:
        return False
    with out.lock:
        out.flows_ok += 1
    return True


def burst(live: Live, out: Outcome, seconds: float, counters: int, during: Callable[[], None]) -> None:
    stop = time.monotonic() + seconds

    def window(i: int) -> None:
        with httpx.Client(base_url=live.url, timeout=120) as client:
            while time.monotonic() < stop:
                counter_flow(client, live, out, f"citizen{i % 8}")

    threads = [threading.Thread(target=window, args=(i,), daemon=True) for i in range(counters)]
    for t in threads:
        t.start()
    during()
    for t in threads:
        t.join(timeout=seconds + 180)
    assert not any(t.is_alive() for t in threads), "a request hung"


def assert_nothing_half_written(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    try:
        with Session(engine) as s:
            cases = {c.id: c for c in s.scalars(select(CounterCase))}
            consents = list(s.scalars(select(Consent)))
            entries = list(s.scalars(select(UsageEntry)))
            by_action: dict[str, set[str]] = {}
            for e in entries:
                case_id = (e.subject or {}).get("case_id")
                if case_id:
                    by_action.setdefault(e.action, set()).add(case_id)
            consent_cases = {c.case_id for c in consents}
            # every case came with its consent and both scan entries; a pulled case has its pull entry
            assert set(cases) == consent_cases
            assert set(cases) == by_action.get("counter_scan", set()) == by_action.get("consent_requested", set())
            pulled = {cid for cid, c in cases.items() if c.status == "pulled"}
            assert pulled == by_action.get("pull", set())
            approved = {c.case_id for c in consents if c.status == "approved"}
            assert approved == by_action.get("consent_approved", set())
            for holder in {e.holder_hash for e in entries}:
                ok, bad = usage_service.verify_holder(s, holder)  # commitment + log inclusion
                assert ok, f"usage entry {bad} does not match the transparency log"
            return {"cases": len(cases), "pulled": len(pulled), "usage_entries": len(entries)}
    finally:
        engine.dispose()


# -- the tests -------------------------------------------------------------------------------------------------

def test_postgres_restart_during_counter_burst(pg: ThrowawayPostgres, tmp_path: Path) -> None:
    live = start_exchange(tmp_path, pg.url)
    out = Outcome()
    try:
        def restart() -> None:
            time.sleep(4)
            pg.stop("immediate")  # a crash, as far as the exchange can tell
            time.sleep(4)
            pg.start()

        burst(live, out, seconds=16, counters=6, during=restart)
        # the same process serves again, with no restart
        after = Outcome()
        with httpx.Client(base_url=live.url, timeout=120) as client:
            ok = [counter_flow(client, live, after, "citizen0") for _ in range(3)]
        assert any(ok), after.statuses
    finally:
        server_log = stop_exchange(live)
    assert live.proc.returncode is not None
    assert 500 not in out.statuses, server_log[-4000:]
    assert set(out.statuses) <= {200, 503}, sorted(set(out.statuses))
    assert 503 in out.statuses, "the restart was not noticed: the test proved nothing"
    assert not out.non_json, out.non_json[:5]
    assert out.transport_errors == 0
    counts = assert_nothing_half_written(pg.url)
    print(f"\nrestart burst: {len(out.statuses)} requests, {out.statuses.count(503)} × 503, "
          f"{out.flows_ok} flows completed; {counts}")


def test_kill_one_worker_mid_pull_leaves_nothing_partial(pg: ThrowawayPostgres, tmp_path: Path) -> None:
    import psutil

    db = "licex_kill"
    subprocess.run([*pg._as_postgres, str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(pg.port),
                    "-U", "postgres", db], check=True, capture_output=True)
    db_url = pg.url.rsplit("/", 1)[0] + "/" + db
    live = start_exchange(tmp_path, db_url, workers=2)
    out = Outcome()
    killed: list[int] = []
    try:
        def kill_worker() -> None:
            time.sleep(4)
            # uvicorn's workers: the supervisor's direct children started by multiprocessing's spawn
            workers = [p for p in psutil.Process(live.proc.pid).children(recursive=False)
                       if "spawn_main" in " ".join(p.cmdline())]
            assert len(workers) == 2, [p.cmdline() for p in workers]
            target = workers[0]
            killed.append(target.pid)
            os.kill(target.pid, signal.SIGKILL)

        burst(live, out, seconds=12, counters=6, during=kill_worker)
        after = Outcome()
        with httpx.Client(base_url=live.url, timeout=120) as client:
            ok = [counter_flow(client, live, after, "citizen1") for _ in range(4)]
        assert any(ok), after.statuses
    finally:
        server_log = stop_exchange(live)
    assert killed
    assert 500 not in out.statuses, server_log[-4000:]
    assert set(out.statuses) <= {200, 503}, sorted(set(out.statuses))
    counts = assert_nothing_half_written(db_url)
    print(f"\nkill -9 worker {killed}: {len(out.statuses)} answered, {out.transport_errors} cut off, "
          f"{out.flows_ok} flows completed; {counts}")


# -- the data directory full or read-only while sealing --------------------------------------------------------

@pytest.fixture
def small_mount() -> Iterator[Path]:
    """A real 160 MB tmpfs: it can be filled, and remounted read-only (needs root; skipped otherwise)."""
    where = Path(tempfile.mkdtemp(prefix="licex-mnt-"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160m,mode=0755", "tmpfs", str(where)],
                          capture_output=True, check=False)
    if done.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)
        shutil.rmtree(where, ignore_errors=True)


def _remount(where: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(where)], check=True, capture_output=True)


def _fill(where: Path) -> Path:
    filler = where / "filler"
    with filler.open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 1_048_576)
                fh.flush()
        except OSError:
            pass
    return filler


def test_full_or_read_only_data_dir_when_sealing_is_a_clear_503(small_mount: Path) -> None:
    from fastapi.testclient import TestClient

    from exchange.app import create_app

    data_dir = small_mount / "data"
    # No background jobs here: the log sequencer's tick opens files in the data dir twice a second, and the
    # kernel refuses the read-only remount below while any file there is open for writing.
    settings = Settings(data_dir=data_dir, demo=True, public_base_url="http://testserver", log_sequencer=False)
    provision(settings, demo=True, citizens=CITIZENS)
    ctx = AppContext.build(settings)
    try:
        number = SystemOfRecord.generate(seed=2024, citizens=CITIZENS).citizens[3].id_number
        token = issue_session(ctx, holder_hash=ctx.protector.holder_hash(number), enc=encrypt_id(ctx, number),
                              method="test").token
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(create_app(settings, context=ctx), raise_server_exceptions=False) as client:
            def make() -> Any:
                return client.post("/api/v1/proofs", json={"type": "realty_query"}, headers=headers)

            assert make().status_code == 201
            count_before = _proof_count(ctx)

            ctx.engine.dispose()  # the kernel remounts read-only only with no file open for writing
            _remount(small_mount, "ro")
            try:
                refused = make()
            finally:
                _remount(small_mount, "rw")
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"] in ("UNAVAILABLE", "STORAGE_UNAVAILABLE")
            assert refused.headers["Retry-After"]

            filler = _fill(small_mount)
            try:
                full = make()
            finally:
                filler.unlink()
            assert full.status_code == 503, full.text
            assert full.json()["error"] in ("UNAVAILABLE", "STORAGE_UNAVAILABLE")

            assert _proof_count(ctx) == count_before  # nothing half-made
            again = make()  # the same process goes on once there is room again
            assert again.status_code == 201, again.text
            assert client.get("/healthz").status_code == 200
    finally:
        ctx.close()


def _proof_count(ctx: AppContext) -> int:
    from sqlalchemy import func

    from exchange.models import Proof

    with ctx.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Proof)) or 0)


def test_full_postgres_disk_when_sealing_is_a_clear_503(small_mount: Path, tmp_path: Path) -> None:
    """PostgreSQL's own data directory runs out of space while a proof is sealed and stored."""
    from fastapi.testclient import TestClient

    from exchange.app import create_app

    pg = ThrowawayPostgres(small_mount)
    try:
        settings = Settings(data_dir=tmp_path / "data", database_url=pg.url, demo=True,
                            public_base_url="http://testserver")
        provision(settings, demo=True, citizens=CITIZENS)
        ctx = AppContext.build(settings)
        try:
            number = SystemOfRecord.generate(seed=2024, citizens=CITIZENS).citizens[3].id_number
            token = issue_session(ctx, holder_hash=ctx.protector.holder_hash(number),
                                  enc=encrypt_id(ctx, number), method="test").token
            headers = {"Authorization": f"Bearer {token}"}
            with TestClient(create_app(settings, context=ctx), raise_server_exceptions=False) as client:
                def make() -> Any:
                    return client.post("/api/v1/proofs", json={"type": "realty_query"}, headers=headers)

                assert make().status_code == 201
                before = _proof_count(ctx)
                filler = _fill(small_mount)
                try:
                    answers = [make() for _ in range(3)]  # the first may still fit in a page already there
                finally:
                    filler.unlink()
                statuses = [a.status_code for a in answers]
                assert 500 not in statuses and 503 in statuses, [a.text[:200] for a in answers]
                for a in answers:
                    if a.status_code == 503:
                        assert a.json()["error"] == "UNAVAILABLE" and a.headers["Retry-After"]
                made_while_full = statuses.count(201)
                print(f"\nPostgreSQL disk full: {statuses}")
                deadline = time.monotonic() + 120  # PostgreSQL may have restarted itself; it comes back
                again = make()
                while again.status_code == 503 and time.monotonic() < deadline:
                    time.sleep(2)
                    again = make()
                assert again.status_code == 201, again.text
                assert _proof_count(ctx) == before + made_while_full + 1  # no half-stored proof
        finally:
            ctx.close()
    finally:
        pg.destroy()
