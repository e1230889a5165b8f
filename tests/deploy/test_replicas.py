"""The docker-compose topology without Docker: two ``licex serve`` replicas behind HAProxy (Debian ``haproxy``,
``deploy/haproxy.cfg`` with 127.0.0.1 servers), one fresh PostgreSQL schema, Redis on 127.0.0.1.

Counter flows run through the balancer from several threads; a licence is revoked through replica A and a pull
through replica B refuses it (the pull reads the registry status in the same transaction: the cache bound is 0 s,
checked here as "at the very next pull"), and the signed status-list token served by B has the bit set at B's next
fetch; a department certificate revoked by the CA and imported with ``licex exchange import-crl`` (the operator's
own process) is refused by B's next pull and listed in B's trust list; a QR code redeemed through one replica is
refused by the other; replica B is killed with SIGKILL in the middle of the run and no flow fails.

Who retries: HAProxy retries a request that could not be sent (``retry-on conn-failure``, ``option redispatch``),
and a GET that got no answer; its health checks take B out within ~2 s. A POST that B received but never answered is
not replayed by the balancer (B may have committed it: a replay of the scan would find the QR used), and a request
sent on a pooled connection to B just as B died is answered 502 (``SH``) by the balancer; so the counter client
starts the flow again from a new QR code after a short pause (up to 3 attempts), and only on a transport failure or
a 502/503/504 from the balancer — never on an answer from the exchange. The test reports how many flows needed that.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from exchange.auth.citizen import encrypt_id, issue_session
from exchange.config import Settings
from exchange.context import AppContext
from exchange.counter.provision import demo_clerk_passwords
from exchange.provision import demo_ca_dir, demo_department_dir, provision
from issuers.ca import CaDir
from issuers.demo import SystemOfRecord
from issuers.department import DepartmentSigner
from tests.fixtures.databases import database_url
from verifier.status_list import STATUS_INVALID, STATUS_VALID, parse_status_list_token
from verifier.trust import TrustList

ROOT = Path(__file__).resolve().parents[2]
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
CITIZENS, SEED = 16, 2024
MATTER = "hpf_loan"
#: How long after a change through A (or an operator's CLI) a replica may still serve the old state: a licence
#: revoked through A — in a pull through B and in the signed status-list token served by B — and a department
#: certificate revoked by ``licex exchange import-crl`` — in B's verifications and B's trust list. Every
#: replica checks a version in PostgreSQL on each use (docs/scaling.md), so the bound is 0 s, checked here as
#: "at the very next request through B, with B's caches warm from just before the change".
STATUS_CACHE_BOUND_S = 0.0
TRUST_CACHE_BOUND_S = 0.0

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while True:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{url} did not become healthy"
        time.sleep(0.3)


@dataclass
class Topology:
    settings: Settings
    ctx: AppContext
    records: SystemOfRecord
    balancer: str
    replicas: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]]
    logs: dict[str, Path] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


def _redis_ok() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    if not os.path.exists(HAPROXY):
        if os.environ.get("CI") == "true":
            pytest.fail("haproxy is not installed (scripts/bootstrap.sh dev installs it)")
        pytest.skip("haproxy is not installed (scripts/bootstrap.sh dev installs it)")
    if not _redis_ok():
        if os.environ.get("CI") == "true":
            pytest.fail("Redis does not answer on 127.0.0.1:6379")
        pytest.skip("Redis does not answer on 127.0.0.1:6379")
    tmp = tmp_path_factory.mktemp("replicas")
    with database_url("postgresql", tmp) as url:
        balancer_port = _free_port()
        base = f"http://127.0.0.1:{balancer_port}"
        settings = Settings(data_dir=tmp / "data", database_url=url, demo=True, public_base_url=base)
        provision(settings, demo=True, citizens=CITIZENS, seed=SEED)
        ctx = AppContext.build(settings)
        env = {**os.environ, "LICEX_DATABASE_URL": url, "LICEX_DEMO": "true", "LICEX_PUBLIC_BASE_URL": base,
               "LICEX_REDIS_URL": "redis://127.0.0.1:6379/0", "LICEX_TRUSTED_PROXIES": '["127.0.0.1/32"]',
               "LICEX_RATE_LIMIT_PREFIX": f"licex-replica-test-{uuid.uuid4().hex[:8]}",
               "LICEX_LOG_LEVEL": "INFO", "PYTHONPATH": str(ROOT)}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        procs: dict[str, subprocess.Popen[bytes]] = {}
        replicas: dict[str, str] = {}
        logs: dict[str, Path] = {}
        try:
            for name in ("a", "b"):
                port = _free_port()
                logs[name] = tmp / f"replica-{name}.log"
                procs[name] = subprocess.Popen(
                    [sys.executable, "-c", "from exchange.cli import app; app()", "serve", "--data-dir",
                     str(settings.data_dir), "--host", "127.0.0.1", "--port", str(port)],
                    cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=logs[name].open("wb"))
                replicas[name] = f"http://127.0.0.1:{port}"
            for name in replicas:
                _wait_healthy(replicas[name], procs[name], logs[name])
            cfg = (ROOT / "deploy" / "haproxy.cfg").read_text()
            servers = "\n".join(f"    server {name} {u.removeprefix('http://')} check"
                                for name, u in replicas.items())
            cfg, n = re.subn(r"^    server-template .*$", servers, cfg, flags=re.M)
            assert n == 1
            cfg = cfg.replace("    bind :8000", f"    bind 127.0.0.1:{balancer_port}")
            cfg = re.sub(r"(?ms)^resolvers docker.*?(?=^frontend)", "", cfg)
            (tmp / "haproxy.cfg").write_text(cfg)
            logs["haproxy"] = tmp / "haproxy.log"
            procs["haproxy"] = subprocess.Popen([HAPROXY, "-db", "-f", str(tmp / "haproxy.cfg")],
                                                stdout=logs["haproxy"].open("wb"), stderr=subprocess.STDOUT)
            _wait_healthy(base, procs["haproxy"], logs["haproxy"])
            yield Topology(settings, ctx, SystemOfRecord.generate(seed=SEED, citizens=CITIZENS), base, replicas,
                           procs, logs, env)
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.terminate()
            for proc in procs.values():
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            ctx.close()


def _citizen(topo: Topology, index: int) -> str:
    number = topo.records.citizens[index].id_number
    return issue_session(topo.ctx, holder_hash=topo.ctx.protector.holder_hash(number),
                         enc=encrypt_id(topo.ctx, number), method="test").token


def _clerk(url: str, topo: Topology, username: str) -> str:
    password = demo_clerk_passwords(topo.settings.data_dir)[username]
    resp = httpx.post(url + "/api/v1/counter/login", json={"username": username, "password": password}, timeout=60)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["token"])


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Unanswered(Exception):
    """The balancer had no replica answer (502/503/504)."""


def _ok(resp: httpx.Response, step: str) -> httpx.Response:
    if resp.status_code in (502, 503, 504):
        raise Unanswered(f"{step}: {resp.status_code}")
    assert resp.status_code == 200, f"{step}: {resp.status_code} {resp.text[:200]}"
    return resp


CLIENT_ATTEMPTS = 3


def _flow_retrying(client: httpx.Client, clerk: str, citizen: str) -> tuple[dict[str, Any], int]:
    """A counter flow as the counter app runs it: if a replica died under one of its requests (no answer, or
    a 502/503/504 from the balancer), start again from a new QR after a short pause — up to 3 attempts, while
    the balancer's health checks (1 s, fall 2) take the dead replica out."""
    for attempt in range(CLIENT_ATTEMPTS):
        try:
            return _flow(client, clerk, citizen), attempt
        except (httpx.TransportError, Unanswered):
            if attempt == CLIENT_ATTEMPTS - 1:
                raise
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def _flow(client: httpx.Client, clerk: str, citizen: str) -> dict[str, Any]:
    """QR → scan → approve → pull; raises AssertionError naming the failed step."""
    qr = _ok(client.post("/api/v1/citizen/qr", headers=_h(citizen)), "qr")
    assert qr.status_code == 200, f"qr: {qr.status_code} {qr.text[:200]}"
    scan = _ok(client.post("/api/v1/counter/scan", headers=_h(clerk),
                           json={"matter": MATTER, "qr_text": qr.json()["qr_text"]}), "scan")
    case = scan.json()
    _ok(client.post(f"/api/v1/citizen/consents/{case['consent_id']}", headers=_h(citizen),
                    json={"decision": "approve"}), "consent")
    pulled = _ok(client.post(f"/api/v1/counter/cases/{case['case_id']}/pull", headers=_h(clerk)), "pull")
    body: dict[str, Any] = pulled.json()
    return body


