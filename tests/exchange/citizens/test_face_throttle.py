"""The face lockout cannot be turned into a weapon, and brute force against one ID number is still throttled.

Real faces, the real dlib engine, real rate limits (in-process storage), on SQLite and PostgreSQL. Each client
address is a separate TestClient (``client=(address, port)``), as the exchange sees a caller behind no proxy.
The hard lock threshold is lowered to 4 here so the test stays short; the default (50) is far above what a
person produces.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from exchange.models import FaceLockout
from tests.exchange.citizens.test_face_gate import ASTRONAUT_PERSONA, HOPPER_PERSONA, frames_for, id_of
from tests.exchange.counter.flow import bearer, clerk_token
from tests.fixtures.databases import database_url
from tests.fixtures.exchange import ExchangeEnv, make_env
from tests.fixtures.metrics import face_outcomes

HARD_LOCK = 4
CITIZEN_HOME = "198.51.100.7"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExchangeEnv]:
    tmp = tmp_path_factory.mktemp(f"face-throttle-{request.param}")
    with database_url(request.param, tmp) as url:
        yield from make_env(tmp, url, request.param, face_max_failures=HARD_LOCK, face_lockout_s=600,
                            face_fail_throttle="3/minute;5/hour", rate_face_id_new="6/minute")


def client_at(env: ExchangeEnv, address: str) -> TestClient:
    return TestClient(env.client.app, base_url="http://testserver", client=(address, 40000))


def challenge(client: TestClient, env: ExchangeEnv, persona: int) -> Any:
    return client.post("/api/v1/citizen/face/challenge", json={"id_number": id_of(env, persona)})


def login(client: TestClient, challenge_id: str, frames: list[bytes]) -> Any:
    files = [("frames", (f"f{i}.jpg", data, "image/jpeg")) for i, data in enumerate(frames)]
    return client.post("/api/v1/citizen/face/login", data={"challenge_id": challenge_id}, files=files)


def attempt(client: TestClient, env: ExchangeEnv, persona: int, person: str) -> Any:
    ch = challenge(client, env, persona)
    if ch.status_code != 200:
        return ch
    return login(client, ch.json()["challenge_id"], frames_for(person, ch.json()["action"]))  # type: ignore[arg-type]


def test_attackers_from_other_addresses_cannot_lock_the_citizen_out(env: ExchangeEnv) -> None:
    counted = face_outcomes(env.client)
    home = client_at(env, CITIZEN_HOME)
    first = attempt(home, env, ASTRONAUT_PERSONA, "astronaut")  # the citizen logs in from her phone once
    assert first.status_code == 200, first.text

    # a script with one photo of somebody else, from many addresses, one attempt each
    for n in range(HARD_LOCK):
        resp = attempt(client_at(env, f"203.0.113.{10 + n}"), env, ASTRONAUT_PERSONA, "hopper")
        assert resp.status_code == 401 and resp.json()["error"] == "FACE_MISMATCH", resp.text
    assert "locked_until" in resp.json()["detail"]
    locked = challenge(client_at(env, "203.0.113.99"), env, ASTRONAUT_PERSONA)
    assert locked.status_code == 423 and locked.json()["error"] == "LOCKED"  # strangers are locked out …

    again = attempt(home, env, ASTRONAUT_PERSONA, "astronaut")  # … the citizen, from her own address, is not
    assert again.status_code == 200, again.text
    token = again.json()["token"]
    now = face_outcomes(env.client)
    assert {k: now[k] - counted.get(k, 0) for k in now if now[k] != counted.get(k, 0)} == {
        "match": 2, "no_match": HARD_LOCK, "locked": 1}

    # every failed attempt is in her usage log, with the (masked) address it came from
    log = home.get("/api/v1/citizen/usage", headers=bearer(token)).json()
    failed = [e for e in log if e["action"] == "face_login_failed"]
    assert len(failed) >= HARD_LOCK
    assert {e["subject"]["address"] for e in failed} == {"203.0.113.*"}
    assert all(e["subject"]["reason"] == "FACE_MISMATCH" for e in failed)

    # the counter is never locked: her QR still works at a window
    qr = home.post("/api/v1/citizen/qr", headers=bearer(token))
    assert qr.status_code == 200, qr.text
    scan = env.client.post("/api/v1/counter/scan", headers=bearer(clerk_token(env)),
                           json={"matter": "hpf_loan", "qr_text": qr.json()["qr_text"]})
    assert scan.status_code == 200, scan.text


def test_brute_force_against_one_id_is_throttled(env: ExchangeEnv) -> None:
    counted = face_outcomes(env.client)
    attacker = client_at(env, "192.0.2.66")
    for _ in range(3):
        resp = attempt(attacker, env, HOPPER_PERSONA, "astronaut")
        assert resp.status_code == 401 and resp.json()["error"] == "FACE_MISMATCH", resp.text
    assert resp.json()["detail"]["attempts_left"] == 0
    throttled = challenge(attacker, env, HOPPER_PERSONA)
    assert throttled.status_code == 429, throttled.text
    body = throttled.json()
    assert body["error"] == "RATE_LIMITED" and body["field"] == "id_number"
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    assert body["detail"]["retry_after"] == int(throttled.headers["Retry-After"])
    assert face_outcomes(env.client)["throttled"] - counted.get("throttled", 0) == 1

    # a challenge fetched before the throttle cannot be used to go on guessing either, and the refusal is logged
    with env.session() as s:
        hid = env.ctx.protector.holder_hash(id_of(env, HOPPER_PERSONA))
        row = s.get(FaceLockout, hid)
        assert row is not None and row.failures == 3 and row.locked_until is None  # 3 < the hard lock


def test_a_flood_from_many_addresses_is_limited_per_id_but_never_from_home(env: ExchangeEnv) -> None:
    env.ctx.rate_limits = None  # fresh counters and no hard lock left by the tests above
    with env.session() as s:
        s.execute(delete(FaceLockout))
        s.commit()
    home = client_at(env, CITIZEN_HOME)
    assert attempt(home, env, ASTRONAUT_PERSONA, "astronaut").status_code == 200
    codes = [challenge(client_at(env, f"203.0.114.{n}"), env, ASTRONAUT_PERSONA).status_code for n in range(8)]
    assert codes == [200] * 6 + [429] * 2, codes
    flooded = challenge(client_at(env, "203.0.114.200"), env, ASTRONAUT_PERSONA)
    assert flooded.json()["field"] == "id_number" and flooded.headers["Retry-After"]
    assert challenge(home, env, ASTRONAUT_PERSONA).status_code == 200  # her own address is not counted


def test_the_throttle_waits_grow() -> None:
    """The (ID, address) failure throttle is a cascade of windows: each exhausted window means a longer wait."""
    import time

    from exchange.kit.ratelimit import RateLimits

    limits = RateLimits({"face_fail_throttle": "2/minute;3/10minute;4/hour"})
    waits = []
    now = time.time()
    clock = [now]
    original = time.time
    try:
        time.time = lambda: clock[0]  # the in-process storage reads time.time()
        for _ in range(3):
            while limits.test("face_fail_throttle", "hid", "addr").allowed:
                limits.hit("face_fail_throttle", "hid", "addr")
            verdict = limits.test("face_fail_throttle", "hid", "addr")
            waits.append(verdict.retry_after)
            clock[0] += verdict.retry_after + 1
    finally:
        time.time = original
    assert waits[0] <= 60 < waits[1] <= 600 < waits[2] <= 3600, waits
