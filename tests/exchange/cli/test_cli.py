"""The `licex` command line, run as a real subprocess on a demo data dir (SQLite)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

LICEX = str(Path(sys.executable).parent / "licex")


def run(*args: str, env: dict[str, str] | None = None, check: bool = False) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LICEX_")}
    return subprocess.run([LICEX, *args], env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=300, check=check)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("cli") / "data"
    res = run("init", "--demo", "--data-dir", str(data), "--citizens", "16")
    assert res.returncode == 0, res.stderr
    return data


@pytest.fixture(scope="module")
def exported(demo_dir: Path) -> tuple[Path, Path]:
    out, trust = demo_dir.parent / "licences", demo_dir.parent / "trust.jwt"
    assert run("licences", "export", "--data-dir", str(demo_dir), "--out", str(out)).returncode == 0
    assert run("trust", "export", "--data-dir", str(demo_dir), "--out", str(trust)).returncode == 0
    return out, trust


def _x5c_key(_issuer: str, header: dict[str, Any]) -> JWK:
    cert = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    return JWK.from_pem(cert.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo))


def test_export_writes_one_file_per_licence_named_by_identifier(exported: tuple[Path, Path]) -> None:
    out, _ = exported
    files = sorted(out.glob("*.sd-jwt"))
    assert len(files) > 50
    assert all(f.name.startswith("1.2.156.3005.2.") for f in files)


def test_exported_licences_verify_in_the_reference_implementation(exported: tuple[Path, Path]) -> None:
    out, _ = exported
    for path in sorted(out.glob("*.sd-jwt"))[:25]:
        claims = SDJWTVerifier(path.read_text(), _x5c_key).get_verified_payload()
        assert claims["licence_id"] == path.name.removesuffix(".sd-jwt")


def test_verify_exit_codes(exported: tuple[Path, Path], tmp_path: Path) -> None:
    out, trust = exported
    licence = sorted(out.glob("*.sd-jwt"))[0]
    ok = run("verify", str(licence), "--trust", str(trust), "--json", "--no-status")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["valid"] is True
    text = licence.read_text()
    head, payload, rest = text.split(".", 2)
    tampered = tmp_path / "tampered.sd-jwt"
    tampered.write_text(f"{head}.{payload[:-3]}{'A' if payload[-3] != 'A' else 'B'}{payload[-2:]}.{rest}")
    bad = run("verify", str(tampered), "--trust", str(trust), "--json", "--no-status")
    assert bad.returncode == 1 and json.loads(bad.stdout)["valid"] is False
    assert run("verify", str(licence)).returncode == 2  # no trust list given
    assert run("verify", str(tmp_path / "missing.sd-jwt"), "--trust", str(trust)).returncode == 2


def test_verify_fails_closed_without_status(exported: tuple[Path, Path], demo_dir: Path, tmp_path: Path) -> None:
    out, trust = exported
    licence = sorted(out.glob("*.sd-jwt"))[0]
    # offline with a bare trust list: the status cannot be learnt → INDETERMINATE, exit 1
    res = run("verify", str(licence), "--trust", str(trust), "--json")
    body = json.loads(res.stdout)
    assert res.returncode == 1 and body["valid"] is False
    assert body["codes"] == ["STATUS_UNAVAILABLE"] and body["outcome"] == "indeterminate"
    assert body["verdict"].startswith("INDETERMINATE")
    # a dead status URL: exit 1, not "valid"
    dead = run("verify", str(licence), "--trust", str(trust), "--status-url", "http://127.0.0.1:9", "--json")
    assert dead.returncode == 1, dead.stdout + dead.stderr
    assert json.loads(dead.stdout)["codes"] == ["STATUS_UNAVAILABLE"]
    # --no-status accepts and says so, in text and in JSON
    text = run("verify", str(licence), "--trust", str(trust), "--no-status")
    assert text.returncode == 0 and "status not checked" in text.stdout
    assert json.loads(run("verify", str(licence), "--trust", str(trust), "--no-status", "--json").stdout)[
        "status_checked"] is False
    # the offline bundle carries the status lists: valid, status checked
    bundle = tmp_path / "bundle.json"
    assert run("trust", "export", "--with-status", "--data-dir", str(demo_dir), "--out", str(bundle)).returncode == 0
    good = run("verify", str(licence), "--trust", str(bundle), "--json")
    assert good.returncode == 0, good.stdout + good.stderr
    assert json.loads(good.stdout)["details"]["status"] == "valid"


def test_issue_and_revoke(demo_dir: Path, tmp_path: Path, exported: tuple[Path, Path]) -> None:
    from schemas.catalogue import load_catalogue

    fields = {
        "cert_no": "HN20260001234", "name": "王𠇔", "sex": "男", "id_number": "430104199003070314",
        "blood_type": "A", "rh": "阳性", "donation_type": "全血", "volume_ml": 400, "donated_on": "2026-05-01",
        "donation_site": "湖南省血液中心",
    }
    assert not load_catalogue().licence_types["blood_donation"].validate_fields(fields)
    path = tmp_path / "fields.json"
    path.write_text(json.dumps(fields, ensure_ascii=False))
    out = tmp_path / "issued.sd-jwt"
    res = run("issue", "--type", "blood_donation", "--fields", str(path), "--department", "blood",
              "--serial", "CLI0001", "--data-dir", str(demo_dir), "--out", str(out))
    assert res.returncode == 0, res.stderr
    lid = json.loads(res.stdout)["licence_id"]
    bundle = tmp_path / "bundle.json"
    assert run("trust", "export", "--with-status", "--data-dir", str(demo_dir), "--out", str(bundle)).returncode == 0
    assert run("verify", str(out), "--trust", str(bundle)).returncode == 0
    rev = run("revoke", lid, "--reason", "issued in error", "--data-dir", str(demo_dir))
    assert rev.returncode == 0 and json.loads(rev.stdout)["status"] == "revoked"
    # the status list changed at once: a fresh bundle says REVOKED (the old one, within its bound, does not)
    assert run("trust", "export", "--with-status", "--data-dir", str(demo_dir), "--out", str(bundle)).returncode == 0
    revoked = run("verify", str(out), "--trust", str(bundle), "--json")
    assert revoked.returncode == 1 and json.loads(revoked.stdout)["codes"] == ["REVOKED"]
    again = run("revoke", lid, "--reason", "twice", "--data-dir", str(demo_dir))
    assert again.returncode == 2 and "BAD_TRANSITION" in again.stderr


def test_wrong_department_for_type_is_refused(demo_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text("{}")
    res = run("issue", "--type", "blood_donation", "--fields", str(path), "--department", "hpf",
              "--serial", "CLI0002", "--data-dir", str(demo_dir))
    assert res.returncode == 2
