"""Face-authentication assertions from an external identity platform (the production mode).

The platform (e.g. a provincial unified identity platform doing its own certified face + liveness check) signs
a JWT that the citizen's app posts to ``/api/v1/citizen/face/assertion``. The exchange trusts the keys in the
JWKS file ``face_assertion_jwks_file`` and checks:

* header ``alg`` is ES256 or RS256 (pinned; the key's type must fit: EC P-256 / RSA ≥ 2048 bits), ``kid``
  names a key in the JWKS, ``typ`` is :data:`ASSERTION_TYP` (``face-auth+jwt``);
* ``iss`` = ``face_assertion_issuer``, ``aud`` contains ``face_assertion_audience``; ``exp``, ``iat``, ``sub``
  and ``jti`` present; ``iat`` not in the future and ``exp − iat`` ≤ 300 s (30 s clock leeway);
* ``amr`` is a list containing ``"face"``;
* ``sub`` is the citizen's ID number (18 characters, GB 11643 check digit) — see below;
* the ``jti`` is used once (``used_nonces``, scope ``face-assert``), across every process.

Why ``sub`` is the plain ID number: a hash of an ID number without a secret is no protection (there are only
~10¹¹ plausible numbers; a GPU enumerates them in minutes), and a keyed hash would mean sharing a secret key
with the platform and keeping the two in step. The assertion is short-lived, travels only between the
citizen's phone, the platform and the exchange over TLS, is verified and discarded, and is never logged or
stored (the session carries the holder hash and the encrypted number).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..context import AppContext, JwksCache
from ..kit.errors import Forbidden, Unauthenticated

ASSERTION_TYP: Final = "face-auth+jwt"
ALGORITHMS: Final = ("ES256", "RS256")
MAX_LIFETIME_S: Final = 300
LEEWAY_S: Final = 30
MAX_CHARS: Final = 8192

_jwks_lock = threading.Lock()


@dataclass(frozen=True)
class VerifiedAssertion:
    subject: str
    issuer: str
    jti: str
    expires_at: datetime


def _fail(detail: str) -> Unauthenticated:
    return Unauthenticated(detail, code="ASSERTION_INVALID")


def _keys(ctx: AppContext) -> dict[str, jwt.PyJWK]:
    path: Path | None = ctx.settings.face_assertion_jwks_file
    if path is None or not ctx.settings.face_assertion_issuer or not ctx.settings.face_assertion_audience:
        raise Forbidden("face assertions are not configured", code="FACE_MODE_DISABLED")
    try:
        stamp = (str(path), path.stat().st_mtime_ns)
    except OSError as exc:
        raise Forbidden("face assertion keys are unavailable", code="FACE_MODE_DISABLED") from exc
    with _jwks_lock:
        cached = ctx.face_assertion_jwks
        if cached is not None and cached.stamp == stamp:
            return cached.keys
        try:
            data = json.loads(path.read_text())
            jwks = jwt.PyJWKSet.from_dict(data)
        except (OSError, ValueError, jwt.PyJWTError) as exc:
            raise Forbidden("face assertion keys are unreadable", code="FACE_MODE_DISABLED") from exc
        keys = {str(k.key_id): k for k in jwks.keys if k.key_id}
        ctx.face_assertion_jwks = JwksCache(stamp, keys)
        return keys


def _key_fits(alg: str, key: Any) -> bool:
    if alg == "ES256":
        return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
    if alg == "RS256":
        return isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048
    return False


def verify_assertion(ctx: AppContext, assertion: str) -> VerifiedAssertion:
    if not isinstance(assertion, str) or not assertion or len(assertion) > MAX_CHARS or not assertion.isascii():
        raise _fail("assertion missing or too long")
    keys = _keys(ctx)
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as exc:
        raise _fail("assertion is not a JWT") from exc
    alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ")
    if alg not in ALGORITHMS:
        raise _fail("assertion algorithm must be ES256 or RS256")
    if typ != ASSERTION_TYP:
        raise _fail(f"assertion typ must be {ASSERTION_TYP}")
    if not isinstance(kid, str) or kid not in keys:
        raise _fail("assertion key is not trusted")
    jwk = keys[kid]
    if jwk.algorithm_name != alg:
        raise _fail("assertion key is not for this algorithm")
    if not _key_fits(str(alg), jwk.key):
        raise _fail("assertion key does not fit the algorithm")
    try:
        claims: dict[str, Any] = jwt.decode(
            assertion, jwk.key, algorithms=[str(alg)], audience=ctx.settings.face_assertion_audience,
            issuer=ctx.settings.face_assertion_issuer, leeway=LEEWAY_S,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("assertion expired", code="ASSERTION_EXPIRED") from exc
    except jwt.PyJWTError as exc:
        raise _fail(f"assertion rejected: {type(exc).__name__}") from exc
    exp, iat = claims["exp"], claims["iat"]
    if not (isinstance(exp, int) and isinstance(iat, int)) or exp - iat > MAX_LIFETIME_S or exp <= iat:
        raise _fail(f"assertion lifetime must be at most {MAX_LIFETIME_S} s")
    amr = claims.get("amr")
    if not (isinstance(amr, list) and "face" in amr):
        raise _fail("assertion amr must contain 'face'")
    sub, jti = claims["sub"], claims["jti"]
    if not isinstance(sub, str) or len(sub) != 18:
        raise _fail("assertion sub must be an 18-character ID number")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 128:
        raise _fail("assertion jti must be 8–128 characters")
    return VerifiedAssertion(sub, str(claims["iss"]), jti, datetime.fromtimestamp(exp, UTC))
