"""Rate limits: shared across two server processes through Redis, 429 + Retry-After, trusted-proxy addresses.

The shared test starts two real uvicorn processes of the exchange on one data directory (SQLite and PostgreSQL),
both pointed at the machine's Redis with a key prefix unique to the run, and alternates requests between them:
the limit holds for the pair, not for each.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest

from exchange.config import Settings
from exchange.kit.ratelimit import RateLimits, client_address, parse_networks
from exchange.provision import provision
from tests.fixtures.databases import database_url

REDIS_URL = os.environ.get("LICEX_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # any connection failure means "not reachable"
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI but unreachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Pair:
    urls: list[str]
    prefix: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    redis_or_skip()
    tmp = tmp_path_factory.mktemp(f"rl-{request.param}")
    with database_url(request.param, tmp) as url:
        data_dir = tmp / "data"
        provision(Settings(data_dir=data_dir, database_url=url, demo=True), demo=True, citizens=16)
        prefix = f"licex-test-{uuid.uuid4().hex[:10]}"
        env = {**os.environ, "LICEX_DATA_DIR": str(data_dir), "LICEX_DATABASE_URL": url, "LICEX_DEMO": "true",
               "LICEX_REDIS_URL": REDIS_URL, "LICEX_RATE_LIMIT_PREFIX": prefix, "LICEX_LOG_LEVEL": "WARNING",
               "LICEX_RATE_LOGIN_USER": "5/minute", "LICEX_RATE_PUBLIC_CLIENT": "4/minute",
               "LICEX_RATE_TOKEN_CLIENT": "3/minute"}
        procs: list[subprocess.Popen[bytes]] = []
        logs: list[IO[bytes]] = []  # files, not pipes: an unread pipe fills up and blocks the server
        urls = []
        try:
            for _ in range(2):
                port = free_port()
                urls.append(f"http://127.0.0.1:{port}")
                logs.append(tempfile.TemporaryFile())  # noqa: SIM115 - closed in the finally below
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", "exchange.app:create_app", "--factory", "--host",
                     "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                    env={**env, "LICEX_PUBLIC_BASE_URL": urls[-1]}, cwd=str(Path(__file__).parents[2]),
                    stdout=subprocess.DEVNULL, stderr=logs[-1]))
            for url, proc, log in zip(urls, procs, logs, strict=True):
                _wait_up(url, proc, log)
            yield Pair(urls, prefix)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            for log in logs:
                log.close()
            _drop_keys(prefix)


def _wait_up(url: str, proc: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"server exited: {log.read().decode(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def _drop_keys(prefix: str) -> None:
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    for key in r.scan_iter(f"{prefix}:*"):
        r.delete(key)


def test_wrong_clerk_passwords_are_limited_across_two_processes(pair: Pair) -> None:
    codes = []
    for n in range(8):
        resp = httpx.post(f"{pair.urls[n % 2]}/api/v1/counter/login",
                          json={"username": "clerk01", "password": f"wrong-password-{n}"}, timeout=30)
        codes.append(resp.status_code)
        if resp.status_code == 429:
            body = resp.json()
            assert body["error"] == "RATE_LIMITED" and body["field"] == "username"
            assert 1 <= int(resp.headers["Retry-After"]) <= 60
    # 5 failures per username per minute in total — not 5 per process
    assert codes == [401] * 5 + [429] * 3, codes


def test_public_verification_is_limited_per_address_across_processes(pair: Pair) -> None:
    codes = [httpx.get(f"{pair.urls[n % 2]}/v/NO-SUCH-PROOF?format=json", timeout=30).status_code
             for n in range(6)]
    assert codes == [404] * 4 + [429] * 2, codes
    resp = httpx.post(f"{pair.urls[0]}/verify/check", json={"qr_text": "x"}, timeout=30)
    assert resp.status_code == 429 and "Retry-After" in resp.headers


def test_department_token_endpoint_is_limited(pair: Pair) -> None:
    codes = [httpx.post(f"{pair.urls[n % 2]}/api/v1/oauth/token", data={
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "not.a.jwt"}, timeout=30).status_code for n in range(5)]
    assert codes[:3] == [codes[0]] * 3 and codes[0] in (400, 401) and codes[3:] == [429, 429], codes


def test_counters_live_in_redis_under_the_prefix(pair: Pair) -> None:
    import redis

    keys = list(redis.Redis.from_url(REDIS_URL).scan_iter(f"{pair.prefix}:*"))
    assert keys, "the shared counters are in Redis"
    assert not any(b"clerk01" in k for k in keys)  # keys are hashed: no usernames or addresses in clear


def test_client_address_believes_forwarded_for_only_from_trusted_proxies() -> None:
    trusted = parse_networks(["10.0.0.0/8", "127.0.0.1"])
    assert client_address("203.0.113.5", "1.2.3.4", trusted) == "203.0.113.5"  # untrusted peer: header ignored
    assert client_address("10.1.2.3", "198.51.100.9", trusted) == "198.51.100.9"
    # a client cannot spoof by prepending: the rightmost untrusted hop is taken
    assert client_address("10.1.2.3", "1.1.1.1, 198.51.100.9, 10.9.9.9", trusted) == "198.51.100.9"
    assert client_address("10.1.2.3", "garbage", trusted) == "10.1.2.3"
    assert client_address("127.0.0.1", None, trusted) == "127.0.0.1"
    assert client_address("10.1.2.3", "198.51.100.9", []) == "10.1.2.3"  # no trusted proxies configured


def test_in_process_fallback_when_redis_is_unreachable() -> None:
    limits = RateLimits({"login_user": "2/minute"}, redis_url="redis://127.0.0.1:9/0")
    assert limits.backend == "memory" and "in-process" in limits.describe()
    assert [limits.hit("login_user", "u").allowed for _ in range(3)] == [True, True, False]
