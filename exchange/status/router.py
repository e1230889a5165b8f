from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field

from verifier.status_list import MEDIA_TYPE

from ..auth.department import DepartmentCaller, require_department
from ..deps import Ctx, DbSession, UnitOfWorkRoute
from ..kit.ratelimit import rate_limits
from . import service

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1", tags=["status"])


class AllocationIn(BaseModel):
    count: int = Field(default=1, ge=1, le=service.MAX_ALLOCATION)


class StatusReferenceOut(BaseModel):
    idx: int
    uri: str


class AllocationOut(BaseModel):
    references: list[StatusReferenceOut]


@router.get("/status-lists/{list_id}", operation_id="get_status_list", response_class=Response,
            responses={200: {"content": {MEDIA_TYPE: {}}, "description": "Status List Token (JWT)"}},
            summary="A Status List Token (IETF Token Status List): 2 bits per licence or proof")
def get_status_list(ctx: Ctx, session: DbSession,
                    list_id: Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]+$")]) -> Response:
    token = service.signed_token(ctx, session, list_id)
    return Response(token, media_type=MEDIA_TYPE,
                    headers={"Cache-Control": f"public, max-age={service.TTL_SECONDS}"})


@router.post("/status-lists/allocations", operation_id="allocate_status_entries", response_model=AllocationOut,
             summary="A department reserves status list entries to put in licences before it signs them")
def allocate_status_entries(
    ctx: Ctx, session: DbSession, body: AllocationIn,
    caller: Annotated[DepartmentCaller, Depends(require_department("issue:licences"))],
) -> AllocationOut:
    """Throttled per department (``LICEX_RATE_STATUS_ALLOCATION`` requests, ``LICEX_RATE_STATUS_ENTRIES``
    entries): entries are never freed, so a leaked client key must not be able to fill the lists."""
    limits = rate_limits(ctx)
    limits.enforce("status_allocation", caller.department_id, what="allocation requests")
    limits.enforce("status_entries", caller.department_id, what="status entries", field="count", cost=body.count)
    refs = service.allocate(ctx, session, owner=caller.department_id, count=body.count)
    return AllocationOut(references=[StatusReferenceOut(idx=r.idx, uri=r.uri) for r in refs])
