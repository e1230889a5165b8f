"""``/metrics`` after a counter flow (in process, and from ``licex serve --workers 2``), JSON logs with request
ids and no ID numbers or secrets."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text

from exchange.counter.provision import demo_clerk_passwords
from exchange.ops.logs import JsonFormatter, redact
from exchange.tlog.sequencer import sequence_all
from tests.exchange.citizens.test_face_gate import ASTRONAUT_PERSONA, attempt
from tests.exchange.counter.flow import PERSONA_A, bearer, citizen_token, clerk_token, decide, scan
from tests.fixtures.databases import database_url
from tests.fixtures.exchange import ExchangeEnv, make_env
from tests.fixtures.metrics import samples as _samples
from tests.fixtures.metrics import value as _value

ROOT = Path(__file__).resolve().parents[3]
PULL_ROUTE = "/api/v1/counter/cases/{case_id}/pull"


def _flow(client: httpx.Client | object, env: ExchangeEnv, clerk: str, citizen: str) -> int:
    case = scan(env, clerk, citizen)
    assert decide(env, citizen, case["consent_id"]).status_code == 200
    resp = env.client.post(f"/api/v1/counter/cases/{case['case_id']}/pull", headers=bearer(clerk))
    assert resp.status_code == 200, resp.text
    return len(resp.json()["licences"])


def test_metrics_after_a_counter_flow(exchange: ExchangeEnv) -> None:
    before = _samples(exchange.client.get("/metrics").text)
    clerk, citizen = clerk_token(exchange), citizen_token(exchange)
    pulled = _flow(exchange.client, exchange, clerk, citizen)
    resp = exchange.client.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    after = _samples(resp.text)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("licex_counter_flows_total", outcome="ok") == 1
    assert delta("licex_licences_verified_total", where="counter_pull", outcome="VALID") == pulled > 0
    assert delta("licex_http_request_duration_seconds_count", route=PULL_ROUTE, method="POST", status="2xx") == 1
    assert delta("licex_http_request_duration_seconds_count", route="/api/v1/counter/scan") == 1
    assert delta("licex_http_request_duration_seconds_bucket", route=PULL_ROUTE, le="+Inf") == 1
    # labels are templates and codes: nothing citizen-specific
    number = exchange.records.citizens[PERSONA_A].id_number
    assert number not in resp.text and "case_id=" not in resp.text


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def quiet_log(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExchangeEnv]:
    """An exchange whose process runs no log sequencer (as a replica where another one sequences): the test
    decides when the checkpoint is made."""
    tmp = tmp_path_factory.mktemp(f"exchange-quiet-log-{request.param}")
    with database_url(request.param, tmp) as url:
        yield from make_env(tmp, url, request.param, log_sequencer=False)


def test_every_named_series_after_a_counter_flow_and_the_sequencer_lag(quiet_log: ExchangeEnv) -> None:
    """Request latency per route template, counter flows, licences verified by outcome code, proofs sealed, face
    outcomes and the log sequencer's lag — each moved by this test, read from one scrape; then the lag goes to
    0 once the sequencer has checkpointed."""
    env = quiet_log
    sequence_all(env.ctx)
    before = _samples(env.client.get("/metrics").text)
    assert _value(before, "licex_log_sequencer_lag_entries") == 0
    clerk, citizen = clerk_token(env), citizen_token(env)
    pulled = _flow(env.client, env, clerk, citizen)
    env.ctx.rate_limits = None
    assert attempt(env, ASTRONAUT_PERSONA, "astronaut").status_code == 200  # a real face login
    proof = env.client.post("/api/v1/proofs", json={"type": "realty_query"}, headers=bearer(citizen_token(env, 3)))
    assert proof.status_code == 201, proof.text
    resp = env.client.get("/metrics")
    after = _samples(resp.text)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    for route, method in ((PULL_ROUTE, "POST"), ("/api/v1/counter/scan", "POST"), ("/api/v1/proofs", "POST"),
                          ("/api/v1/citizen/consents/{consent_id}", "POST"), ("/api/v1/citizen/face/login", "POST")):
        assert delta("licex_http_request_duration_seconds_count", route=route, method=method) == 1, route
        assert delta("licex_http_request_duration_seconds_bucket", route=route, method=method, le="+Inf") == 1
    assert delta("licex_counter_flows_total", outcome="ok") == 1
    assert delta("licex_licences_verified_total", where="counter_pull", outcome="VALID") == pulled > 0
    assert delta("licex_proofs_sealed_total", proof_type="realty_query") == 1
    assert delta("licex_face_outcomes_total", mode="local", outcome="match") == 1
    lag, age = _value(after, "licex_log_sequencer_lag_entries"), _value(after, "licex_log_sequencer_lag_seconds")
    assert lag >= 4 and age > 0  # scan, consent, pull, face login, proof: appended, no checkpoint yet
    # route labels are templates (no case id, licence id or ID number in any label): literal segments without
    # long digit runs, or {parameters}
    routes = {dict(ls)["route"] for (n, ls) in after if n.startswith("licex_http_request_duration_seconds")}
    segment = re.compile(r"\{[a-z_]+(:path)?\}|[A-Za-z._-]*[0-9]{0,2}[A-Za-z._-]*")
    templated = {r for r in routes if r in ("static", "unmatched") or (
        r.startswith("/") and all(segment.fullmatch(part) for part in r.split("/")[1:]))}
    assert routes == templated and PULL_ROUTE in routes, routes - templated
    number = env.records.citizens[PERSONA_A].id_number
    assert number not in resp.text

    assert sequence_all(env.ctx)
    checkpointed = _samples(env.client.get("/metrics").text)
    assert _value(checkpointed, "licex_log_sequencer_lag_entries") == 0
    assert _value(checkpointed, "licex_log_sequencer_lag_seconds") == 0


def test_the_sequencer_itself_publishes_the_lag(quiet_log: ExchangeEnv) -> None:
    """Without a scrape in between: the gauge the sequencer sets after its batch (entries appended since)."""
    from exchange.ops import metrics

    env = quiet_log
    scan(env, clerk_token(env), citizen_token(env))  # appends to the log
    with env.session() as s:
        pending = s.execute(text("select count(*) from tlog_entries where leaf_index is null")).scalar_one()
    assert pending > 0
    metrics.set_sequencer_lag(-1)  # a value only a measurement can replace
    assert sequence_all(env.ctx)
    assert REGISTRY.get_sample_value("licex_log_sequencer_lag_entries") == 0


def test_access_lines_are_json_with_request_ids_and_no_id_numbers(exchange: ExchangeEnv) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("licex.access")
    old_level = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        given = exchange.client.get("/api/v1/catalogue/licence-types", headers={"X-Request-ID": "req-given-123"})
        minted = exchange.client.get("/api/v1/catalogue/licence-types")
        bad = exchange.client.get("/api/v1/catalogue/licence-types", headers={"X-Request-ID": "bad id; drop"})
        clerk, citizen = clerk_token(exchange), citizen_token(exchange)
        _flow(exchange.client, exchange, clerk, citizen)
    finally:
        access.removeHandler(handler)
        access.setLevel(old_level)
    assert given.headers["x-request-id"] == "req-given-123"
    assert len(minted.headers["x-request-id"]) == 32
    assert bad.headers["x-request-id"] != "bad id; drop" and len(bad.headers["x-request-id"]) == 32
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines and all({"ts", "level", "logger", "msg", "request_id", "route", "status"} <= set(x) for x in lines)
    assert lines[0]["request_id"] == "req-given-123"
    ids = [x["request_id"] for x in lines]
    assert len(set(ids)) == len(ids)  # one id per request
    assert any(x["route"] == PULL_ROUTE for x in lines)
    text = stream.getvalue()
    assert exchange.records.citizens[PERSONA_A].id_number not in text
    assert "Bearer" not in text and clerk not in text and citizen not in text


def test_a_flow_with_a_real_id_number_leaves_it_in_no_log_line(exchange: ExchangeEnv) -> None:
    """Every logger at DEBUG while the ID number travels in requests (face challenge and login, a refused
    challenge with a wrong check digit, one in a query string and a path), a clerk logs in with her password and
    a counter flow runs: the captured JSON lines carry request ids and none of the number, the password, the
    tokens or the master key."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    number = exchange.records.citizens[ASTRONAUT_PERSONA].id_number
    password = demo_clerk_passwords(exchange.settings.data_dir)["clerk01"]
    exchange.ctx.rate_limits = None
    try:
        logged_in = attempt(exchange, ASTRONAUT_PERSONA, "astronaut")
        assert logged_in.status_code == 200, logged_in.text
        wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
        refused = exchange.client.post("/api/v1/citizen/face/challenge", json={"id_number": wrong})
        assert refused.status_code == 422
        assert exchange.client.get(f"/api/v1/catalogue/licence-types?id_number={number}").status_code == 200
        assert exchange.client.get(f"/api/v1/status/{number}").status_code in (404, 422)
        clerk = clerk_token(exchange)
        citizen = logged_in.json()["token"]
        _flow(exchange.client, exchange, clerk, citizen)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    text = stream.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    access = [x for x in lines if x["logger"] == "licex.access"]
    assert len(access) >= 9 and all(len(x["request_id"]) >= 8 for x in access)
    for secret in (number, wrong, password, clerk, citizen, exchange.settings.master_key_bytes().hex()):
        assert secret not in text
    assert number.lower() not in text.lower()


