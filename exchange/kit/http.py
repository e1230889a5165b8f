"""HTTP plumbing shared by every router: body-size limit, the single error handler, JSON error shape."""

from __future__ import annotations

import errno
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sqlalchemy_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import HTTP_STATUS, ExchangeError, TooManyRequests

log = logging.getLogger("licex.http")
_STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT})


def error_body(code: str, detail: Any = None, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "detail": detail}
    if field is not None:
        body["field"] = field
    return body


class BodyLimitMiddleware:
    """Refuses request bodies larger than a limit with 413 before the route sees them (declared or streamed)."""

    def __init__(self, app: ASGIApp, default_limit: int, overrides: dict[str, int] | None = None) -> None:
        self.app = app
        self.default_limit = default_limit
        self.overrides = overrides or {}

    def _limit(self, path: str) -> int:
        for prefix, limit in self.overrides.items():
            if path.startswith(prefix):
                return limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope.get("path", ""))
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > limit:
                    await _send_json(send, 413, error_body("PAYLOAD_TOO_LARGE", f"body exceeds {limit} bytes"))
                    return
        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _send_json(send, 413, error_body("PAYLOAD_TOO_LARGE", f"body exceeds {limit} bytes"))


class _BodyTooLarge(Exception):
    pass


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    import json

    data = json.dumps(body, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ExchangeError)
    async def _exchange_error(_request: Request, exc: ExchangeError) -> JSONResponse:
        status = HTTP_STATUS.get(exc.kind, 500)
        if status >= 500:
            log.exception("internal error %s", exc.code)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        elif status == 503:
            headers = {"Retry-After": "5"}
        return JSONResponse(error_body(exc.code, exc.detail, exc.field), status_code=status, headers=headers)

    @app.exception_handler(sqlalchemy_exc.OperationalError)
    @app.exception_handler(sqlalchemy_exc.InterfaceError)
    @app.exception_handler(sqlalchemy_exc.TimeoutError)
    async def _database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
        # the database is down, restarting, unreachable, read-only or full: nothing was committed (the unit of
        # work rolled back), the client may retry — 503, never a 500 or a hung worker
        log.error("database unavailable: %s", type(exc).__name__)
        return JSONResponse(error_body("UNAVAILABLE", "the database is unavailable; try again shortly"),
                            status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(OSError)
    async def _os_error(_request: Request, exc: OSError) -> JSONResponse:
        if exc.errno in _STORAGE_ERRNOS:
            log.error("storage unavailable: %s", errno.errorcode.get(exc.errno or 0, "?"))
            return JSONResponse(error_body("STORAGE_UNAVAILABLE", "storage is full or read-only; try again later"),
                                status_code=503, headers={"Retry-After": "30"})
        log.exception("internal error (%s)", type(exc).__name__)
        return JSONResponse(error_body("INTERNAL_ERROR", "internal error"), status_code=500)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")),
             "message": err.get("msg", "")}
            for err in exc.errors()
        ]
        field = problems[0]["field"] if problems else None
        return JSONResponse(error_body("INVALID_INPUT", problems, field), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 401: "UNAUTHENTICATED", 403: "FORBIDDEN"}.get(
            exc.status_code, "HTTP_ERROR")
        return JSONResponse(error_body(code, exc.detail), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))
