"""One ASGI middleware for request ids, the access log line and the request-latency histogram."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..kit.http import error_body
from . import metrics
from .logs import REQUEST_ID

log = logging.getLogger("licex.access")
errors = logging.getLogger("licex.errors")
_INTERNAL_ERROR: Final = json.dumps(error_body("INTERNAL_ERROR", "internal error")).encode()
REQUEST_ID_HEADER: Final = b"x-request-id"
_VALID_ID: Final = re.compile(rb"[A-Za-z0-9._-]{8,64}")
#: Metrics and health probes are not logged line by line (the balancer polls them).
_QUIET: Final = frozenset({"/metrics", "/healthz"})
COUNTER_PULL_ROUTE: Final = "/api/v1/counter/cases/{case_id}/pull"


class ObservabilityMiddleware:
    """Gives each request an id (the caller's ``X-Request-ID`` if it is a plain token, else 32 random hex digits),
    returns it in ``X-Request-ID``, writes one JSON access line and observes the latency per route template.
    An error no handler knew is logged here, with the request's id, and answered ``500 {"error":
    "INTERNAL_ERROR"}`` carrying the same id (the caller can quote it; the log line names it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope.get("headers", ()):
            if name == REQUEST_ID_HEADER and _VALID_ID.fullmatch(value):
                request_id = value.decode("ascii")
                break
        request_id = request_id or secrets.token_hex(16)  # 128 random bits, as a UUID4 has 122
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500
        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status, started_response = int(message["status"]), True
                headers = list(message.get("headers", ()))
                headers.append((REQUEST_ID_HEADER, request_id.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            errors.exception("unhandled error", extra={"method": scope.get("method"), "path": scope["path"]})
            if started_response:
                raise  # part of an answer went out: the server can only drop the connection
            await send_with_id({"type": "http.response.start", "status": 500, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(_INTERNAL_ERROR)).encode())]})
            await send_with_id({"type": "http.response.body", "body": _INTERNAL_ERROR})
        finally:
            seconds = time.perf_counter() - started
            route_obj = scope.get("route")
            route = getattr(route_obj, "path", None) or ("static" if scope["path"].startswith("/static/")
                                                         else "unmatched")
            method = str(scope.get("method", ""))
            metrics.observe_request(method, route, status, seconds)
            if route == COUNTER_PULL_ROUTE:
                metrics.counter_flow_completed("ok" if status == 200 else f"http_{status}")
            if route not in _QUIET:
                log.info("request", extra={"method": method, "route": route, "status": status,
                                           "duration_ms": round(seconds * 1000, 2)})
            REQUEST_ID.reset(token)
