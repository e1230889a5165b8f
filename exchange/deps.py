"""FastAPI dependencies: the app context and a unit of work per request (who is calling: :mod:`exchange.auth`)."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Final, Generic, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Request, params
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from .context import AppContext
from .kit.db import end_unit_of_work
from .kit.ratelimit import RateLimits, client_address, rate_limits, trusted_proxies

# Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in the thread pool, and
# each such round trip costs 50–80 µs of CPU on this machine kind, more than the work of these ones.


async def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


#: Set in a session's ``info`` once its unit of work has been ended in the endpoint's own thread.
_ENDED: Final = "licex.unit_of_work_ended"
T = TypeVar("T")


class InUnitOfWork(Generic[T]):
    """What a dependency returns when its check needs the database: the check itself, run on the request's
    session in the endpoint's worker-thread call, before the endpoint (:class:`UnitOfWorkRoute` passes the
    endpoint the result). The dependency's own thread hand-off is saved. An ``async def`` endpoint that takes one
    declares it as ``InUnitOfWork[...]`` and calls :meth:`resolve` in its worker-thread work itself; the route
    class refuses, at start-up, an endpoint that expects the result where nothing would resolve it."""

    __slots__ = ("_check",)

    def __init__(self, check: Callable[[Session], T]) -> None:
        self._check = check

    def resolve(self, session: Session) -> T:
        return self._check(session)


def resolved_in_unit_of_work(dependency: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a dependency that returns :class:`InUnitOfWork` (the route class checks its users)."""
    dependency.__licex_in_unit_of_work__ = True  # type: ignore[attr-defined]
    return dependency


async def get_session(ctx: Annotated[AppContext, Depends(get_ctx)]) -> AsyncIterator[Session]:
    """The request's unit of work (:func:`exchange.kit.db.unit_of_work` semantics). Opening a session does no
    I/O, so it happens here. A plain ``def`` endpoint on a :class:`UnitOfWorkRoute` commits (or rolls back) and
    closes it in the endpoint's own worker-thread call; otherwise that happens here, in one worker-thread call
    shielded from cancellation so a disconnecting client cannot leave a transaction open.

    That call takes its own limiter, not the shared thread pool's (as FastAPI does for the exit of a ``def``
    dependency): a request that holds a pooled connection must be able to give it back even when every pool
    thread is busy waiting for a connection."""
    session = ctx.sessions()
    try:
        yield session
    except BaseException as exc:
        if not session.info.get(_ENDED):
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(end_unit_of_work, session, exc, limiter=anyio.CapacityLimiter(1))
        raise
    if not session.info.get(_ENDED):
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(end_unit_of_work, session, None, limiter=anyio.CapacityLimiter(1))


def _session_parameter(hints: dict[str, Any]) -> str | None:
    """The name of the endpoint's :data:`DbSession` parameter, if it has one."""
    for name, hint in hints.items():
        for meta in getattr(hint, "__metadata__", ()):
            if isinstance(meta, params.Depends) and meta.dependency is get_session:
                return name
    return None


def _deferred_parameters(hints: dict[str, Any]) -> list[str]:
    """Parameters whose dependency returns :class:`InUnitOfWork` but that expect its result."""
    names = []
    for name, hint in hints.items():
        for meta in getattr(hint, "__metadata__", ()):
            if (isinstance(meta, params.Depends) and getattr(meta.dependency, "__licex_in_unit_of_work__", False)
                    and typing.get_origin(hint.__origin__) is not InUnitOfWork):
                names.append(name)
    return names


def _ending_unit_of_work(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` (a plain ``def`` taking a :data:`DbSession`) as a coroutine that runs it in one worker-thread
    call which first resolves its :class:`InUnitOfWork` arguments and last ends the request's unit of work
    (commit, or rollback on error; close).

    FastAPI would otherwise hand a ``def`` endpoint's request to the thread pool for each ``def`` dependency, once
    more to validate the returned value against the response model, and once more to end the unit of work in
    :func:`get_session`. Under load each hand-off costs more CPU than these requests' own Python work. A failed
    commit raises from the call, so the client sees the error, never a success that was not kept. Other
    endpoints are returned unchanged."""
    try:
        hints = typing.get_type_hints(endpoint, include_extras=True)
    except (NameError, TypeError):  # an annotation that cannot be resolved here: leave the endpoint as it is
        hints = {}
    name = _session_parameter(hints)
    deferred = _deferred_parameters(hints)
    if inspect.iscoroutinefunction(endpoint) or name is None:
        if deferred:  # fail at start-up, not with an unchecked caller at run time
            raise TypeError(f"{endpoint.__qualname__}: {deferred} would not be resolved (a def endpoint taking "
                            "DbSession is needed, or declare InUnitOfWork[...] and resolve it)")
        return endpoint

    @functools.wraps(endpoint)  # FastAPI reads the parameters through __wrapped__; the wrapper is a coroutine
    async def in_one_thread(*args: Any, **kwargs: Any) -> Any:
        session: Session = kwargs[name]

        def work() -> Any:
            try:
                for key in deferred:
                    kwargs[key] = kwargs[key].resolve(session)
                result = endpoint(*args, **kwargs)
            except BaseException as exc:
                session.info[_ENDED] = True
                end_unit_of_work(session, exc)
                raise
            session.info[_ENDED] = True
            end_unit_of_work(session, None)
            return result

        return await anyio.to_thread.run_sync(work)

    return in_one_thread


class UnitOfWorkRoute(APIRoute):
    """The exchange's route class: a plain ``def`` endpoint taking a :data:`DbSession` runs, and ends its unit
    of work, in one worker-thread call (see :func:`get_session`)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _ending_unit_of_work(endpoint), **kwargs)


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
