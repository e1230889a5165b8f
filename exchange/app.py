"""The FastAPI application: routers, the one error handler, the body-size limit, lifespan-built context."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from .config import Settings
from .context import AppContext
from .deps import Ctx
from .kit.http import BodyLimitMiddleware, install_error_handlers
from .kit.responses import ERROR_RESPONSES, HealthOut

API_DESCRIPTION = """
电子证照交换平台 · licence exchange for a no-certificate city (无证明城市).

Departments push signed licences (SD-JWT VC) with client-assertion tokens; citizens prove who they are by
face and show a short-lived QR; counters pull only what a matter needs, with the citizen's consent; the exchange
issues sealed instant proofs. Errors are JSON: `{"error": CODE, "detail": ...}`.
"""


def create_app(settings: Settings | None = None, *, context: AppContext | None = None) -> FastAPI:
    settings = settings or (context.settings if context else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = context is None
        ctx = context or AppContext.build(settings)
        app.state.ctx = ctx
        _compose(ctx)
        from .usage.jobs import start as start_usage_jobs

        start_usage_jobs(ctx)  # log sequencer + retention purge, only while serving
        try:
            yield
        finally:
            _release(ctx)
            if owned:
                ctx.close()

    logging.basicConfig(level=settings.log_level)
    if settings.log_json:
        from .ops.logs import configure_logging

        configure_logging(settings.log_level)
    app = FastAPI(title="licex — 电子证照交换平台", version="0.1.0", description=API_DESCRIPTION,
                  lifespan=lifespan, **_no_native_telemetry())
    if context is not None:
        app.state.ctx = context
        _compose(context)
    install_error_handlers(app)
    _include_routers(app)
    _health(app)
    app.add_middleware(BodyLimitMiddleware, default_limit=settings.max_body_bytes,
                       overrides=_upload_limits(settings))
    from .ops.middleware import ObservabilityMiddleware

    app.add_middleware(ObservabilityMiddleware)  # outermost: request id, access line, latency histogram
    return app


def _no_native_telemetry() -> dict[str, Any]:
    """licex exports its own Prometheus metrics and JSON logs (:mod:`exchange.ops`). FastAPI releases with native
    OpenTelemetry look up the global OTel providers on every request even when none is configured; switch that
    off where the ``telemetry`` option exists (about 3.5 % of a worker's CPU in a profile under bench_counter's
    load)."""
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}}


def _health(app: FastAPI) -> None:
    @app.get("/healthz", operation_id="health", tags=["ops"], summary="Liveness and database reachability",
             response_model=HealthOut)
    def health(ctx: Ctx) -> dict[str, str]:
        with ctx.engine.connect() as conn:
            conn.execute(text("select 1"))
        return {"status": "ok"}


def _compose(ctx: AppContext) -> None:
    """Wire the adapters the services read from the context (the proof data source, the log-backlog probe of
    ``/metrics``)."""
    from .proofs.datasource import install_default
    from .tlog.sequencer import install_lag_probe

    install_default(ctx)
    install_lag_probe(ctx)


def _release(ctx: AppContext) -> None:
    from .proofs.pipeline import close_pipeline

    close_pipeline(ctx)
    from .tlog.sequencer import remove_lag_probe
    from .usage.jobs import stop as stop_usage_jobs

    remove_lag_probe(ctx)

    stop_usage_jobs(ctx)


def _upload_limits(settings: Settings) -> dict[str, int]:
    return {"/api/v1/proofs/verify": settings.max_upload_bytes, "/api/v1/citizen/face": 8 * 1_048_576,
            "/api/v1/kiosk/face": 8 * 1_048_576, "/api/v1/archive": settings.archive_max_bytes + 65_536,
            "/api/v1/counter/cases": settings.archive_max_bytes + 65_536}


def _include_routers(app: FastAPI) -> None:
    from .applications.router import router as applications
    from .archive.router import router as archive
    from .catalogue.router import router as catalogue
    from .citizens.router import router as citizens
    from .consents.router import router as consents
    from .counter.router import router as counter
    from .departments.router import router as departments
    from .licences.router import router as licences
    from .ops.router import router as ops
    from .proofs.router import router as proofs
    from .qr.router import router as qr
    from .status.router import router as status_lists
    from .tlog.router import router as tlog
    from .trust.router import router as trust

    # Starlette tries routes in order, so the counter flow's routes (hit most) come first; no two routes answer
    # the same method and path, so the order changes nothing else.
    routers: list[Any] = [counter, qr, consents, citizens, licences, trust, status_lists, proofs, applications,
                         catalogue, departments, archive, tlog]
    routers.append(ops)
    for optional in ("exchange.web:pages_router",):
        module_name, attr = optional.split(":")
        try:
            module = __import__(module_name, fromlist=[attr])
        except ImportError:  # a page package not present in this build
            continue
        routers.append(getattr(module, attr))
        mount = getattr(module, "mount_static", None)
        if mount is not None:
            mount(app)
    for router in routers:
        app.include_router(router, responses=ERROR_RESPONSES)
