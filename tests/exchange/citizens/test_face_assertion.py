"""Production mode: signed face-authentication assertions from an external identity platform (JWKS)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from exchange.citizens.assertion import ASSERTION_TYP
from tests.exchange.counter.flow import bearer
from tests.fixtures.exchange import ExchangeEnv

ISSUER = "https://idp.example.gov.cn"
AUDIENCE = "licex:changsha"


class Platform:
    def __init__(self, tmp: Path) -> None:
        self.ec_key = ec.generate_private_key(ec.SECP256R1())
        self.rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwks = {"keys": [
            {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec_key.public_key())), "kid": "ec1",
             "use": "sig", "alg": "ES256"},
            {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.rsa_key.public_key())), "kid": "rsa1",
             "use": "sig", "alg": "RS256"},
        ]}
        self.path = tmp / "idp-jwks.json"
        self.path.write_text(json.dumps(jwks))

    def sign(self, sub: str, *, alg: str = "ES256", kid: str | None = None, typ: str = ASSERTION_TYP,
             lifetime: int = 120, iat_offset: int = 0, drop: tuple[str, ...] = (), **claims: Any) -> str:
        now = int(time.time()) + iat_offset
        body: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + lifetime,
                                "jti": secrets.token_urlsafe(16), "amr": ["face", "liveness"], **claims}
        for name in drop:
            body.pop(name, None)
        key: Any = self.ec_key if alg == "ES256" else self.rsa_key
        return jwt.encode(body, key, algorithm=alg,
                          headers={"kid": kid or ("ec1" if alg == "ES256" else "rsa1"), "typ": typ})


@pytest.fixture()
def platform(exchange: ExchangeEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    idp = Platform(tmp_path)
    monkeypatch.setattr(exchange.ctx.settings, "face_mode", "both")
    monkeypatch.setattr(exchange.ctx.settings, "face_assertion_jwks_file", idp.path)
    monkeypatch.setattr(exchange.ctx.settings, "face_assertion_issuer", ISSUER)
    monkeypatch.setattr(exchange.ctx.settings, "face_assertion_audience", AUDIENCE)
    yield idp
    exchange.ctx.face_assertion_jwks = None


def post(env: ExchangeEnv, assertion: str) -> Any:
    return env.client.post("/api/v1/citizen/face/assertion", json={"assertion": assertion})


def test_disabled_unless_configured(exchange: ExchangeEnv) -> None:
    resp = post(exchange, "x.y.z")
    assert resp.status_code == 403 and resp.json()["error"] == "FACE_MODE_DISABLED"


def test_valid_assertions_log_in(exchange: ExchangeEnv, platform: Platform) -> None:
    person = exchange.records.citizens[3]
    for alg in ("ES256", "RS256"):
        resp = post(exchange, platform.sign(person.id_number, alg=alg))
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["holder"]["id_masked"].startswith(person.id_number[:4]) and person.id_number not in resp.text
        claims = exchange.ctx.tokens.decode("citizen", body["token"])
        assert claims["amr"] == ["face"] and claims["via"] == "assertion"
        assert exchange.client.get("/api/v1/citizen/licences", headers=bearer(body["token"])).status_code == 200


def test_bad_assertions_are_refused(exchange: ExchangeEnv, platform: Platform) -> None:
    number = exchange.records.citizens[3].id_number
    once = platform.sign(number)
    assert post(exchange, once).status_code == 200
    replay = post(exchange, once)
    assert replay.status_code == 401 and replay.json()["error"] == "ASSERTION_REPLAYED"

    bad_check = number[:-1] + ("0" if number[-1] != "0" else "1")
    cases: dict[str, tuple[str, str]] = {
        "expired": (platform.sign(number, iat_offset=-600), "ASSERTION_EXPIRED"),
        "wrong audience": (platform.sign(number, aud="someone-else"), "ASSERTION_INVALID"),
        "wrong issuer": (platform.sign(number, iss="https://evil.example"), "ASSERTION_INVALID"),
        "no face in amr": (platform.sign(number, amr=["pwd"]), "ASSERTION_INVALID"),
        "wrong typ": (platform.sign(number, typ="JWT"), "ASSERTION_INVALID"),
        "unknown kid": (platform.sign(number, kid="other"), "ASSERTION_INVALID"),
        "rsa kid for es256": (platform.sign(number, kid="rsa1"), "ASSERTION_INVALID"),
        "too long-lived": (platform.sign(number, lifetime=3600), "ASSERTION_INVALID"),
        "iat in the future": (platform.sign(number, iat_offset=600), "ASSERTION_INVALID"),
        "no jti": (platform.sign(number, drop=("jti",)), "ASSERTION_INVALID"),
        "no exp": (platform.sign(number, drop=("exp",)), "ASSERTION_INVALID"),
        "hs256": (jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": number, "iat": int(time.time()),
                              "exp": int(time.time()) + 60, "jti": "x" * 16, "amr": ["face"]},
                             "k" * 32, algorithm="HS256", headers={"kid": "ec1", "typ": ASSERTION_TYP}),
                  "ASSERTION_INVALID"),
        "tampered": (once[:-4] + ("AAAA" if not once.endswith("AAAA") else "BBBB"), "ASSERTION_INVALID"),
        "not a jwt": ("hello", "ASSERTION_INVALID"),
    }
    for name, (token, code) in cases.items():
        resp = post(exchange, token)
        assert resp.status_code == 401, (name, resp.text)
        assert resp.json()["error"] == code, name
    resp = post(exchange, platform.sign(bad_check))
    assert resp.status_code == 422 and resp.json()["error"] == "BAD_CHECK_DIGIT"


def test_assertion_only_mode_disables_local_face(exchange: ExchangeEnv, platform: Platform,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exchange.ctx.settings, "face_mode", "assertion")
    resp = exchange.client.post("/api/v1/citizen/face/challenge",
                                json={"id_number": exchange.records.citizens[0].id_number})
    assert resp.status_code == 403 and resp.json()["error"] == "FACE_MODE_DISABLED"
    assert post(exchange, platform.sign(exchange.records.citizens[3].id_number)).status_code == 200
