"""docker-compose.yml: no Docker engine runs here, so parse the file and run the same command it runs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from testkit.databases import database_url

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_shape_health_checks_and_secrets() -> None:
    doc = _compose()
    services = doc["services"]
    assert {"db", "exchange"} <= set(services)
    assert services["db"]["image"].startswith("postgres")
    assert "healthcheck" in services["db"] and "healthcheck" in services["exchange"]
    assert services["exchange"]["depends_on"]["db"]["condition"] == "service_healthy"
    env = services["exchange"]["environment"]
    assert env["LICEX_DATABASE_URL"].startswith("postgresql+psycopg://")
    for secret in ("LICEX_MASTER_KEY", "LICEX_KEY_PASSPHRASE"):
        assert ":?" in env[secret], f"{secret} must be required, not defaulted"
    assert ":?" in services["db"]["environment"]["POSTGRES_PASSWORD"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_compose_commands_run_against_postgres(tmp_path: Path) -> None:
    services = _compose()["services"]
    init_cmd, serve_cmd = services["init"]["command"], list(services["exchange"]["command"])
    assert init_cmd[0] == serve_cmd[0] == "licex"
    port = _free_port()
    serve_cmd[serve_cmd.index("--port") + 1] = str(port)
    serve_cmd[serve_cmd.index("--host") + 1] = "127.0.0.1"
    with database_url("postgresql", tmp_path) as url:
        env = {**os.environ, "LICEX_DATABASE_URL": url, "LICEX_DATA_DIR": str(tmp_path / "data"),
               "LICEX_MASTER_KEY": os.urandom(32).hex(), "LICEX_KEY_PASSPHRASE": "compose-test-passphrase",
               "LICEX_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
        env.pop("LICEX_DEMO", None)
        licex = str(Path(sys.executable).parent / "licex")
        # the offline CA makes the root; the exchange imports it, and installs the certificates for its own keys
        ca_env = {**env, "LICEX_CA_PASSPHRASE": "compose-test-ca-passphrase"}
        subprocess.run([licex, "ca", "init", "--dir", str(tmp_path / "ca")], env=ca_env, check=True,
                       capture_output=True, timeout=120)
        init_args = [licex, *init_cmd[1:]]
        init_args[init_args.index("--data-dir") + 1] = str(tmp_path / "data")
        init_args[init_args.index("--root-cert") + 1] = str(tmp_path / "ca" / "root.crt")
        subprocess.run(init_args, env=env, check=True, capture_output=True, timeout=120)
        answers = []
        for csr in (tmp_path / "data" / "pki").rglob("*.csr"):
            out = csr.with_suffix(".answer.pem")
            subprocess.run([licex, "ca", "sign", "--dir", str(tmp_path / "ca"), "--csr", str(csr), "--profile",
                            "exchange" if csr.name == "exchange.csr" else "seal", "--out", str(out)],
                           env=ca_env, check=True, capture_output=True, timeout=120)
            answers += ["--cert", str(out)]
        subprocess.run([licex, "exchange", "install-cert", "--data-dir", str(tmp_path / "data"), *answers],
                       env=env, check=True, capture_output=True, timeout=120)
        proc = subprocess.Popen([licex, *serve_cmd[1:], "--data-dir", str(tmp_path / "data")], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                    if r.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "server did not become healthy"
                time.sleep(0.3)
            assert httpx.get(f"http://127.0.0.1:{port}/api/v1/trust-list", timeout=5).status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def test_secrets_are_required_outside_demo(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICEX_")}
    licex = str(Path(sys.executable).parent / "licex")
    res = subprocess.run([licex, "init", "--data-dir", str(tmp_path)], env=env, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 2 and "LICEX_MASTER_KEY" in res.stderr
