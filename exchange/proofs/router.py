"""HTTP API of proofs: make one (citizen or kiosk), fetch its PDF, verify one (departments), the public record.

Making and verifying are CPU-heavy: the handlers are sync (FastAPI runs them in its threadpool) or hand the work
to a thread, and sealing itself runs in the proof worker processes (:mod:`.pipeline`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from verifier.result import outcome_of

from ..auth.citizen import CitizenWithId
from ..auth.department import DepartmentCaller, require_department
from ..deps import Ctx, DbSession, UnitOfWorkRoute
from ..usage.service import Actor
from . import service
from .intake import MAX_QR_TEXT, read_proof_input
from .responses import PrintRecordedOut, ProofSummaryOut, PublicProofOut

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1", tags=["proofs"])

PROOF_ID = Path(min_length=8, max_length=40, pattern=r"^[0-9A-Z-]+$")


class CreateProofIn(BaseModel):
    type: str = Field(min_length=1, max_length=64, description="proof type key (catalogue), mode 'instant'")
    purpose: str | None = Field(default=None, max_length=100, description="用途, printed where the type has it")
    matter: str | None = Field(default=None, max_length=64, description="service matter key, for query sheets")
    mask_id: bool = Field(default=False, description="print ID numbers masked (when the purpose allows)")


class CreateProofOut(BaseModel):
    proof_id: str
    type: str
    download_url: str
    verify_url: str
    expires_at: str


class VerifyOut(BaseModel):
    valid: bool
    outcome: str = "valid"  # valid | invalid | indeterminate (status could not be determined: fail closed)
    codes: list[str]
    verdict: str
    proof: dict[str, Any] | None
    details: dict[str, Any]


@router.post("/proofs", operation_id="create_proof", status_code=201, response_model=CreateProofOut,
             summary="Make an instant proof for the logged-in citizen (sealed PDF, recorded)")
def create_proof(ctx: Ctx, session: DbSession, citizen: CitizenWithId, body: CreateProofIn) -> CreateProofOut:
    issued = service.create_instant(ctx, session, type_key=body.type, id_number=citizen.id_number,
                                    requester=citizen.actor, purpose=body.purpose, matter=body.matter,
                                    mask_id=body.mask_id)
    row = issued.proof
    return CreateProofOut(proof_id=row.id, type=row.type_key, download_url=f"/api/v1/proofs/{row.id}",
                          verify_url=service.verify_url(ctx, row.id), expires_at=row.expires_at.isoformat())


@router.get("/proofs", operation_id="list_my_proofs", response_model=list[ProofSummaryOut],
            summary="The logged-in citizen's proofs")
def list_my_proofs(ctx: Ctx, session: DbSession, citizen: CitizenWithId) -> list[dict[str, Any]]:
    return service.list_for_holder(ctx, session, citizen.holder_hash)


@router.get("/proofs/{proof_id}", operation_id="get_proof", response_class=Response,
            summary="The sealed PDF of one of the citizen's proofs (logged as a download or a print)",
            responses={200: {"content": {"application/pdf": {}}, "description": "the sealed proof"}})
def get_proof(ctx: Ctx, session: DbSession, citizen: CitizenWithId, proof_id: Annotated[str, PROOF_ID],
              disposition: Annotated[Literal["download", "view", "print"], Query()] = "download") -> Response:
    row, pdf = service.pdf_for_holder(ctx, session, proof_id, holder_hash=citizen.holder_hash,
                                      actor=citizen.actor, disposition=disposition)
    kind = "attachment" if disposition == "download" else "inline"
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'{kind}; filename="{row.id}.pdf"', "Cache-Control": "no-store"})


@router.post("/proofs/{proof_id}/print", operation_id="record_proof_print", response_model=PrintRecordedOut,
             summary="Record that a terminal printed one of the citizen's proofs (usage log)")
def record_proof_print(session: DbSession, citizen: CitizenWithId,
                       proof_id: Annotated[str, PROOF_ID]) -> dict[str, str]:
    row = service.record_print(session, proof_id, holder_hash=citizen.holder_hash, actor=citizen.actor)
    return {"proof_id": row.id, "recorded": "proof_printed"}


@router.post(
    "/proofs/verify", operation_id="verify_proof", response_model=VerifyOut,
    summary="A department checks a proof PDF or a scanned QR: a verdict with reason codes and the entitled data",
    openapi_extra={"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                           "properties": {"file": {"type": "string", "format": "binary"}}}},
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"schema": {"type": "object", "required": ["qr_text"],
                                        "properties": {"qr_text": {"type": "string", "maxLength": MAX_QR_TEXT}}}}}}},
)
async def verify_proof(
    request: Request, ctx: Ctx, session: DbSession,
    caller: Annotated[DepartmentCaller, Depends(require_department("verify:proofs"))],
) -> VerifyOut:
    payload = await read_proof_input(request, ctx.settings.max_upload_bytes)
    dept = ctx.catalogue.departments.get(caller.department_id)
    actor = Actor("department", dept.name if dept else caller.department_id, caller.client_id)

    def work() -> service.ProofVerdict:
        if isinstance(payload, bytes):
            return service.verify_pdf(ctx, session, payload, department_id=caller.department_id, actor=actor)
        return service.verify_qr(ctx, session, payload, department_id=caller.department_id, actor=actor)

    verdict = await anyio.to_thread.run_sync(work)
    return VerifyOut(valid=verdict.valid, outcome=outcome_of(verdict.codes), codes=list(verdict.codes),
                     verdict=verdict.verdict,
                     proof=verdict.proof, details=_jsonable(verdict.details))


@router.get("/public/proofs/{proof_id}", operation_id="get_public_proof", response_model=PublicProofOut,
            summary="What anyone scanning a proof's QR may see (masked data, status)")
def get_public_proof(ctx: Ctx, session: DbSession, proof_id: Annotated[str, PROOF_ID]) -> dict[str, Any]:
    return service.public_record(ctx, session, proof_id)


def _jsonable(value: Any) -> Any:
    result: Any = json.loads(json.dumps(value, default=str, ensure_ascii=False))
    return result
