"""Citizen callers. The citizen session: a short-lived JWT (header and claim ``typ`` "citizen", ``amr``
["face"]) minted after a face authentication, and the dependency that requires it.

Claims: ``hid`` = the holder hash (keyed, not reversible), ``enc`` = the ID number encrypted with the exchange's
data key (base64url; the ID number never travels in clear inside the token), ``amr``, ``auth_time``. The
signing key is derived per ``typ`` (see :mod:`exchange.kit.tokens`), so a QR, clerk or department token is
refused here and a citizen token is refused everywhere else.

Two views of the same caller: :class:`CitizenSession` (the token's claims; dependency :data:`Citizen`) for the
citizen's own pages, and :class:`CitizenCaller` (the ID number decrypted, plus the usage-log actor; dependency
:data:`CitizenWithId`) for the endpoints that read department data on the citizen's behalf (proofs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials

from schemas.canonical import b64u_decode, b64u_encode

from ..context import AppContext
from ..deps import Ctx
from ..kit.errors import Unauthenticated
from ..usage.service import Actor
from .bearer import bearer, bearer_token

CITIZEN_TYP = "citizen"
ID_CONTEXT = "licex/citizen-id"


@dataclass(frozen=True)
class CitizenSession:
    holder_hash: str
    enc: str
    jti: str
    auth_time: int
    expires_at: datetime

    def id_number(self, ctx: AppContext) -> str:
        """The citizen's ID number (decrypted on demand; never log it)."""
        return decrypt_id(ctx, self.enc)


def encrypt_id(ctx: AppContext, id_number: str) -> str:
    return b64u_encode(ctx.protector.encrypt(id_number.encode(), ID_CONTEXT))


def decrypt_id(ctx: AppContext, enc: str) -> str:
    try:
        return ctx.protector.decrypt(b64u_decode(enc), ID_CONTEXT).decode()
    except Exception as exc:  # any decoding/authentication failure: the claim was not made by us
        raise Unauthenticated("token invalid", code="TOKEN_INVALID") from exc


@dataclass(frozen=True)
class IssuedSession:
    token: str
    expires_at: datetime


def issue_session(ctx: AppContext, *, holder_hash: str, enc: str, method: str) -> IssuedSession:
    ttl = ctx.settings.citizen_session_ttl_s
    now = int(datetime.now(UTC).timestamp())
    token = ctx.tokens.encode(CITIZEN_TYP, {"hid": holder_hash, "enc": enc, "amr": ["face"], "auth_time": now,
                                            "via": method}, ttl, now=now)
    return IssuedSession(token, datetime.fromtimestamp(now + ttl, UTC))


def decode_session(ctx: AppContext, token: str) -> CitizenSession:
    claims: dict[str, Any] = ctx.tokens.decode(CITIZEN_TYP, token)
    amr = claims.get("amr")
    hid, enc, auth_time = claims.get("hid"), claims.get("enc"), claims.get("auth_time")
    if not (isinstance(amr, list) and "face" in amr):
        raise Unauthenticated("a face-authenticated session is required", code="TOKEN_INVALID")
    if not (isinstance(hid, str) and len(hid) == 64 and isinstance(enc, str) and isinstance(auth_time, int)):
        raise Unauthenticated("token invalid", code="TOKEN_INVALID")
    return CitizenSession(hid, enc, str(claims["jti"]), auth_time, datetime.fromtimestamp(int(claims["exp"]), UTC))


async def require_citizen(ctx: Ctx, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                          ) -> CitizenSession:
    return decode_session(ctx, bearer_token(creds))


Citizen = Annotated[CitizenSession, Depends(require_citizen)]


@dataclass(frozen=True)
class CitizenCaller:
    """A face-authenticated citizen with the ID number at hand (to read department data) and the usage-log
    actor; never log ``id_number``."""

    holder_hash: str
    id_number: str
    via: str = "face"

    @property
    def actor(self) -> Actor:
        return Actor("citizen", "本人")


async def current_citizen(ctx: Ctx, session: Annotated[CitizenSession, Depends(require_citizen)]) -> CitizenCaller:
    return CitizenCaller(session.holder_hash, session.id_number(ctx))


CitizenWithId = Annotated[CitizenCaller, Depends(current_citizen)]
