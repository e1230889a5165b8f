"""FastAPI dependencies: the app context and a unit of work per request (who is calling: :mod:`exchange.auth`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from .context import AppContext
from .kit.db import unit_of_work


def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def get_session(ctx: Annotated[AppContext, Depends(get_ctx)]) -> Iterator[Session]:
    with unit_of_work(ctx.sessions) as session:
        yield session


Ctx = Annotated[AppContext, Depends(get_ctx)]
# scope="function": the unit of work commits when the route returns, BEFORE the response is sent — a client
# never sees a success whose commit then fails (the default "request" scope would commit after sending).
DbSession = Annotated[Session, Depends(get_session, scope="function")]
