"""``/v/{proof_id}``: where a phone lands after scanning a proof's QR. Masked data only.

The same URL answers JSON (``Accept: application/json`` or ``?format=json``) with the record of
``GET /api/v1/public/proofs/{id}``, so the URL in the QR leads straight to the record. The QR's signed token
rides in the URL fragment, which browsers never send: the page shows the exchange's record; offline checks of
the token are the verifier's job.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ..deps import ClientIp, Ctx, DbSession, Limits, UnitOfWorkRoute
from ..kit.errors import NotFound
from ..proofs import service
from .templating import render

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)


def _wants_json(request: Request, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "json"
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


@router.get("/v/{proof_id}", name="verify_record")
def verify_record_page(
    request: Request, ctx: Ctx, session: DbSession, limits: Limits, client: ClientIp,
    proof_id: Annotated[str, Path(min_length=1, max_length=64)],
    fmt: Annotated[str | None, Query(alias="format", pattern="^(json|html)$")] = None,
) -> Response:
    limits.enforce("public_client", client, what="verification requests from this address")
    record: dict[str, Any] | None
    try:
        record = service.public_record(ctx, session, proof_id.upper())
    except NotFound:
        record = None
    if _wants_json(request, fmt):
        if record is None:
            return JSONResponse({"error": "PROOF_NOT_FOUND", "detail": "no such proof"}, status_code=404,
                                headers={"Cache-Control": "no-store"})
        return JSONResponse(record, headers={"Cache-Control": "no-store"})
    response: HTMLResponse = render(request, "verify_record.html", record=record,
                                    status_code=200 if record is not None else 404)
    return response