def _department_token(topo: Topology, url: str, department_id: str) -> str:
    dept = topo.ctx.catalogue.departments[department_id]
    signer = DepartmentSigner.load(demo_department_dir(topo.settings.data_dir, department_id), dept,
                                   topo.settings.key_passphrase_bytes())
    assertion = signer.client_assertion(department_id, topo.settings.public_base_url + "/api/v1/oauth/token")
    resp = httpx.post(url + "/api/v1/oauth/token", timeout=60, data={
        "grant_type": "client_credentials", "client_assertion_type":
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": assertion,
        "scope": "issue:licences manage:licences"})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def test_flows_through_the_balancer_reach_both_replicas(topology: Topology) -> None:
    clerk = _clerk(topology.balancer, topology, "clerk01")
    citizen = _citizen(topology, 0)
    with httpx.Client(base_url=topology.balancer, timeout=60) as client:
        for _ in range(4):
            body = _flow(client, clerk, citizen)
            assert body["licences"] and all(lic["verification"]["valid"] for lic in body["licences"])
    served = {name: log.read_text(errors="replace").count('"logger": "licex.access"')
              for name, log in topology.logs.items() if name in topology.replicas}
    assert all(count > 0 for count in served.values()), served


def test_a_qr_redeemed_through_one_replica_is_refused_by_the_other(topology: Topology) -> None:
    a, b = topology.replicas["a"], topology.replicas["b"]
    clerk, citizen = _clerk(a, topology, "clerk02"), _citizen(topology, 1)
    qr = httpx.post(a + "/api/v1/citizen/qr", headers=_h(citizen), timeout=60).json()["qr_text"]
    first = httpx.post(a + "/api/v1/counter/scan", headers=_h(clerk), json={"matter": MATTER, "qr_text": qr},
                       timeout=60)
    again = httpx.post(b + "/api/v1/counter/scan", headers=_h(clerk), json={"matter": MATTER, "qr_text": qr},
                       timeout=60)
    assert first.status_code == 200, first.text
    assert again.status_code in (400, 401, 403, 409, 410) and again.json()["error"], again.text