def test_redaction() -> None:
    assert redact("holder 430102197805120625 and 43010219780512062X") == (
        "holder 4301**********0625 and 4301**********062X")
    assert redact("Authorization: Bearer abc.def.ghi-123") == "Authorization: Bearer [redacted]"
    assert redact("case 12345 took 3 ms") == "case 12345 took 3 ms"


# -- licex serve --workers 2: every worker's samples in one scrape ---------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pg_exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExchangeEnv]:
    """The two-worker server runs on PostgreSQL only (SQLite serves one process in production)."""
    tmp = tmp_path_factory.mktemp("exchange-two-workers")
    with database_url("postgresql", tmp) as url:
        yield from make_env(tmp, url, "postgresql")


@pytest.fixture
def served(pg_exchange: ExchangeEnv, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    exchange = pg_exchange
    port = _free_port()
    log_path = tmp_path / "serve.log"
    env = {**os.environ, "LICEX_DATABASE_URL": exchange.settings.sqlalchemy_url, "LICEX_DEMO": "true",
           "LICEX_PUBLIC_BASE_URL": "http://testserver", "PYTHONPATH": str(ROOT), "LICEX_LOG_LEVEL": "INFO"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", "from exchange.cli import app; app()", "serve", "--data-dir",
                                 str(exchange.settings.data_dir), "--port", str(port), "--workers", "2"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, log_path.read_text()[-3000:]
                try:
                    if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
            yield url, log_path
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def test_two_workers_one_scrape(pg_exchange: ExchangeEnv, served: tuple[str, Path]) -> None:
    exchange = pg_exchange
    url, log_path = served
    clerk, citizen = clerk_token(exchange), citizen_token(exchange)
    flows = 6
    with httpx.Client(base_url=url, timeout=60) as client:
        before = _value(_samples(client.get("/metrics").text), "licex_counter_flows_total", outcome="ok")
        for _ in range(flows):  # new connection each time: the kernel spreads them over both workers
            with httpx.Client(base_url=url, timeout=60) as one:
                qr = one.post("/api/v1/citizen/qr", headers=bearer(citizen)).json()["qr_text"]
            with httpx.Client(base_url=url, timeout=60) as one:
                case = one.post("/api/v1/counter/scan", headers=bearer(clerk),
                                json={"matter": "hpf_loan", "qr_text": qr}).json()
            with httpx.Client(base_url=url, timeout=60) as one:
                assert one.post(f"/api/v1/citizen/consents/{case['consent_id']}", headers=bearer(citizen),
                                json={"decision": "approve"}).status_code == 200
            with httpx.Client(base_url=url, timeout=60) as one:
                assert one.post(f"/api/v1/counter/cases/{case['case_id']}/pull",
                                headers=bearer(clerk)).status_code == 200
        number = exchange.records.citizens[PERSONA_A].id_number  # the ID number travels to the server …
        assert client.post("/api/v1/citizen/face/challenge", json={"id_number": number}).status_code == 200
        wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
        assert client.post("/api/v1/citizen/face/challenge", json={"id_number": wrong}).status_code == 422
        scrapes = [_samples(client.get("/metrics").text) for _ in range(6)]
    for samples in scrapes:  # whichever worker answers, it reports both workers' flows
        assert _value(samples, "licex_counter_flows_total", outcome="ok") - before == flows
        assert _value(samples, "licex_http_request_duration_seconds_count", route=PULL_ROUTE) >= flows
    time.sleep(0.5)
    # stderr: the URL table `licex serve` prints at start, then one JSON object per log line
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith('{"ts"')]
    access = [x for x in lines if x.get("logger") == "licex.access"]
    assert len(access) >= 4 * flows, log_path.read_text()[-3000:]
    assert all(len(x["request_id"]) == 32 for x in access)
    assert len({x["pid"] for x in access}) == 2  # both workers served (and logged) requests
    assert any(x["route"] == "/api/v1/citizen/face/challenge" for x in access)
    assert number not in log_path.read_text() and wrong not in log_path.read_text()  # … and into no log line
