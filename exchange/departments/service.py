"""Client-assertion authentication (RFC 7523 ``private_key_jwt``) for department systems.

The assertion is an ES256 JWT signed with the department's registered *client* key: header ``kid`` is the
SHA-256 fingerprint of that certificate; claims ``iss`` = ``sub`` = client id, ``aud`` = the token endpoint URL,
``exp`` at most a few minutes after ``iat``, and a ``jti`` that may be used once. No shared passwords.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from ..context import AppContext
from ..kit.errors import Forbidden, InvalidInput, Unauthenticated
from ..kit.nonces import consume_nonce
from ..models import Department, DepartmentCertificate
from . import repository

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_PATH = "/api/v1/oauth/token"  # noqa: S105 - a URL path, not a secret
KNOWN_SCOPES = frozenset({"issue:licences", "manage:licences", "verify:proofs", "review:proofs"})


def token_endpoint(ctx: AppContext) -> str:
    return ctx.settings.public_base_url.rstrip("/") + TOKEN_PATH


def _fail(detail: str) -> Unauthenticated:
    return Unauthenticated(detail, code="INVALID_CLIENT")


def issue_access_token(ctx: AppContext, session: Session, *, grant_type: str, assertion_type: str,
                       assertion: str, scope: str | None) -> dict[str, Any]:
    if grant_type != "client_credentials":
        raise InvalidInput("grant_type must be client_credentials", code="UNSUPPORTED_GRANT_TYPE",
                           field="grant_type")
    if assertion_type != ASSERTION_TYPE:
        raise InvalidInput("client_assertion_type must be jwt-bearer", code="INVALID_REQUEST",
                           field="client_assertion_type")
    if not assertion or len(assertion) > 8192:
        raise InvalidInput("client_assertion missing or too long", field="client_assertion")
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise _fail("client assertion is not a JWT") from exc
    if header.get("alg") != "ES256":
        raise _fail("client assertions must use ES256")
    client_id = unverified.get("iss")
    if not isinstance(client_id, str) or unverified.get("sub") != client_id:
        raise _fail("iss and sub must both be the client id")
    client = repository.get_client(session, client_id)
    if client is None or not client.active:
        raise _fail("unknown or inactive client")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise _fail("assertion header needs kid (certificate SHA-256 fingerprint)")
    row = repository.certificate_by_fingerprint(session, kid.lower())
    if row is None or row.use != "client" or row.department_id != client.department_id:
        raise _fail("assertion key is not registered for this client")
    now = datetime.now(UTC)
    if row.revoked_at is not None or not (row.not_before <= now <= row.not_after):
        raise _fail("client certificate revoked or outside its validity")
    public = x509.load_pem_x509_certificate(row.pem.encode()).public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise _fail("client certificates carry P-256 keys")
    try:
        claims = jwt.decode(
            assertion, public, algorithms=["ES256"], audience=token_endpoint(ctx),
            issuer=client_id, options={"require": ["exp", "iat", "iss", "sub", "aud", "jti"]}, leeway=30,
        )
    except jwt.ExpiredSignatureError as exc:
        raise _fail("client assertion expired") from exc
    except jwt.PyJWTError as exc:
        raise _fail(f"client assertion rejected: {type(exc).__name__}") from exc
    if int(claims["exp"]) - int(claims["iat"]) > ctx.settings.client_assertion_max_ttl_s:
        raise _fail("client assertion lifetime too long")
    jti = str(claims["jti"])
    if len(jti) > 64 or not jti:
        raise _fail("bad jti")
    expires = datetime.fromtimestamp(int(claims["exp"]) + 60, UTC)
    nonce_key = hashlib.sha256(f"{client_id}:{jti}".encode()).hexdigest()[:64]
    if not consume_nonce(session, "assert", nonce_key, expires):
        raise _fail("client assertion replayed")
    allowed = set(client.scopes)
    requested = set((scope or " ".join(sorted(allowed))).split())
    unknown = requested - KNOWN_SCOPES
    if unknown:
        raise InvalidInput(f"unknown scope(s): {' '.join(sorted(unknown))}", code="INVALID_SCOPE", field="scope")
    if not requested <= allowed:
        raise Forbidden(f"scope(s) not granted to this client: {' '.join(sorted(requested - allowed))}",
                        code="INSUFFICIENT_SCOPE")
    ttl = ctx.settings.access_token_ttl_s
    token = ctx.tokens.encode(
        "dept-access", {"sub": client_id, "dept": client.department_id, "scope": " ".join(sorted(requested))}, ttl)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "scope": " ".join(sorted(requested))}


def certificates(session: Session, *, department_id: str | None = None, use: str | None = None
                 ) -> list[DepartmentCertificate]:
    """The certificates the exchange holds for departments (all, or one department's, or one use)."""
    return repository.certificates(session, department_id=department_id, use=use)


def list_departments(session: Session) -> list[Department]:
    return repository.list_departments(session)
