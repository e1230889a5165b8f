"""Who is calling the proof and application endpoints: a face-authenticated citizen or a reviewing clerk.

Citizen session (TEAM-NOTES): JWT typ ``citizen`` with ``amr`` containing ``face``, ``hid`` (holder hash) and
``enc`` (the ID number, encrypted for ``citizen-session``). Clerk session: JWT typ ``clerk``; the clerk row is
looked up so that role and department come from the database, not only from the token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import select

from schemas.canonical import b64u_decode

from ..deps import Ctx, DbSession, bearer, bearer_token
from ..kit.crypto import constant_time_equal
from ..kit.errors import Forbidden, Unauthenticated
from ..models import Clerk
from ..usage.service import Actor


@dataclass(frozen=True)
class CitizenCaller:
    holder_hash: str
    id_number: str
    claims: dict[str, Any]

    @property
    def actor(self) -> Actor:
        channel = str(self.claims.get("channel") or "citizen")
        return Actor("kiosk" if channel == "kiosk" else "citizen", "本人",
                     str(self.claims.get("place")) if self.claims.get("place") else None)


def current_citizen(ctx: Ctx, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                    ) -> CitizenCaller:
    claims = ctx.tokens.decode("citizen", bearer_token(creds))
    amr = claims.get("amr")
    if not isinstance(amr, list) or "face" not in amr:
        raise Unauthenticated("a face-verified citizen session is required", code="TOKEN_INVALID")
    hid, enc = claims.get("hid"), claims.get("enc")
    if not isinstance(hid, str) or not isinstance(enc, str):
        raise Unauthenticated("citizen token lacks its holder claims", code="TOKEN_INVALID")
    try:
        id_number = ctx.protector.decrypt(b64u_decode(enc), "citizen-session").decode()
    except Exception as exc:  # any failure to open the envelope is an invalid token
        raise Unauthenticated("citizen token is not readable", code="TOKEN_INVALID") from exc
    if not constant_time_equal(ctx.protector.holder_hash(id_number), hid):
        raise Unauthenticated("citizen token claims disagree", code="TOKEN_INVALID")
    return CitizenCaller(hid, id_number, claims)


@dataclass(frozen=True)
class ClerkCaller:
    id: int
    username: str
    name: str
    role: str
    department_id: str | None
    hall: str
    window: str

    @property
    def actor(self) -> Actor:
        return Actor("clerk", self.name, f"{self.hall} {self.window}".strip() or None)


def current_clerk(ctx: Ctx, session: DbSession,
                  creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> ClerkCaller:
    claims = ctx.tokens.decode("clerk", bearer_token(creds))
    ref = claims.get("cid", claims.get("sub"))
    stmt = select(Clerk)
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        stmt = stmt.where(Clerk.id == int(ref))
    elif isinstance(ref, str):
        stmt = stmt.where(Clerk.username == ref)
    else:
        raise Unauthenticated("clerk token has no subject", code="TOKEN_INVALID")
    row = session.scalars(stmt).first()
    if row is None or not row.active:
        raise Unauthenticated("unknown or inactive clerk", code="TOKEN_INVALID")
    return ClerkCaller(row.id, row.username, row.display_name, row.role, row.department_id, row.hall, row.window)


def current_reviewer(clerk: Annotated[ClerkCaller, Depends(current_clerk)]) -> ClerkCaller:
    if clerk.role not in ("reviewer", "admin"):
        raise Forbidden("only reviewers may review proof applications", code="NOT_A_REVIEWER")
    if clerk.department_id is None:
        raise Forbidden("the reviewer is not attached to a department", code="NOT_A_REVIEWER")
    return clerk


Citizen = Annotated[CitizenCaller, Depends(current_citizen)]
Reviewer = Annotated[ClerkCaller, Depends(current_reviewer)]
