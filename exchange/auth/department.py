"""Department API clients: the access token (JWT typ "dept-access", minted by ``/oauth/token`` after an RFC 7523
client assertion) and the dependency that requires a scope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials

from ..context import AppContext
from ..deps import Ctx
from ..kit.errors import Forbidden
from .bearer import bearer, bearer_token


@dataclass(frozen=True)
class DepartmentCaller:
    client_id: str
    department_id: str
    scopes: frozenset[str]
    claims: dict[str, Any]


def require_department(scope: str
                       ) -> Callable[[AppContext, HTTPAuthorizationCredentials | None], Awaitable[DepartmentCaller]]:
    async def _dep(ctx: Ctx, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                   ) -> DepartmentCaller:
        claims = ctx.tokens.decode("dept-access", bearer_token(creds))
        scopes = frozenset(str(claims.get("scope", "")).split())
        if scope not in scopes:
            raise Forbidden(f"the token lacks the '{scope}' scope", code="INSUFFICIENT_SCOPE")
        return DepartmentCaller(str(claims["sub"]), str(claims["dept"]), scopes, claims)

    return _dep