def test_rate_limits_are_shared_through_redis(topology: Topology) -> None:
    """Clerk logins are limited per username (10/minute): attempts spread over both replicas share one count."""
    a, b = topology.replicas["a"], topology.replicas["b"]
    codes = [httpx.post((a, b)[i % 2] + "/api/v1/counter/login", timeout=60,
                        json={"username": "nosuchclerk", "password": "wrong-password-123"}).status_code
             for i in range(14)]
    assert codes[:10] == [401] * 10 and codes[10:] == [429] * 4, codes  # the refused four came from A and B


def test_revoked_through_a_is_refused_through_b(topology: Topology) -> None:
    a, b = topology.replicas["a"], topology.replicas["b"]
    clerk, citizen = _clerk(b, topology, "clerk01"), _citizen(topology, 2)
    with httpx.Client(base_url=b, timeout=60) as client:
        before = _flow(client, clerk, citizen)["licences"]
    victim = next(lic for lic in before if lic["verification"]["valid"])
    with topology.ctx.sessions() as session:
        department = session.execute(text("select department_id from licences where licence_id = :i"),
                                     {"i": victim["licence_id"]}).scalar_one()
    token = _department_token(topology, a, department)
    revoked = httpx.post(f"{a}/api/v1/licences/{victim['licence_id']}/status", headers=_h(token), timeout=60,
                         json={"action": "revoke", "reason": "replica test"})
    assert revoked.status_code == 200, revoked.text
    revoked_at = time.monotonic()
    with httpx.Client(base_url=b, timeout=60) as client:
        after = _flow(client, clerk, citizen)["licences"]
    seen_after = time.monotonic() - revoked_at
    same = [lic for lic in after if lic["licence_id"] == victim["licence_id"]]
    assert all(not lic["verification"]["valid"] and "REVOKED" in lic["verification"]["codes"] for lic in same)
    assert seen_after >= STATUS_CACHE_BOUND_S  # refused at the very first pull after the revocation


