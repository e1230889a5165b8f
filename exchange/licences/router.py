from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..auth.department import DepartmentCaller, require_department
from ..deps import Ctx, DbSession, UnitOfWorkRoute
from ..kit.errors import InvalidInput, UnsupportedMediaType
from ..trust.service import current_trust_list
from . import service
from .responses import StatusOut

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1", tags=["licences"])

LICENCE_ID = Path(min_length=20, max_length=128, pattern=r"^[0-9A-Za-z.]+$")
SD_JWT_TYPES = ("application/dc+sd-jwt", "application/sd-jwt", "application/vc+sd-jwt")


class IntakeOut(BaseModel):
    licence_id: str
    type: str
    created: bool
    status: str


class StatusChange(BaseModel):
    action: Literal["revoke", "suspend", "reinstate"]
    reason: str = Field(min_length=1, max_length=200)


async def _credential_from(request: Request) -> str:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if ctype in SD_JWT_TYPES:
        try:
            return body.decode("ascii")
        except UnicodeDecodeError as exc:
            raise InvalidInput("an SD-JWT is ASCII", code="MALFORMED_LICENCE", field="credential") from exc
    if ctype == "application/json":
        try:
            doc = json.loads(body)
        except ValueError as exc:
            raise InvalidInput("body is not JSON", code="INVALID_JSON", field="body") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("credential"), str):
            raise InvalidInput('expected {"credential": "<SD-JWT>"}', field="credential")
        return str(doc["credential"])
    raise UnsupportedMediaType(f"send {SD_JWT_TYPES[0]} or application/json", field="content-type")


@router.post(
    "/licences", operation_id="push_licence", status_code=201, response_model=IntakeOut,
    summary="A department pushes a signed licence (SD-JWT VC) into the registry",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/dc+sd-jwt": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object", "required": ["credential"],
                                        "properties": {"credential": {"type": "string"}}}}}}},
)
async def push_licence(
    request: Request, response: Response, ctx: Ctx, session: DbSession,
    caller: Annotated[DepartmentCaller, Depends(require_department("issue:licences"))],
) -> IntakeOut:
    credential = await _credential_from(request)

    def work() -> service.IntakeResult:  # verification and the database work, off the event loop
        trust = current_trust_list(ctx, session)
        prepared = service.prepare(credential, trust=trust, catalogue=ctx.catalogue,
                                   pushing_department=caller.department_id)
        return service.store(session, prepared, ctx.protector, ctx=ctx)

    result = await run_in_threadpool(work)
    if not result.created:
        response.status_code = 200
    return IntakeOut(licence_id=result.licence_id, type=result.type_key, created=result.created,
                     status=result.status)


@router.get("/status/{licence_id}", operation_id="get_licence_status", response_model=StatusOut,
            summary="Current status of a licence")
def get_licence_status(session: DbSession, licence_id: Annotated[str, LICENCE_ID]) -> dict[str, Any]:
    return service.status_view(service.get(session, licence_id))


@router.post("/licences/{licence_id}/status", operation_id="change_licence_status", response_model=StatusOut,
             summary="Revoke, suspend or reinstate a licence (issuing department only)")
def change_licence_status(
    session: DbSession, body: StatusChange, licence_id: Annotated[str, LICENCE_ID],
    caller: Annotated[DepartmentCaller, Depends(require_department("manage:licences"))],
) -> dict[str, Any]:
    row = service.change_status(session, licence_id, body.action, body.reason,
                                department_id=caller.department_id, actor=caller.client_id)
    return service.status_view(row)


class SignedByOut(BaseModel):
    fingerprint: str
    licences: list[str]


@router.get("/licences/signed-by/{fingerprint}", operation_id="list_licences_signed_by",
            response_model=SignedByOut,
            summary="The department's licences signed by one of its keys (to re-issue after a compromise)")
def list_licences_signed_by(
    session: DbSession, fingerprint: Annotated[str, Path(min_length=64, max_length=95, pattern=r"^[0-9a-fA-F:]+$")],
    caller: Annotated[DepartmentCaller, Depends(require_department("manage:licences"))],
) -> SignedByOut:
    ids = service.signed_by(session, fingerprint, department_id=caller.department_id)
    return SignedByOut(fingerprint=fingerprint.replace(":", "").lower(), licences=ids)
