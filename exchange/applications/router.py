"""HTTP API of reviewed proofs: citizens apply and follow their applications; reviewers work the queue."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from ..auth.citizen import CitizenWithId
from ..auth.clerk import Reviewer
from ..deps import Ctx, DbSession, UnitOfWorkRoute
from . import service
from .responses import ApplicationOut, QueueItemOut

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1", tags=["proof applications"])

APPLICATION_ID = Path(min_length=4, max_length=32, pattern=r"^[0-9A-Z]+$")


class ApplyIn(BaseModel):
    type: str = Field(min_length=1, max_length=64, description="proof type key (catalogue), mode 'reviewed'")
    purpose: str = Field(min_length=1, max_length=100, description="用途, printed on the proof")
    details: dict[str, Annotated[str, Field(max_length=100)]] = Field(
        default_factory=dict, max_length=8, description="facts the department needs from the applicant")


class ApplyOut(BaseModel):
    id: str
    status: str


class ReviewIn(BaseModel):
    decision: Literal["approve", "reject"]
    reason: str | None = Field(default=None, max_length=500)


@router.post("/proof-applications", operation_id="apply_proof", status_code=201, response_model=ApplyOut,
             summary="Apply for a proof the department issues after review")
def apply_proof(ctx: Ctx, session: DbSession, citizen: CitizenWithId, body: ApplyIn) -> ApplyOut:
    applicant = service.Applicant(citizen.id_number, citizen.holder_hash, citizen.actor)
    row = service.apply(ctx, session, applicant, type_key=body.type, purpose=body.purpose, details=body.details)
    return ApplyOut(id=row.id, status=row.status)


@router.get("/proof-applications", operation_id="list_my_applications", response_model=list[ApplicationOut],
            summary="The citizen's applications: status, the reviewer's reason, the proof when approved")
def list_my_applications(ctx: Ctx, session: DbSession, citizen: CitizenWithId) -> list[dict[str, Any]]:
    return service.list_for_holder(ctx, session, citizen.holder_hash)


@router.get("/review/applications", operation_id="list_review_queue", response_model=list[QueueItemOut],
            summary="The reviewer's department queue, with what the department's records say")
def list_review_queue(
    ctx: Ctx, session: DbSession, clerk: Reviewer,
    status: Annotated[Literal["pending", "approved", "rejected"], Query()] = "pending",
) -> list[dict[str, Any]]:
    reviewer = service.Reviewer(clerk.id, clerk.department_id, clerk.actor)
    return service.queue(ctx, session, reviewer, status=status)


@router.post("/review/applications/{application_id}", operation_id="review_proof", response_model=ApplicationOut,
             summary="Approve (the proof is made and sealed) or reject with a reason")
def review_proof(ctx: Ctx, session: DbSession, clerk: Reviewer, body: ReviewIn,
                 application_id: Annotated[str, APPLICATION_ID]) -> dict[str, Any]:
    reviewer = service.Reviewer(clerk.id, clerk.department_id, clerk.actor)
    row = service.review(ctx, session, reviewer, application_id, decision=body.decision, reason=body.reason)
    return service.view_for_citizen(ctx, row)
