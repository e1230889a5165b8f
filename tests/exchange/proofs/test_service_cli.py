"""``licex proof TYPE --holder ID --out FILE.pdf`` makes and records a sealed proof; ``licex verify FILE.pdf``
checks it offline against an exported trust list (exit 0 valid, 1 invalid)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from exchange.models import Proof
from tests.fixtures.exchange import ExchangeEnv


def _licex(exchange: ExchangeEnv, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LICEX_DATABASE_URL": exchange.settings.sqlalchemy_url, "LICEX_LOG_LEVEL": "WARNING"}
    env.pop("LICEX_MASTER_KEY", None)
    data_dir = [] if args[0] == "verify" else ["--data-dir", str(exchange.settings.data_dir)]  # verify: offline
    return subprocess.run([str(Path(sys.executable).parent / "licex"), *args, *data_dir], capture_output=True,
                          text=True, env=env, check=False)


def test_proof_then_offline_verify(exchange: ExchangeEnv, tmp_path: Path) -> None:
    person = exchange.records.persona(2)  # 王𠇔
    pdf = tmp_path / "proof.pdf"
    made = _licex(exchange, "proof", "realty_query", "--holder", person.id_number, "--out", str(pdf))
    assert made.returncode == 0, made.stderr
    info = json.loads(made.stdout)
    assert pdf.read_bytes().startswith(b"%PDF-")
    with exchange.session() as s:
        assert s.get(Proof, info["proof_id"]) is not None  # recorded, so department verification finds it

    trust = tmp_path / "trust.jws"
    exported = _licex(exchange, "trust", "export", "--with-status", "--out", str(trust))
    assert exported.returncode == 0, exported.stderr
    ok = _licex(exchange, "verify", str(pdf), "--trust", str(trust), "--json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    result = json.loads(ok.stdout)
    assert result["valid"] is True and result["subject"] == info["proof_id"]
    assert result["details"]["status"] == "valid"  # read from the bundled status list

    data = pdf.read_bytes()
    i = data.index(b"(licex)")
    (tmp_path / "bad.pdf").write_bytes(data[: i + 1] + b"L" + data[i + 2:])
    bad = _licex(exchange, "verify", str(tmp_path / "bad.pdf"), "--trust", str(trust), "--json")
    assert bad.returncode == 1 and json.loads(bad.stdout)["codes"] == ["TAMPERED"]


def test_proof_errors_exit_2(exchange: ExchangeEnv, tmp_path: Path) -> None:
    r = _licex(exchange, "proof", "no_criminal_record", "--holder", exchange.records.persona(0).id_number,
               "--out", str(tmp_path / "x.pdf"))
    assert r.returncode == 2 and "PROOF_TYPE_REVIEWED" in r.stderr
