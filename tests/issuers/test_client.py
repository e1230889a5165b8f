"""ExchangeClient against a tiny real exchange stand-in (FastAPI under uvicorn on 127.0.0.1).

The stand-in checks what the real exchange checks at its edge: the client assertion (ES256, kid = SHA-256 of a
registered client certificate chained to the root, iss = sub, aud = the token URL, exp/iat/jti, no replay),
the bearer token, the media type and the licence's JWS signature against its x5c certificate.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import jwt
import pytest
import uvicorn
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from issuers.client import ExchangeClient, PushError
from issuers.demo import LicenceDraft, SystemOfRecord
from issuers.department import DepartmentSigner
from issuers.pki import cert_fingerprint, cert_from_der, create_root_ca
from schemas.canonical import b64u_decode
from schemas.catalogue import load_catalogue

CAT = load_catalogue()


def _ec(cert: x509.Certificate) -> ec.EllipticCurvePublicKey:
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    return public


PASS = b"client test passphrase"


@dataclass
class Stand:
    """Mutable state of the stand-in exchange."""

    root: x509.Certificate
    audience: str = ""
    client_certs: dict[str, tuple[str, x509.Certificate]] = field(
        default_factory=dict
    )  # kid -> (client, cert)
    used_jti: set[str] = field(default_factory=set)
    tokens: dict[str, str] = field(default_factory=dict)  # token -> client id
    token_ttl: int = 600
    fail_next: int = 0  # answer 503 to this many licence pushes
    reject_next: bool = False
    token_gateway_error: bool = False  # answer the token request with a plain-text 502, as a proxy would
    licences: dict[str, str] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)

    def hit(self, what: str) -> None:
        self.hits[what] = self.hits.get(what, 0) + 1


def _err(status: int, code: str, detail: str, fieldname: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": code, "detail": detail}
    if fieldname:
        body["field"] = fieldname
    return JSONResponse(body, status_code=status)


def _chained(cert: x509.Certificate, root: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def make_app(st: Stand) -> FastAPI:
    app = FastAPI()

    @app.post("/api/v1/oauth/token")
    def token(
        grant_type: Annotated[str, Form()],
        client_assertion_type: Annotated[str, Form()],
        client_assertion: Annotated[str, Form()],
        scope: Annotated[str | None, Form()] = None,
    ) -> Response:
        st.hit("token")
        if st.token_gateway_error:
            return PlainTextResponse("Bad Gateway", status_code=502)
        if grant_type != "client_credentials":
            return _err(400, "UNSUPPORTED_GRANT_TYPE", "grant_type")
        if client_assertion_type != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return _err(400, "INVALID_REQUEST", "client_assertion_type")
        header = jwt.get_unverified_header(client_assertion)
        entry = st.client_certs.get(str(header.get("kid")))
        if header.get("alg") != "ES256" or entry is None:
            return _err(401, "INVALID_CLIENT", "unknown key")
        client_id, cert = entry
        if not _chained(cert, st.root):
            return _err(401, "INVALID_CLIENT", "certificate not issued by the root")
        try:
            claims = jwt.decode(
                client_assertion, _ec(cert), algorithms=["ES256"], audience=st.audience,
                issuer=client_id, options={"require": ["exp", "iat", "iss", "sub", "aud", "jti"]},
            )  # fmt: skip
        except jwt.PyJWTError as exc:
            return _err(401, "INVALID_CLIENT", type(exc).__name__)
        if claims["sub"] != client_id or claims["exp"] - claims["iat"] > 300:
            return _err(401, "INVALID_CLIENT", "claims")
        if claims["jti"] in st.used_jti:
            return _err(401, "INVALID_CLIENT", "replayed")
        st.used_jti.add(claims["jti"])
        if scope != "issue:licences manage:licences":
            return _err(400, "INVALID_SCOPE", str(scope))
        tok = secrets.token_urlsafe(16)
        st.tokens[tok] = client_id
        return JSONResponse({"access_token": tok, "token_type": "Bearer", "expires_in": st.token_ttl})

    def caller(authorization: str | None) -> str | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        return st.tokens.get(authorization.removeprefix("Bearer "))

    @app.post("/api/v1/licences")
    async def push(request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
        st.hit("push")
        if caller(authorization) is None:
            return _err(401, "UNAUTHENTICATED", "bearer token required")
        if st.fail_next > 0:
            st.fail_next -= 1
            return _err(503, "UNAVAILABLE", "try again")
        if st.reject_next:
            st.reject_next = False
            return _err(422, "SCHEMA_MISMATCH", "name: BAD_LENGTH", "name")
        if request.headers.get("content-type") != "application/dc+sd-jwt":
            return _err(415, "UNSUPPORTED_MEDIA_TYPE", "send application/dc+sd-jwt")
        credential = (await request.body()).decode("ascii")
        jws = credential.split("~")[0]
        header = jwt.get_unverified_header(jws)
        if header.get("alg") != "ES256" or header.get("typ") != "dc+sd-jwt":
            return _err(400, "MALFORMED_LICENCE", "header")
        cert = cert_from_der(b64u_decode(header["x5c"][0].replace("+", "-").replace("/", "_").rstrip("=")))
        try:
            jwt.PyJWS().decode_complete(jws, _ec(cert), algorithms=["ES256"])
        except jwt.PyJWTError:
            return _err(400, "BAD_SIGNATURE", "signature")
        payload = json.loads(b64u_decode(jws.split(".")[1]))
        lid = payload["licence_id"]
        created = lid not in st.licences
        st.licences[lid] = credential
        st.status.setdefault(lid, "valid")
        body = {
            "licence_id": lid,
            "type": payload["licence_type"],
            "created": created,
            "status": st.status[lid],
        }
        return JSONResponse(body, status_code=201 if created else 200)

    @app.post("/api/v1/licences/{licence_id}/status")
    async def change(
        licence_id: str, request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        if caller(authorization) is None:
            return _err(401, "UNAUTHENTICATED", "bearer token required")
        if licence_id not in st.status:
            return _err(404, "NOT_FOUND", "no such licence")
        body = await request.json()
        st.status[licence_id] = {"revoke": "revoked", "suspend": "suspended", "reinstate": "valid"}[
            body["action"]
        ]
        return JSONResponse(
            {"licence_id": licence_id, "status": st.status[licence_id], "reason": body["reason"]}
        )

    return app


# -- fixtures --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[DepartmentSigner, DepartmentSigner, x509.Certificate]:
    root_key, root_cert = create_root_ca()
    base = tmp_path_factory.mktemp("client-depts")
    psb = DepartmentSigner.create(Path(base / "psb"), CAT.departments["psb"], root_key, root_cert, PASS)
    # a signer chained to a different root: unknown to the exchange
    other_key, other_cert = create_root_ca()
    rogue = DepartmentSigner.create(Path(base / "rogue"), CAT.departments["psb"], other_key, other_cert, PASS)
    return psb, rogue, root_cert


@pytest.fixture(scope="module")
def server(pki: tuple[DepartmentSigner, DepartmentSigner, x509.Certificate]) -> Iterator[tuple[str, Stand]]:
    psb, _rogue, root = pki
    st = Stand(root=root)
    st.client_certs[cert_fingerprint(psb.client_cert)] = ("psb-system", psb.client_cert)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    st.audience = base_url + "/api/v1/oauth/token"
    srv = uvicorn.Server(uvicorn.Config(make_app(st), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield base_url, st
    srv.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def drafts() -> list[LicenceDraft]:
    sor = SystemOfRecord.generate(seed=2024)
    return [d for d in sor.licences() if d.department_id == "psb"][:6]


@pytest.fixture
def stand(server: tuple[str, Stand]) -> Stand:
    st = server[1]
    st.fail_next, st.reject_next, st.token_gateway_error, st.hits = 0, False, False, {}
    return st


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _client(
    server: tuple[str, Stand], signer: DepartmentSigner, **kw: Any
) -> tuple[ExchangeClient, list[float]]:
    sleeps: list[float] = []
    client = ExchangeClient(server[0], signer, "psb-system", sleep=sleeps.append, **kw)
    return client, sleeps


# -- tests -----------------------------------------------------------------------------------------------


def test_push_and_token_caching(
    server: tuple[str, Stand], stand: Stand, pki: tuple[DepartmentSigner, ...], drafts: list[LicenceDraft]
) -> None:
    psb = pki[0]
    client, sleeps = _client(server, psb)
    with client:
        first = client.push(psb.sign(drafts[0]))
        assert first == {
            "licence_id": psb.licence_id(drafts[0]),
            "type": CAT.licence_types[drafts[0].type_key].code,
            "created": True,
            "status": "valid",
        }
        again = client.push(psb.sign(drafts[0]))  # same licence, new salts: idempotent on the id
        assert again["created"] is False
        for d in drafts[1:4]:
            assert client.push(psb.sign(d))["created"] is True
    assert client.token_requests == 1 and stand.hits["token"] == 1
    assert sleeps == []


def test_token_refreshed_shortly_before_expiry(
    server: tuple[str, Stand], stand: Stand, pki: tuple[DepartmentSigner, ...], drafts: list[LicenceDraft]
) -> None:
    clock = FakeClock()
    client, _ = _client(server, pki[0], clock=clock, refresh_margin_s=30)
    stand.token_ttl = 100
    try:
        client.push(pki[0].sign(drafts[0]))
        clock.t += 69  # 100 - 30 margin = 70 s of use
        client.push(pki[0].sign(drafts[0]))
        assert client.token_requests == 1
        clock.t += 2
        client.push(pki[0].sign(drafts[0]))
        assert client.token_requests == 2
    finally:
        stand.token_ttl = 600
        client.close()


def test_revoked_token_is_replaced_once(
    server: tuple[str, Stand], stand: Stand, pki: tuple[DepartmentSigner, ...], drafts: list[LicenceDraft]
) -> None:
    client, _ = _client(server, pki[0])
    with client:
        client.push(pki[0].sign(drafts[0]))
        stand.tokens.clear()  # the exchange forgot every token
        assert client.push(pki[0].sign(drafts[0]))["created"] is False
        assert client.token_requests == 2


def test_4xx_maps_to_push_error_without_retry(
    server: tuple[str, Stand], stand: Stand, pki: tuple[DepartmentSigner, ...], drafts: list[LicenceDraft]
) -> None:
    client, sleeps = _client(server, pki[0])
    stand.reject_next = True
    with client, pytest.raises(PushError) as exc:
        client.push(pki[0].sign(drafts[1]))
    err = exc.value
    assert (err.status, err.error_code, err.detail, err.field) == (
        422,
        "SCHEMA_MISMATCH",
        "name: BAD_LENGTH",
        "name",
    )
    assert not err.retryable
    assert stand.hits["push"] == 1 and sleeps == []


def test_5xx_is_retried_with_backoff(
    server: tuple[str, Stand], stand: Stand, pki: tuple[DepartmentSigner, ...], drafts: list[LicenceDraft]
) -> None:
    client, sleeps = _client(server, pki[0], backoff_s=0.5, max_backoff_s=0.75)
    stand.fail_next = 2
    with client:
        assert client.push(pki[0].sign(drafts[4]))["licence_id"] == pki[0].licence_id(drafts[4])
    assert stand.hits["push"] == 3
    assert sleeps == [0.5, 0.75]


def test_5xx_retries_are_bounded(
    server: tuple[str, Stand], stand: Stand, pki: tuple[DepartmentSigner, ...], drafts: list[LicenceDraft]
) -> None:
    client, sleeps = _client(server, pki[0], max_attempts=3)
    stand.fail_next = 10
    with client, pytest.raises(PushError) as exc:
        client.push(pki[0].sign(drafts[4]))
    assert (exc.value.status, exc.value.error_code) == (503, "UNAVAILABLE") and exc.value.retryable
    assert stand.hits["push"] == 3 and len(sleeps) == 2


def test_connection_errors_are_retried_then_raised(pki: tuple[DepartmentSigner, ...]) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps: list[float] = []
    client = ExchangeClient(
        f"http://127.0.0.1:{port}", pki[0], "psb-system", sleep=sleeps.append, max_attempts=3
    )
    with client, pytest.raises(PushError) as exc:
        client.push("x.y.z~")
    assert exc.value.status == 0 and exc.value.error_code == "CONNECTION_ERROR"
    assert sleeps == [0.2, 0.4]


def test_unknown_client_key_is_refused(server: tuple[str, Stand], stand: Stand, pki: tuple[Any, ...]) -> None:
    client, sleeps = _client(server, pki[1])  # chained to another root, kid not registered
    with client, pytest.raises(PushError) as exc:
        client.push("a.b.c~")
    assert (exc.value.status, exc.value.error_code) == (401, "INVALID_CLIENT")
    assert "push" not in stand.hits and sleeps == []


def test_wrong_audience_is_refused(server: tuple[str, Stand], stand: Stand, pki: tuple[Any, ...]) -> None:
    client, _ = _client(server, pki[0], audience="https://elsewhere.test/api/v1/oauth/token")
    with client, pytest.raises(PushError) as exc:
        client.access_token()
    assert exc.value.error_code == "INVALID_CLIENT" and exc.value.detail == "InvalidAudienceError"


def test_change_status(
    server: tuple[str, Stand], stand: Stand, pki: tuple[DepartmentSigner, ...], drafts: list[LicenceDraft]
) -> None:
    psb = pki[0]
    client, _ = _client(server, psb)
    with client:
        lid = client.push(psb.sign(drafts[5]))["licence_id"]
        out = client.change_status(lid, "suspend", "核查中")
        assert out == {"licence_id": lid, "status": "suspended", "reason": "核查中"}
        assert client.change_status(lid, "revoke", "证件遗失")["status"] == "revoked"
        with pytest.raises(PushError) as exc:
            client.change_status("1.2.156.3005.2.X.Y.1.001.0", "revoke", "x")
        assert (exc.value.status, exc.value.error_code) == (404, "NOT_FOUND")
        with pytest.raises(ValueError):
            client.change_status("../../oauth/token", "revoke", "x")


def test_non_json_error_body(
    server: tuple[str, Stand], stand: Stand, pki: tuple[DepartmentSigner, ...]
) -> None:
    client, sleeps = _client(server, pki[0], max_attempts=2)
    stand.token_gateway_error = True
    with client, pytest.raises(PushError) as exc:
        client.access_token()
    assert (exc.value.status, exc.value.error_code, exc.value.detail) == (502, "HTTP_502", "Bad Gateway")
    assert stand.hits["token"] == 2 and len(sleeps) == 1
