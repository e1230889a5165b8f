"""JWTs minted by the exchange for its own sessions and tokens.

Every token has a ``typ`` claim naming its purpose; decoding pins the algorithm, requires ``exp``/``iat``/``iss``
and checks ``typ``, so a token minted for one purpose fails everywhere else. Keys are derived per purpose.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import jwt

from .crypto import derive_key
from .errors import Unauthenticated

ALGORITHM = "HS256"
#: Tokens that passed :meth:`TokenCodec.decode` recently, by (typ, token): a counter's and a citizen's token come
#: back with every request, and re-checking the HMAC and re-parsing the JSON each time is a measurable share of
#: a request. A hit is still refused once expired. Bounded; emptied when full.
VERIFIED_CACHE_MAX = 4096
#: The only form an exchange token takes: three unpadded base64url segments, the last a 32-byte HMAC. PyJWT's
#: base64url decoding skips characters outside the alphabet, so without this check one token could be re-spelt
#: endlessly (and each spelling remembered).
CANONICAL_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}")


def _copy(claims: dict[str, Any]) -> dict[str, Any]:
    """A copy the caller may change without changing the remembered claims (their lists, e.g. ``amr``, too)."""
    return {k: list(v) if isinstance(v, list) else v for k, v in claims.items()}


class TokenCodec:
    def __init__(self, master_key: bytes, issuer: str) -> None:
        self._master = master_key
        self._issuer = issuer
        self._keys: dict[str, bytes] = {}
        self._verified: dict[tuple[str, str], dict[str, Any]] = {}

    def _key(self, typ: str) -> bytes:
        if typ not in self._keys:
            self._keys[typ] = derive_key(self._master, f"licex/jwt/{typ}")
        return self._keys[typ]

    def encode(self, typ: str, claims: dict[str, Any], ttl_s: int, *, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        body = {
            **claims,
            "typ": typ,
            "iss": self._issuer,
            "iat": issued,
            "exp": issued + ttl_s,
            "jti": claims.get("jti") or secrets.token_urlsafe(16),
        }
        return jwt.encode(body, self._key(typ), algorithm=ALGORITHM, headers={"typ": typ})

    def decode(self, typ: str, token: str, *, now: float | None = None) -> dict[str, Any]:
        if not token or len(token) > 8192:
            raise Unauthenticated("missing or oversized token", code="TOKEN_INVALID")
        if not CANONICAL_TOKEN.fullmatch(token):
            raise Unauthenticated("token invalid", code="TOKEN_INVALID")
        if now is None:
            known = self._verified.get((typ, token))
            if known is not None:
                if known["exp"] > time.time():
                    return _copy(known)
                raise Unauthenticated("token expired", code="TOKEN_EXPIRED")
        try:
            header = jwt.get_unverified_header(token)
            if header.get("typ") != typ or header.get("alg") != ALGORITHM:
                raise Unauthenticated(f"token is not a {typ} token", code="TOKEN_WRONG_TYPE")
            options: Any = {"require": ["exp", "iat", "iss", "typ", "jti"]}
            if now is not None:
                options["verify_exp"] = False
            claims: dict[str, Any] = jwt.decode(
                token, self._key(typ), algorithms=[ALGORITHM], issuer=self._issuer, options=options
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("token expired", code="TOKEN_EXPIRED") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("token invalid", code="TOKEN_INVALID") from exc
        if claims.get("typ") != typ:
            raise Unauthenticated(f"token is not a {typ} token", code="TOKEN_WRONG_TYPE")
        if now is not None and claims["exp"] < now:
            raise Unauthenticated("token expired", code="TOKEN_EXPIRED")
        if now is None and isinstance(claims.get("exp"), int):
            if len(self._verified) >= VERIFIED_CACHE_MAX:
                self._verified.clear()
            self._verified[(typ, token)] = _copy(claims)
        return claims
