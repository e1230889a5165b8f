"""Reading the bearer token of a request (Authorization header, or a named cookie where a page allows it)."""

from __future__ import annotations

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..kit.errors import Unauthenticated

bearer = HTTPBearer(auto_error=False)


def bearer_token(creds: HTTPAuthorizationCredentials | None, request: Request | None = None,
                 cookie: str | None = None) -> str:
    if creds is not None and creds.scheme.lower() == "bearer":
        return creds.credentials
    if request is not None and cookie and request.cookies.get(cookie):
        return request.cookies[cookie]
    raise Unauthenticated("a bearer token is required", code="TOKEN_MISSING")
