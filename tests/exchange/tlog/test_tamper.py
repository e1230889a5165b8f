"""Acceptance 2 (witness and `licex log verify` halves; the browser half is tests/e2e/test_usage_log_verify.py):
a rewritten event, a deleted event, a truncated log and a forked checkpoint are each detected."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from exchange.tlog.sequencer import sequence_all
from exchange.tlog.witness import run_once, witness_signer
from tests.exchange.counter.flow import bearer, citizen_token, clerk_token, decide, scan
from tests.exchange.tlog import tamper
from tests.exchange.tlog.helpers import checkpoint, log_key
from tests.fixtures.exchange import ExchangeEnv

LICEX = str(Path(sys.executable).parent / "licex")
PERSON = 6


def _flow(env: ExchangeEnv, person: int = PERSON) -> None:
    clerk, token = clerk_token(env), citizen_token(env, person)
    case = scan(env, clerk, token)
    assert decide(env, token, case["consent_id"]).status_code == 200
    assert env.client.post(f"/api/v1/counter/cases/{case['case_id']}/pull", headers=bearer(clerk)).status_code == 200


def _export(env: ExchangeEnv, path: Path, since: list[int] | None = None) -> dict[str, Any]:
    query = "".join(f"&consistency_from={m}" for m in since or [])
    resp = env.client.get(f"/api/v1/citizen/usage/export?{query}", headers=bearer(citizen_token(env, PERSON)))
    assert resp.status_code == 200, resp.text
    path.write_text(resp.text)
    data: dict[str, Any] = resp.json()
    return data


def _verify(env: ExchangeEnv, export: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LICEX_")}
    return subprocess.run([LICEX, "log", "verify", str(export), "--log-key", log_key(env.client).vkey, *extra],
                          env=base, capture_output=True, text=True, timeout=120)


class Baseline:
    def __init__(self, env: ExchangeEnv, tmp: Path) -> None:
        self.env, self.tmp = env, tmp
        _flow(env)
        _flow(env)
        sequence_all(env.ctx)
        self.vkey = log_key(env.client).vkey
        self.state = tmp / "witness"
        env.ctx.settings.log_witnesses = witness_signer(self.state, "witness.test/w1").verifier.vkey
        first = run_once("http://testserver", self.state, log_key=self.vkey, client=env.client)
        assert first.ok and first.cosigned, first
        self.cp, note = checkpoint(env.client)
        self.cp_file = tmp / "checkpoint.txt"
        self.cp_file.write_text(note)
        self.export_file = tmp / "export1.json"
        self.export = _export(env, self.export_file)
        assert len(self.export["events"]) >= 8
        ok = _verify(env, self.export_file, "--checkpoint", str(self.cp_file))
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "VALID" in ok.stdout

    def event(self, action: str) -> dict[str, Any]:
        return next(e for e in self.export["events"] if e["action"] == action)

    def witness(self) -> str:
        result = run_once("http://testserver", self.state, client=self.env.client)
        assert not result.ok, "the witness cosigned a tampered log"
        assert list(self.state.glob("alert-*.txt"))
        return str(result.problem)

    def verify(self) -> str:
        new = self.tmp / "export2.json"
        _export(self.env, new, since=[self.cp.size])
        res = _verify(self.env, new, "--checkpoint", str(self.cp_file), "--previous", str(self.export_file))
        assert res.returncode == 1, res.stdout + res.stderr
        assert "INVALID" in res.stdout
        return res.stdout


@pytest.fixture
def base(exchange: ExchangeEnv, tmp_path: Path) -> Baseline:
    return Baseline(exchange, tmp_path)


def test_untampered_log_keeps_verifying(base: Baseline) -> None:
    _flow(base.env)
    sequence_all(base.env.ctx)
    again = run_once("http://testserver", base.state, client=base.env.client)
    assert again.ok and again.size > base.cp.size
    new = base.tmp / "export2.json"
    _export(base.env, new, since=[base.cp.size])
    res = _verify(base.env, new, "--checkpoint", str(base.cp_file), "--previous", str(base.export_file))
    assert res.returncode == 0, res.stdout + res.stderr
    trust = base.tmp / "trust.jwt"
    trust.write_bytes(base.env.client.get("/api/v1/trust-list").content)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICEX_")}
    by_trust = subprocess.run([LICEX, "log", "verify", str(new), "--trust", str(trust), "--json"], env=env,
                              capture_output=True, text=True, timeout=120)
    assert by_trust.returncode == 0, by_trust.stdout + by_trust.stderr
    assert json.loads(by_trust.stdout)["valid"] is True
    cosigned = base.env.client.get("/log/checkpoint/cosigned")
    assert cosigned.status_code == 200 and cosigned.text.count("\u2014 ") == 2


def test_rewritten_event(base: Baseline) -> None:
    target = base.event("pull")
    # 1) content edited in the database only: the citizen's check fails on the commitment
    tamper.rewrite_content(base.env.ctx, target["seq"], "某冒名窗口")
    assert "REWRITTEN" in base.verify()
    # 2) content and log rewritten and re-signed: the witness and the saved checkpoint catch the fork
    tamper.rewrite_event(base.env.ctx, target["seq"], "某冒名窗口")
    assert "FORK" in base.witness()
    out = base.verify()
    assert "FORK" in out and "REWRITTEN" in out


def test_deleted_event(base: Baseline) -> None:
    target = base.event("pull")
    tamper.delete_content(base.env.ctx, target["seq"])
    assert "DELETED" in base.verify()
    other = base.event("consent_approved")
    tamper.delete_event(base.env.ctx, other["seq"], pad=5)  # hide it: the tree still grows
    assert "FORK" in base.witness()
    out = base.verify()
    assert "FORK" in out and "DELETED" in out


def test_truncated_log(base: Baseline) -> None:
    tamper.truncate(base.env.ctx, keep=base.cp.size - 3)
    assert "ROLLBACK" in base.witness()
    out = base.verify()
    assert "ROLLBACK" in out


def test_forked_checkpoint(base: Baseline) -> None:
    tamper.fork(base.env.ctx)
    assert "FORK" in base.witness()
    assert "FORK" in base.verify()


def test_cosignature_intake_refuses_strangers(exchange: ExchangeEnv, tmp_path: Path) -> None:
    sequence_all(exchange.ctx)
    _, note = checkpoint(exchange.client)
    resp = exchange.client.post("/log/cosignature", content=note.encode(), headers={"Content-Type": "text/plain"})
    assert resp.status_code == 422 and resp.json()["error"] == "INVALID_INPUT"
    assert exchange.client.post("/log/cosignature", content=b"\xff\xfe").status_code == 422
    assert exchange.client.post("/log/cosignature", content=b"x" * 20000).status_code in (413, 422)
    assert json.loads(exchange.client.get("/log/checkpoint").text.split("\n")[1]) >= 0
