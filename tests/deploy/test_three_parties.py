"""Three parties, three tools (real subprocesses, SQLite and PostgreSQL): the offline city CA (``licex ca``), a
department in its own directory (``licex department``) and a production exchange (``licex init --root-cert``)
that holds only its own keys. A licence signed in the department's directory is pushed over HTTP and verifies;
a rotated key keeps the old licence valid; after all of it no file under the exchange's data directory and no row
of its database holds the root's or a department's licence-signing private key."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import create_engine, inspect, text

from testkit.databases import database_url

LICEX = str(Path(sys.executable).parent / "licex")
CA_PASS, DEPT_PASS, EXCHANGE_PASS = "ca-offline-passphrase", "department-passphrase", "exchange-passphrase"
FIELDS = {"cert_no": "HN20260009876", "name": "赵一", "sex": "男", "id_number": "430104199003070314",
          "blood_type": "A", "rh": "阳性", "donation_type": "全血", "volume_ml": 400, "donated_on": "2026-05-01",
          "donation_site": "湖南省血液中心"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def licex(*args: str, env: dict[str, str], ok: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([LICEX, *args], env=env, capture_output=True, text=True, timeout=300, check=False)
    if ok:
        assert res.returncode == 0, f"licex {' '.join(args)}\n{res.stdout}\n{res.stderr}"
    return res


def _spki(key: Any) -> bytes:
    data: bytes = key.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    return data


def _keys_in(blob: bytes, passphrases: list[bytes]) -> list[Any]:
    """Every private key this blob holds in any form we can open (PEM or DER, encrypted with a known
    passphrase or not)."""
    found = []
    for password in [None, *passphrases]:
        for load in (serialization.load_pem_private_key, serialization.load_der_private_key):
            try:
                found.append(load(blob, password=password))
            except (ValueError, TypeError):
                continue
    return found


@pytest.mark.parametrize("db_kind", ["sqlite", "postgresql"])
def test_ca_department_exchange_apart(db_kind: str, tmp_path: Path) -> None:
    with database_url(db_kind, tmp_path) as url:
        _run(url, tmp_path)


def _run(url: str, tmp: Path) -> None:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("LICEX_")}
    ca_env = {**base_env, "LICEX_CA_PASSPHRASE": CA_PASS}
    dept_env = {**base_env, "LICEX_DEPARTMENT_PASSPHRASE": DEPT_PASS}
    port = _free_port()
    ex_dir = tmp / "exchange"
    ex_env = {**base_env, "LICEX_DATABASE_URL": url, "LICEX_MASTER_KEY": os.urandom(32).hex(),
              "LICEX_KEY_PASSPHRASE": EXCHANGE_PASS, "LICEX_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    ca, dept = tmp / "ca", tmp / "departments" / "blood"

    # the CA, offline
    licex("ca", "init", "--dir", str(ca), env=ca_env)
    licex("ca", "export-root", "--dir", str(ca), "--out", str(tmp / "root.crt"), env=ca_env)
    # the exchange: production init without the root cert is refused; with it, only its own keys + CSRs
    assert licex("init", "--data-dir", str(ex_dir), env=ex_env, ok=False).returncode == 2
    licex("init", "--data-dir", str(ex_dir), "--root-cert", str(tmp / "root.crt"), env=ex_env)
    assert not (ex_dir / "pki" / "root.key").exists() and not (ex_dir / "issuers").exists()
    certs = []
    for csr in [ex_dir / "pki" / "exchange.csr", *sorted((ex_dir / "pki" / "seals").glob("*.csr"))]:
        profile = "exchange" if csr.name == "exchange.csr" else "seal"
        out = tmp / "answers" / f"{csr.parent.name}-{csr.stem}.crt"
        out.parent.mkdir(exist_ok=True)
        licex("ca", "sign", "--dir", str(ca), "--csr", str(csr), "--profile", profile, "--out", str(out), env=ca_env)
        certs += ["--cert", str(out)]
    licex("exchange", "install-cert", "--data-dir", str(ex_dir), *certs, env=ex_env)
    # a request for the wrong profile is refused by the CA
    assert licex("ca", "sign", "--dir", str(ca), "--csr", str(ex_dir / "pki" / "exchange.csr"), "--profile",
                 "licence", "--out", str(tmp / "x.crt"), env=ca_env, ok=False).returncode == 1

    # the department, in its own directory
    licex("department", "init", "--dir", str(dept), "--department", "blood", env=dept_env)

    def certify(csr: str, profile: str, name: str) -> Path:
        out = tmp / "answers" / name
        licex("ca", "sign", "--dir", str(ca), "--csr", str(dept / csr), "--profile", profile, "--out", str(out),
              env=ca_env)
        return out

    licence_crt, client_crt = certify("licence.csr", "licence", "blood-licence.crt"), certify(
        "client.csr", "client", "blood-client.crt")
    licex("department", "install-cert", "--dir", str(dept), "--cert", str(licence_crt), "--cert", str(client_crt),
          env=dept_env)
    licex("exchange", "enrol", "--data-dir", str(ex_dir), "--cert", str(licence_crt), "--cert", str(client_crt),
          env=ex_env)
    # a certificate from another CA is refused at enrolment
    rogue = tmp / "rogue"
    licex("ca", "init", "--dir", str(rogue), env=ca_env)
    rogue_crt = tmp / "answers" / "rogue.crt"
    licex("ca", "sign", "--dir", str(rogue), "--csr", str(dept / "licence.csr"), "--profile", "licence",
          "--out", str(rogue_crt), env=ca_env)
    assert licex("exchange", "enrol", "--data-dir", str(ex_dir), "--cert", str(rogue_crt), env=ex_env,
                 ok=False).returncode == 1

    fields = tmp / "fields.json"
    fields.write_text(json.dumps(FIELDS, ensure_ascii=False))
    server = subprocess.Popen([LICEX, "serve", "--data-dir", str(ex_dir), "--port", str(port)], env=ex_env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            assert time.monotonic() < deadline, "server did not become healthy"
            time.sleep(0.3)

        first = tmp / "first.sd-jwt"
        pushed = licex("department", "issue", "--dir", str(dept), "--type", "blood_donation", "--fields", str(fields),
                       "--serial", "TP0001", "--exchange", base, "--out", str(first), env=dept_env)
        assert json.loads(pushed.stdout)["created"] is True
        trust = tmp / "trust.jwt"
        trust.write_bytes(httpx.get(f"{base}/api/v1/trust-list", timeout=10).content)
        verified = licex("verify", str(first), "--trust", str(trust), "--status-url", base, "--json", env=base_env)
        assert json.loads(verified.stdout)["valid"] is True

        # rotation: new key + CSR in the department, certified, enrolled; old licence stays valid
        licex("department", "rotate", "--dir", str(dept), env=dept_env)
        new_crt = certify("licence.csr", "licence", "blood-licence-2.crt")
        licex("department", "install-cert", "--dir", str(dept), "--cert", str(new_crt), env=dept_env)
        licex("exchange", "enrol", "--data-dir", str(ex_dir), "--cert", str(new_crt), env=ex_env)
        second = tmp / "second.sd-jwt"
        licex("department", "issue", "--dir", str(dept), "--type", "blood_donation", "--fields", str(fields),
              "--serial", "TP0002", "--exchange", base, "--out", str(second), env=dept_env)
        trust.write_bytes(httpx.get(f"{base}/api/v1/trust-list", timeout=10).content)
        for licence in (first, second):
            res = licex("verify", str(licence), "--trust", str(trust), "--status-url", base, "--json", env=base_env)
            assert json.loads(res.stdout)["valid"] is True
        listed = licex("department", "signed-by", "--dir", str(dept), "--cert", str(licence_crt), "--exchange", base,
                       env=dept_env)
        first_id = json.loads(licex("verify", str(first), "--trust", str(trust), "--no-status", "--json",
                                    env=base_env).stdout)["subject"]
        assert json.loads(listed.stdout)["licences"] == [first_id]

        # the CA revokes the old key; the exchange imports the CRL; the old licence reads REVOKED
        licex("ca", "revoke", "--dir", str(ca), "--cert", str(licence_crt), "--reason", "keyCompromise", env=ca_env)
        licex("exchange", "import-crl", "--data-dir", str(ex_dir), "--crl", str(ca / "root.crl"), env=ex_env)
        trust.write_bytes(httpx.get(f"{base}/api/v1/trust-list", timeout=10).content)
        revoked = licex("verify", str(first), "--trust", str(trust), "--status-url", base, "--json", env=base_env,
                        ok=False)
        assert revoked.returncode == 1 and "REVOKED" in json.loads(revoked.stdout)["codes"]
        assert licex("verify", str(second), "--trust", str(trust), "--status-url", base, env=base_env).returncode == 0
    finally:
        server.terminate()
        server.wait(timeout=30)

    # no root or department licence-signing private key anywhere the exchange keeps things
    from issuers.pki import load_private_key

    forbidden = {_spki(load_private_key(ca / "root.key", CA_PASS.encode())),
                 _spki(load_private_key(dept / "licence.key", DEPT_PASS.encode()))}
    passphrases = [EXCHANGE_PASS.encode(), CA_PASS.encode(), DEPT_PASS.encode()]
    opened = 0
    for path in ex_dir.rglob("*"):
        if path.is_file():
            keys = _keys_in(path.read_bytes(), passphrases)
            opened += len(keys)
            assert not {_spki(k) for k in keys} & forbidden, path
    assert opened >= 2  # the exchange's own keys were found and opened: the scan can see keys
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = inspect(conn).get_table_names()
            for name in names:
                for row in conn.execute(text(f'SELECT * FROM "{name}"')):  # noqa: S608 - names from the schema
                    for value in row:
                        blob = value.encode() if isinstance(value, str) else value
                        if isinstance(blob, bytes | memoryview) and b"PRIVATE KEY" in bytes(blob):
                            keys = _keys_in(bytes(blob), passphrases)
                            assert not {_spki(k) for k in keys} & forbidden, name
                            assert not keys, f"a private key in table {name}"
            assert "licences" in names and "department_certificates" in names
    finally:
        engine.dispose()
    # and the retired licence key is gone from the department's directory too
    assert not list((dept / "retired").rglob("*.key"))
