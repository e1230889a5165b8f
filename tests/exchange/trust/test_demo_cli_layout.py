"""``licex demo`` / ``licex init --demo`` through the real CLI: the three parties side by side under the data dir
(``ca/``, ``departments/<id>/``, ``exchange/``); the exchange's directory, copied alone to another place, is served
by ``licex serve`` and holds the demo's licences (pushed by the departments over the API); commands accept the demo
root as well as its exchange part; a data dir from the earlier layout is refused with a clear message."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

LICEX = str(Path(sys.executable).parent / "licex")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICEX_")}
    return {**env, "LICEX_LOG_LEVEL": "WARNING", "LICEX_RATE_LIMITS": "false"}


def _licex(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([LICEX, *args], env=_env(), capture_output=True, text=True, timeout=300, check=False)
    if ok:
        assert res.returncode == 0, f"licex {' '.join(args)}\n{res.stdout}\n{res.stderr}"
    return res


def test_demo_parties_side_by_side_and_the_exchange_alone(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    out = _licex("init", "--demo", "--data-dir", str(root), "--citizens", "16")
    assert {p.name for p in root.iterdir()} == {"ca", "departments", "exchange"}
    assert (root / "ca" / "root.key").exists() and (root / "departments" / "blood" / "licence.key").exists()
    exchange = root / "exchange"
    assert (exchange / "pki" / "root.crt").exists() and not (exchange / "pki" / "root.key").exists()
    assert "push" in out.stderr and str(exchange) in out.stderr.replace("\n", "")

    # the demo root and its exchange part name the same exchange for other commands
    licences_a = tmp_path / "export-a"
    _licex("licences", "export", "--data-dir", str(root), "--out", str(licences_a))
    licences_b = tmp_path / "export-b"
    _licex("licences", "export", "--data-dir", str(exchange), "--out", str(licences_b))
    exported = sorted(p.name for p in licences_a.iterdir())
    assert len(exported) > 100 and exported == sorted(p.name for p in licences_b.iterdir())

    # the exchange's directory alone, somewhere else: it serves, with the pushed licences and its trust list
    alone = tmp_path / "elsewhere" / "state"
    shutil.copytree(exchange, alone)
    shutil.rmtree(root)
    port = _free_port()
    log_path = tmp_path / "serve.log"  # a file, not a pipe: an unread pipe fills up and blocks the server
    log = log_path.open("wb")
    proc = subprocess.Popen([LICEX, "serve", "--data-dir", str(alone), "--port", str(port)], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log_path.read_text(errors="replace")[-2000:]
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "licex serve did not come up"
            time.sleep(0.3)
        trust = httpx.get(f"{base}/api/v1/trust-list", timeout=10)
        assert trust.status_code == 200
        assert httpx.get(f"{base}/counter", timeout=10).status_code == 200
        status = httpx.get(f"{base}/api/v1/status-lists/{_any_list_id(alone)}", timeout=10,
                           headers={"Accept": "application/statuslist+jwt"})
        assert status.status_code == 200 and status.headers["content-type"].startswith("application/statuslist+jwt")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _any_list_id(exchange_dir: Path) -> str:
    import sqlite3

    with sqlite3.connect(exchange_dir / "exchange.sqlite") as conn:
        row = conn.execute("SELECT list_id FROM status_lists LIMIT 1").fetchone()
    return str(row[0])


def test_an_old_layout_demo_dir_is_refused_with_a_message(tmp_path: Path) -> None:
    old = tmp_path / "old"
    (old / "pki").mkdir(parents=True)
    (old / "pki" / "root.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    res = _licex("init", "--demo", "--data-dir", str(old), ok=False)
    assert res.returncode == 2
    message = " ".join(res.stderr.split())
    assert "earlier licex" in message and "new --data-dir" in message
    assert not (old / "exchange").exists() and json.dumps(sorted(p.name for p in old.iterdir())) == '["pki"]'
