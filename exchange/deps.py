"""FastAPI dependencies: the app context and a unit of work per request (who is calling: :mod:`exchange.auth`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from .context import AppContext
from .kit.db import end_unit_of_work
from .kit.ratelimit import RateLimits, client_address, rate_limits, trusted_proxies

# Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in the thread pool, and
# each such round trip costs 50–80 µs of CPU on this machine kind, more than the work of these ones.


async def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


async def get_session(ctx: Annotated[AppContext, Depends(get_ctx)]) -> AsyncIterator[Session]:
    """The request's unit of work (:func:`exchange.kit.db.unit_of_work` semantics). Opening a session does no
    I/O, so it happens here; the commit (or rollback) and close run in one worker-thread call, shielded from
    cancellation so a disconnecting client cannot leave a transaction open.

    That call takes its own limiter, not the shared thread pool's (as FastAPI does for the exit of a ``def``
    dependency): a request that holds a pooled connection must be able to give it back even when every pool
    thread is busy waiting for a connection."""
    session = ctx.sessions()
    try:
        yield session
    except BaseException as exc:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(end_unit_of_work, session, exc, limiter=anyio.CapacityLimiter(1))
        raise
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(end_unit_of_work, session, None, limiter=anyio.CapacityLimiter(1))


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
