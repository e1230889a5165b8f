"""FastAPI dependencies: the app context and a unit of work per request (who is calling: :mod:`exchange.auth`)."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Annotated, Any, Final

import anyio
import anyio.to_thread
from fastapi import Depends, Request, Response, params
from fastapi.exceptions import ResponseValidationError
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from fastapi._compat import ModelField

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


def _session_parameter(endpoint: Callable[..., Any]) -> str | None:
    """The name of ``endpoint``'s :data:`DbSession` parameter, if it has one."""
    try:
        hints = typing.get_type_hints(endpoint, include_extras=True)
    except (NameError, TypeError):  # an annotation that cannot be resolved here: leave the endpoint as it is
        return None
    for name, hint in hints.items():
        for meta in getattr(hint, "__metadata__", ()):
            if isinstance(meta, params.Depends) and meta.dependency is get_session:
                return name
    return None


def _ending_unit_of_work(endpoint: Callable[..., Any], response_field: list[ModelField | None]
                         ) -> Callable[..., Any]:
    """``endpoint`` (a plain ``def`` taking a :data:`DbSession`) as a coroutine that runs it in one worker-thread
    call which also checks the returned value against the response model and then ends the request's unit of
    work (commit; rollback if the endpoint or the check failed; close) before returning.

    FastAPI would otherwise hand a ``def`` endpoint's request to the thread pool twice more: to validate the
    returned value against the response model, and to end the unit of work in :func:`get_session`. Under load
    each hand-off costs more CPU than these requests' own Python work. A failed commit raises from the call, and
    so does an answer that does not fit its model (before anything is committed): the client never sees an error
    for a write that was kept, nor a success that was not. FastAPI validates the (already validated) value once
    more on the event loop. A request cancelled while the call runs (the client went away) still lets it finish
    and commit, as any write that has reached the database would. Other endpoints are returned unchanged.
    ``response_field``: filled with the route's response model once FastAPI has built it."""
    if inspect.iscoroutinefunction(endpoint):
        return endpoint
    name = _session_parameter(endpoint)
    if name is None:
        return endpoint

    @functools.wraps(endpoint)  # FastAPI reads the parameters through __wrapped__; the wrapper is a coroutine
    async def in_one_thread(*args: Any, **kwargs: Any) -> Any:
        session: Session = kwargs[name]

        def work() -> Any:
            try:
                result = endpoint(*args, **kwargs)
                field = response_field[0]
                if field is not None and not isinstance(result, Response):
                    value, errors = field.validate(result, {}, loc=("response",))
                    if errors:
                        raise ResponseValidationError(errors=errors, body=result)
                    result = value
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
    """The exchange's route class: a plain ``def`` endpoint taking a :data:`DbSession` runs, has its answer
    checked against the response model, and ends its unit of work, in one worker-thread call (see
    :func:`get_session`)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        response_field: list[ModelField | None] = [None]
        super().__init__(path, _ending_unit_of_work(endpoint, response_field), **kwargs)
        response_field[0] = self.response_field


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
