"""Clerk accounts: argon2id password hashes, login, the clerk session (JWT typ "clerk") and its dependencies:
``CounterClerk`` (a counter clerk who scans and pulls) and ``Reviewer`` (a department's proof reviewer).

Login compares in constant time whether or not the username exists (an unknown user is checked against a dummy
hash), and says only BAD_CREDENTIALS. Every request reloads the clerk row, so a deactivated account or a changed
role, hall or window takes effect at once, not when the token expires.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from ..context import AppContext
from ..deps import Ctx, DbSession
from ..kit.errors import Forbidden, InvalidInput, Unauthenticated
from ..models import Clerk
from ..usage.service import Actor
from .bearer import bearer, bearer_token

CLERK_TYP: Final = "clerk"
ROLES: Final = frozenset({"clerk", "reviewer", "admin"})
USERNAME_RE: Final = re.compile(r"[a-z][a-z0-9_]{2,63}")
MAX_PASSWORD_CHARS: Final = 256
MIN_PASSWORD_CHARS: Final = 12

_hasher = PasswordHasher()
_DUMMY_HASH: Final = _hasher.hash("licex-dummy-password-for-timing")


def hash_password(password: str) -> str:
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise InvalidInput(f"passwords have {MIN_PASSWORD_CHARS}–{MAX_PASSWORD_CHARS} characters",
                           field="password")
    return _hasher.hash(password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class ClerkCaller:
    id: int
    username: str
    name: str
    role: str
    hall: str
    window: str
    department_id: str | None

    @property
    def place(self) -> str:
        if self.role == "reviewer":  # a department's review desk, not a service window
            return f"{self.hall} 证明审核岗"
        return f"{self.hall} {self.window}号窗口" if self.window else self.hall

    def view(self) -> dict[str, Any]:
        return {"username": self.username, "name": self.name, "hall": self.hall, "window": self.window,
                "role": self.role, "department": self.department_id}


# Every clerk request reads its account: a Core select of the caller's columns, built once (an ORM ``get`` costs
# about twice the CPU of this statement).
_CALLER = (select(Clerk.id, Clerk.username, Clerk.display_name, Clerk.role, Clerk.hall, Clerk.window,
                  Clerk.department_id, Clerk.active).where(Clerk.id == bindparam("id")))


def _caller(row: Clerk | Row[int, str, str, str, str, str, str | None, bool]) -> ClerkCaller:
    return ClerkCaller(row.id, row.username, row.display_name, row.role, row.hall, row.window, row.department_id)


def login(ctx: AppContext, session: Session, username: str, password: str) -> tuple[str, int, ClerkCaller]:
    if not USERNAME_RE.fullmatch(username) or not 1 <= len(password) <= MAX_PASSWORD_CHARS:
        _verify(_DUMMY_HASH, password[:MAX_PASSWORD_CHARS])
        raise Unauthenticated("wrong username or password", code="BAD_CREDENTIALS")
    row = session.scalars(select(Clerk).where(Clerk.username == username)).first()
    ok = _verify(row.password_hash if row is not None else _DUMMY_HASH, password)
    if row is None or not ok or not row.active or row.role not in ROLES:
        raise Unauthenticated("wrong username or password", code="BAD_CREDENTIALS")
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = _hasher.hash(password)
    ttl = ctx.settings.clerk_session_ttl_s
    token = ctx.tokens.encode(CLERK_TYP, {"sub": str(row.id), "usr": row.username, "role": row.role}, ttl)
    return token, ttl, _caller(row)


def require_clerk(ctx: Ctx, session: DbSession,
                  creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> ClerkCaller:
    claims = ctx.tokens.decode(CLERK_TYP, bearer_token(creds))
    try:
        clerk_id = int(str(claims.get("sub")))
    except ValueError as exc:
        raise Unauthenticated("token invalid", code="TOKEN_INVALID") from exc
    row = session.connection().execute(_CALLER, {"id": clerk_id}).first()
    if row is None or not row.active or row.username != claims.get("usr"):
        raise Unauthenticated("the clerk account is not active", code="TOKEN_INVALID")
    return _caller(row)


async def require_counter_clerk(caller: Annotated[ClerkCaller, Depends(require_clerk)]) -> ClerkCaller:
    if caller.role != "clerk":
        raise Forbidden("only counter clerks may scan and pull", code="ROLE_REQUIRED")
    return caller


CounterClerk = Annotated[ClerkCaller, Depends(require_counter_clerk)]


@dataclass(frozen=True)
class ReviewerCaller:
    id: int
    department_id: str
    actor: Actor


async def current_reviewer(clerk: Annotated[ClerkCaller, Depends(require_clerk)]) -> ReviewerCaller:
    if clerk.role not in ("reviewer", "admin"):
        raise Forbidden("only reviewers may review proof applications", code="ROLE_REQUIRED")
    if clerk.department_id is None:
        raise Forbidden("the reviewer is not attached to a department", code="ROLE_REQUIRED")
    return ReviewerCaller(clerk.id, clerk.department_id, Actor("clerk", clerk.name,
                                                               clerk.place))


Reviewer = Annotated[ReviewerCaller, Depends(current_reviewer)]
