"""Schemathesis (4.x) against a live exchange, for every role, on SQLite and PostgreSQL.

One real uvicorn server per database on a provisioned demo data directory (rate limits off, so the fuzzer's
traffic is not answered with 429s). For each role — anonymous, citizen, counter clerk, reviewer, and a department
client with each scope — ``schemathesis run`` drives the OpenAPI document through its examples, coverage,
fuzzing and stateful phases within a time budget, with two checks: ``not_a_server_error`` (no 5xx) and
``response_schema_conformance`` (every response matches the declared model, errors included). The run's JSON
report gives the number of cases; the test fails on any failure or error.

Bound: ``LICEX_FUZZ_EXAMPLES`` (default 10) generated examples per operation in the fuzzing phase, scaled by the
role's weight (the coverage phase adds its own, deterministic, cases). A count, not a clock: schemathesis's
``--max-time`` makes fuzzing repeat until the time is spent, and on a loaded machine a short clock can run out
before the first case. ``LICEX_FUZZ_CEILING_S`` (default 600) stops a role's run that takes far too long.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from exchange.auth.citizen import encrypt_id, issue_session
from exchange.config import Settings
from exchange.context import AppContext
from exchange.counter.provision import demo_clerk_passwords
from exchange.provision import CLIENT_SCOPES, demo_department_dir, provision
from issuers.demo import SystemOfRecord
from issuers.department import DepartmentSigner
from tests.fixtures.databases import database_url

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("LICEX_FUZZ_EXAMPLES", "10"))
CEILING_S = int(os.environ.get("LICEX_FUZZ_CEILING_S", "600"))
CHECKS = "not_a_server_error,response_schema_conformance"
PHASES = "examples,coverage,fuzzing,stateful"
DEPARTMENT = "psb"
RESULTS = Path(__file__).parents[1] / "artefacts" / "fuzz"


@dataclass
class Live:
    url: str
    settings: Settings
    db_kind: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    with database_url(request.param, tmp) as db_url:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        settings = Settings(data_dir=tmp / "data", database_url=db_url, demo=True, public_base_url=url)
        provision(settings, demo=True, citizens=16)
        env = {**os.environ, "LICEX_DATA_DIR": str(settings.data_dir), "LICEX_DATABASE_URL": db_url,
               "LICEX_DEMO": "true", "LICEX_PUBLIC_BASE_URL": url, "LICEX_RATE_LIMITS": "false",
               "LICEX_LOG_LEVEL": "WARNING"}
        log = (tmp / "server.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "exchange.app:create_app", "--factory",
                                 "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                                env=env, cwd=str(Path(__file__).parents[2]), stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                assert proc.poll() is None, (tmp / "server.log").read_text()[-3000:]
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.3)
            yield Live(url, settings, request.param)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
            server_log = (tmp / "server.log").read_text(errors="replace")
            assert "Traceback" not in server_log, server_log[-4000:]


# -- credentials for each role ---------------------------------------------------------------------------------

def citizen_token(live: Live) -> str:
    number = SystemOfRecord.generate(seed=2024, citizens=16).citizens[0].id_number
    ctx = AppContext.build(live.settings)
    try:
        return issue_session(ctx, holder_hash=ctx.protector.holder_hash(number), enc=encrypt_id(ctx, number),
                             method="test").token
    finally:
        ctx.close()


def clerk_token(live: Live, username: str) -> str:
    password = demo_clerk_passwords(live.settings.data_dir)[username]
    resp = httpx.post(f"{live.url}/api/v1/counter/login", json={"username": username, "password": password},
                      timeout=60)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["token"])


def department_token(live: Live, scope: str) -> str:
    ctx = AppContext.build(live.settings)
    try:
        dept = ctx.catalogue.departments[DEPARTMENT]
    finally:
        ctx.close()
    signer = DepartmentSigner.load(demo_department_dir(live.settings.data_dir, DEPARTMENT), dept,
                                   live.settings.key_passphrase_bytes())
    token_url = f"{live.url}/api/v1/oauth/token"
    resp = httpx.post(token_url, data={
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": signer.client_assertion(DEPARTMENT, token_url), "scope": scope}, timeout=60)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


# role → (weight of the time budget, operations to include (path regex, None = all))
ROLES: dict[str, tuple[int, str | None]] = {
    "anonymous": (3, None),
    "citizen": (4, r"^/api/v1/(citizen|proofs|proof-applications)"),
    "clerk": (2, r"^/api/v1/counter"),
    "reviewer": (2, r"^/api/v1/review"),
    **{f"department:{scope}": (2, r"^/api/v1/(licences|status|proofs/verify|oauth)") for scope in CLIENT_SCOPES},
}


def credentials(live: Live, role: str) -> str | None:
    if role == "anonymous":
        return None
    if role == "citizen":
        return citizen_token(live)
    if role == "clerk":
        return clerk_token(live, "clerk01")
    if role == "reviewer":
        return clerk_token(live, "review_psb")
    return department_token(live, role.split(":", 1)[1])


def run_schemathesis(live: Live, role: str, token: str | None, examples: int, out: Path) -> dict[str, Any]:
    binary = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    _weight, include = ROLES[role]
    out.mkdir(parents=True, exist_ok=True)
    cmd = [binary, "--no-color", "run", f"{live.url}/openapi.json", "--checks", CHECKS, "--phases", PHASES,
           "--max-examples", str(examples), "--workers", "1", "--seed", "7", "--request-timeout", "60",
           "--suppress-health-check", "all", "--report", "json", "--report-json-path", str(out / "report.json"),
           "--max-failures", "20"]
    if include:
        cmd += ["--include-path-regex", include]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=CEILING_S, check=False, cwd=out)
    (out / "stdout.txt").write_text(proc.stdout + proc.stderr)
    report: dict[str, Any] = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    report["_exit"] = proc.returncode
    report["_tail"] = (proc.stdout + proc.stderr)[-6000:]
    return report


def _case_count(report: dict[str, Any]) -> int:
    """Generated cases in a schemathesis JSON report (``test_cases.generated``)."""
    cases = report.get("test_cases")
    return int(cases.get("generated", -1)) if isinstance(cases, dict) else -1


@pytest.mark.parametrize("role", list(ROLES))
def test_schemathesis_finds_no_server_error_and_no_schema_violation(live: Live, role: str) -> None:
    examples = max(5, EXAMPLES * ROLES[role][0] // 2)
    out = RESULTS / live.db_kind / role.replace(":", "_")
    started = time.monotonic()
    report = run_schemathesis(live, role, credentials(live, role), examples, out)
    cases = _case_count(report)
    with (RESULTS / "cases.jsonl").open("a") as fh:
        fh.write(json.dumps({"db": live.db_kind, "role": role, "max_examples": examples, "cases": cases,
                             "seconds": round(time.monotonic() - started, 1), "exit": report["_exit"]}) + "\n")
    assert report["_exit"] == 0, report["_tail"]
    assert not report.get("failures") and not report.get("errors"), report["_tail"]
    assert cases > 0, report["_tail"]