def _status_bit(topo: Topology, url: str, list_id: str, idx: int) -> tuple[int, str]:
    """The entry ``idx`` of the signed Status List Token served by ``url`` (signature and signer checked
    against the exchange's trust list), and the token."""
    trust = TrustList.load(httpx.get(topo.balancer + "/api/v1/trust-list", timeout=60).content)
    resp = httpx.get(f"{url}/api/v1/status-lists/{list_id}", timeout=60)
    assert resp.status_code == 200, resp.text
    uri = f"{topo.settings.public_base_url.rstrip('/')}/api/v1/status-lists/{list_id}"
    token = parse_status_list_token(resp.text, trust, uri=uri)
    return token.status_list.get(idx), resp.text


def test_status_list_token_through_b_shows_a_revocation_made_through_a(topology: Topology) -> None:
    a, b = topology.replicas["a"], topology.replicas["b"]
    hid = topology.ctx.protector.holder_hash(topology.records.citizens[8].id_number)
    with topology.ctx.sessions() as session:
        licence_id, department, list_id, idx = session.execute(text(
            "select l.licence_id, l.department_id, s.list_id, a.idx from licences l"
            " join status_allocations a on a.kind = 'licence' and a.subject = l.licence_id"
            " join status_lists s on s.id = a.list_pk"
            " where l.holder_hash = :h and l.status = 'valid' order by l.licence_id limit 1"), {"h": hid}).one()
    before, old_token = _status_bit(topology, b, list_id, idx)  # B signs and caches the list
    assert before == STATUS_VALID and _status_bit(topology, b, list_id, idx)[1] == old_token  # served from cache
    token = _department_token(topology, a, department)
    revoked = httpx.post(f"{a}/api/v1/licences/{licence_id}/status", headers=_h(token), timeout=60,
                         json={"action": "revoke", "reason": "replica test"})
    assert revoked.status_code == 200, revoked.text
    revoked_at = time.monotonic()
    after, new_token = _status_bit(topology, b, list_id, idx)  # the very next fetch through B
    assert time.monotonic() - revoked_at >= STATUS_CACHE_BOUND_S
    assert after == STATUS_INVALID and new_token != old_token
    assert _status_bit(topology, a, list_id, idx)[0] == STATUS_INVALID


