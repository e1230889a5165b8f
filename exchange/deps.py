"""FastAPI dependencies: the app context and a unit of work per request (who is calling: :mod:`exchange.auth`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from .context import AppContext
from .kit.db import unit_of_work
from .kit.ratelimit import RateLimits, client_address, rate_limits, trusted_proxies


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
