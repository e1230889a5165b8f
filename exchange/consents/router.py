"""The citizen's consent routes: list the requests for my licences, approve or decline one, withdraw one."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from ..auth.citizen import Citizen
from ..deps import Ctx, DbSession, UnitOfWorkRoute
from . import service as consents
from .responses import ConsentOut

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/citizen", tags=["citizen"])

ConsentId = Annotated[str, Path(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")]


class DecisionIn(BaseModel):
    decision: Literal["approve", "decline"]


@router.get("/consents", operation_id="list_consents", response_model=list[ConsentOut],
            summary="Requests for my licences and their status")
def list_consents(
    ctx: Ctx, session: DbSession, caller: Citizen,
    status: Annotated[Literal["pending", "approved", "declined", "withdrawn", "expired"] | None, Query()] = None,
) -> list[dict[str, Any]]:
    return consents.list_for_citizen(ctx, session, caller.holder_hash, status)


@router.post("/consents/{consent_id}", operation_id="decide_consent", response_model=ConsentOut,
             summary="Approve or decline a request")
def decide_consent(ctx: Ctx, session: DbSession, caller: Citizen, consent_id: ConsentId,
                   body: DecisionIn) -> dict[str, Any]:
    return consents.decide(ctx, session, caller.holder_hash, consent_id, body.decision)


@router.post("/consents/{consent_id}/withdraw", operation_id="withdraw_consent", response_model=ConsentOut,
             summary="Withdraw a consent")
def withdraw_consent(ctx: Ctx, session: DbSession, caller: Citizen, consent_id: ConsentId) -> dict[str, Any]:
    return consents.withdraw(ctx, session, caller.holder_hash, consent_id)