def test_a_department_certificate_revoked_by_the_operator_is_seen_through_b(topology: Topology) -> None:
    """The CA revokes a department's licence-signing certificate; the operator imports the CRL with ``licex
    exchange import-crl`` (its own process, on the shared database); replica B, whose trust list was warm, refuses
    that department's licences and publishes the revocation at its next request."""
    b = topology.replicas["b"]
    clerk, citizen = _clerk(b, topology, "clerk02"), _citizen(topology, 9)
    with httpx.Client(base_url=b, timeout=60) as client:
        warm = _flow(client, clerk, citizen)["licences"]  # B verifies with (and caches) the trust list
        listed = TrustList.load(client.get("/api/v1/trust-list").content)
    assert warm and all(lic["verification"]["valid"] for lic in warm)
    with topology.ctx.sessions() as session:
        department = session.execute(text("select department_id from licences where licence_id = :i"),
                                     {"i": warm[0]["licence_id"]}).scalar_one()
    dept = topology.ctx.catalogue.departments[department]
    signer = DepartmentSigner.load(demo_department_dir(topology.settings.data_dir, department), dept,
                                   topology.settings.key_passphrase_bytes())
    assert not listed.is_revoked(signer.licence_cert)
    ca = CaDir(demo_ca_dir(topology.settings.data_dir))
    ca.revoke(signer.licence_cert, "keyCompromise", topology.settings.key_passphrase_bytes())
    imported = subprocess.run(
        [sys.executable, "-c", "from exchange.cli import app; app()", "exchange", "import-crl", "--data-dir",
         str(topology.settings.data_dir), "--crl", str(ca.path / "root.crl")],
        cwd=ROOT, env=topology.env, capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0, imported.stderr[-2000:]
    assert json.loads(imported.stdout)["revoked"]
    changed_at = time.monotonic()
    with httpx.Client(base_url=b, timeout=60) as client:
        after = _flow(client, clerk, citizen)["licences"]  # the very next requests through B
        published = TrustList.load(client.get("/api/v1/trust-list").content)
    assert time.monotonic() - changed_at >= TRUST_CACHE_BOUND_S
    with topology.ctx.sessions() as session:
        signed_by = dict(session.execute(text("select licence_id, department_id from licences where holder_hash = :h"),
                                         {"h": topology.ctx.protector.holder_hash(
                                             topology.records.citizens[9].id_number)}).all())
    theirs = [lic for lic in after if signed_by.get(lic["licence_id"]) == department]
    assert theirs and all(not lic["verification"]["valid"] and "REVOKED" in lic["verification"]["codes"]
                          for lic in theirs)
    assert published.is_revoked(signer.licence_cert)


def test_killing_a_replica_mid_run_fails_no_flow(topology: Topology) -> None:
    clerks = [_clerk(topology.balancer, topology, name) for name in ("clerk01", "clerk02")]
    citizens = [_citizen(topology, i) for i in range(3, 7)]
    failures: list[str] = []
    done: list[int] = []
    restarted: list[int] = []
    stop = threading.Event()
    lock = threading.Lock()

    def counter(i: int) -> None:
        with httpx.Client(base_url=topology.balancer, timeout=60) as client:
            while not stop.is_set():
                try:
                    body, again = _flow_retrying(client, clerks[i % 2], citizens[i])
                    assert body["licences"], "pull returned no licences"
                    if again:
                        with lock:
                            restarted.append(i)
                except (AssertionError, httpx.HTTPError, Unanswered) as exc:
                    with lock:
                        failures.append(f"{type(exc).__name__}: {exc}")
                else:
                    with lock:
                        done.append(i)

    threads = [threading.Thread(target=counter, args=(i,)) for i in range(len(citizens))]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 120
        while len(done) < 8 and time.monotonic() < deadline:
            time.sleep(0.1)
        before_kill = len(done)
        topology.procs["b"].send_signal(signal.SIGKILL)  # mid-run, requests in flight
        topology.procs["b"].wait(timeout=30)
        while len(done) < before_kill + 12 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    unusual = [line for line in topology.logs["haproxy"].read_text(errors="replace").splitlines()
               if " 200 " not in line][-20:]
    assert not failures, (failures[:5], unusual)
    print(f"flows: {len(done)}, killed after {before_kill}, restarted by the client: {len(restarted)}")
    assert len(restarted) < len(done)  # only flows caught by the kill were restarted
    assert len(done) >= before_kill + 12, (before_kill, len(done))
    with httpx.Client(base_url=topology.balancer, timeout=60) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/metrics").status_code == 404  # denied at the balancer
