"""FastAPI dependencies: the app context, a unit of work per request, and the callers' identities."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from .context import AppContext
from .kit.db import unit_of_work
from .kit.errors import Forbidden, Unauthenticated
from .kit.ratelimit import RateLimits, client_address, rate_limits, trusted_proxies

bearer = HTTPBearer(auto_error=False)


def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def get_session(ctx: Annotated[AppContext, Depends(get_ctx)]) -> Iterator[Session]:
    with unit_of_work(ctx.sessions) as session:
        yield session


Ctx = Annotated[AppContext, Depends(get_ctx)]

def get_limits(ctx: Ctx) -> RateLimits:
    return rate_limits(ctx)


def get_client_ip(request: Request, ctx: Ctx) -> str:
    """The caller's address (X-Forwarded-For believed only from ``LICEX_TRUSTED_PROXIES``)."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.get("x-forwarded-for"), trusted_proxies(ctx))


Limits = Annotated[RateLimits, Depends(get_limits)]
ClientIp = Annotated[str, Depends(get_client_ip)]
# scope="function": the unit of work commits when the route returns, BEFORE the response is sent — a client
# never sees a success whose commit then fails (the default "request" scope would commit after sending).
DbSession = Annotated[Session, Depends(get_session, scope="function")]


def bearer_token(creds: HTTPAuthorizationCredentials | None, request: Request | None = None,
                 cookie: str | None = None) -> str:
    if creds is not None and creds.scheme.lower() == "bearer":
        return creds.credentials
    if request is not None and cookie and request.cookies.get(cookie):
        return request.cookies[cookie]
    raise Unauthenticated("a bearer token is required", code="TOKEN_MISSING")


@dataclass(frozen=True)
class DepartmentCaller:
    client_id: str
    department_id: str
    scopes: frozenset[str]
    claims: dict[str, Any]


def require_department(scope: str) -> Any:
    def _dep(ctx: Ctx, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> DepartmentCaller:
        claims = ctx.tokens.decode("dept-access", bearer_token(creds))
        scopes = frozenset(str(claims.get("scope", "")).split())
        if scope not in scopes:
            raise Forbidden(f"the token lacks the '{scope}' scope", code="INSUFFICIENT_SCOPE")
        return DepartmentCaller(str(claims["sub"]), str(claims["dept"]), scopes, claims)

    return _dep
