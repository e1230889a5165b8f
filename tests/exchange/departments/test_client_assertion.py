"""RFC 7523 client assertions: forged, expired, replayed or mis-addressed assertions get 401; scopes hold."""

from __future__ import annotations

import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from issuers.pki import cert_fingerprint
from tests.fixtures.exchange import ExchangeEnv

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _token_request(env: ExchangeEnv, assertion: str, scope: str = "issue:licences"):  # type: ignore[no-untyped-def]
    return env.client.post("/api/v1/oauth/token", data={
        "grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion, "scope": scope})


def _assertion(env: ExchangeEnv, *, key: ec.EllipticCurvePrivateKey | None = None, client: str = "blood",
               aud: str | None = None, iat: int | None = None, ttl: int = 60, jti: str | None = None,
               alg: str = "ES256") -> str:
    signer = env.signer("blood")
    now = iat if iat is not None else int(time.time())
    claims = {"iss": client, "sub": client, "aud": aud or env.settings.public_base_url + "/api/v1/oauth/token",
              "iat": now, "exp": now + ttl, "jti": jti or uuid.uuid4().hex}
    headers = {"kid": cert_fingerprint(signer.client_cert)}
    return jwt.encode(claims, key or signer.client_key, algorithm=alg, headers=headers)


def test_valid_assertion_gets_a_scoped_token(exchange: ExchangeEnv) -> None:
    resp = _token_request(exchange, _assertion(exchange))
    assert resp.status_code == 200, resp.text
    assert resp.json()["scope"] == "issue:licences" and resp.json()["token_type"] == "Bearer"


def test_forged_assertion_is_401(exchange: ExchangeEnv) -> None:
    forged = _assertion(exchange, key=ec.generate_private_key(ec.SECP256R1()))
    resp = _token_request(exchange, forged)
    assert resp.status_code == 401 and resp.json()["error"] == "INVALID_CLIENT"


def test_expired_assertion_is_401(exchange: ExchangeEnv) -> None:
    resp = _token_request(exchange, _assertion(exchange, iat=int(time.time()) - 3600, ttl=60))
    assert resp.status_code == 401 and "expired" in resp.json()["detail"]


def test_replayed_assertion_is_401(exchange: ExchangeEnv) -> None:
    assertion = _assertion(exchange)
    assert _token_request(exchange, assertion).status_code == 200
    again = _token_request(exchange, assertion)
    assert again.status_code == 401 and "replayed" in again.json()["detail"]


def test_wrong_audience_and_long_lifetime_are_401(exchange: ExchangeEnv) -> None:
    assert _token_request(exchange, _assertion(exchange, aud="https://elsewhere/token")).status_code == 401
    assert _token_request(exchange, _assertion(exchange, ttl=3600)).status_code == 401


def test_assertion_for_another_client_is_401(exchange: ExchangeEnv) -> None:
    # blood's key, but claiming to be hpf: the kid is not registered for hpf
    assert _token_request(exchange, _assertion(exchange, client="hpf")).status_code == 401


def test_hs256_assertion_is_refused(exchange: ExchangeEnv) -> None:
    now = int(time.time())
    token = jwt.encode({"iss": "blood", "sub": "blood", "aud": "x", "iat": now, "exp": now + 60, "jti": "j"},
                       "a-shared-secret-that-is-long-enough-for-hs256", algorithm="HS256")
    assert _token_request(exchange, token).status_code == 401


def test_push_without_token_is_401_and_with_wrong_scope_403(exchange: ExchangeEnv) -> None:
    no = exchange.client.post("/api/v1/licences", content="x", headers={"Content-Type": "application/dc+sd-jwt"})
    assert no.status_code == 401 and no.json()["error"] == "TOKEN_MISSING"
    token = _token_request(exchange, _assertion(exchange), scope="verify:proofs").json()["access_token"]
    resp = exchange.client.post("/api/v1/licences", content="x",
                                headers={"Content-Type": "application/dc+sd-jwt", "Authorization": f"Bearer {token}"})
    assert resp.status_code == 403 and resp.json()["error"] == "INSUFFICIENT_SCOPE"


def test_a_citizen_or_other_purpose_token_is_not_a_department_token(exchange: ExchangeEnv) -> None:
    other = exchange.ctx.tokens.encode("citizen", {"sub": "x"}, 60)
    resp = exchange.client.post("/api/v1/licences", content="x",
                                headers={"Content-Type": "application/dc+sd-jwt", "Authorization": f"Bearer {other}"})
    assert resp.status_code == 401 and resp.json()["error"] == "TOKEN_WRONG_TYPE"
