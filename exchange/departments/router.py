from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form

from ..deps import ClientIp, Ctx, DbSession, Limits, UnitOfWorkRoute
from . import service
from .responses import TokenOut

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1", tags=["departments"])


@router.post("/oauth/token", operation_id="issue_access_token", response_model=TokenOut,
             summary="Exchange a client assertion for a token")
def issue_access_token(
    ctx: Ctx,
    session: DbSession,
    limits: Limits,
    client: ClientIp,
    grant_type: Annotated[str, Form(max_length=64)],
    client_assertion_type: Annotated[str, Form(max_length=128)],
    client_assertion: Annotated[str, Form(max_length=8192)],
    scope: Annotated[str | None, Form(max_length=256)] = None,
) -> dict[str, Any]:
    """OAuth 2.0 client credentials with a private-key JWT client assertion (RFC 7523). 429 RATE_LIMITED
    (``Retry-After``) when one address asks too often."""
    limits.enforce("token_client", client, what="token requests from this address")
    return service.issue_access_token(ctx, session, grant_type=grant_type, assertion_type=client_assertion_type,
                                      assertion=client_assertion, scope=scope)
