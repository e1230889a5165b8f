"""``GET /metrics``: the Prometheus text exposition (block it at the balancer for outside callers)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from . import metrics

router = APIRouter(tags=["ops"])


@router.get("/metrics", operation_id="metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE_LATEST)
