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
from starlette.datastructures import UploadFile

from ..deps import Ctx, DbSession, DepartmentCaller, require_department
from ..kit.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from ..usage.service import Actor
from . import service
from .callers import Citizen
from .responses import PrintRecordedOut, ProofSummaryOut, PublicProofOut

router = APIRouter(prefix="/api/v1", tags=["proofs"])

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
    codes: list[str]
    verdict: str
    proof: dict[str, Any] | None
    details: dict[str, Any]


@router.post("/proofs", operation_id="create_proof", status_code=201, response_model=CreateProofOut,
             summary="Make an instant proof for the logged-in citizen (sealed PDF, recorded)")
def create_proof(ctx: Ctx, session: DbSession, citizen: Citizen, body: CreateProofIn) -> CreateProofOut:
    issued = service.create_instant(ctx, session, type_key=body.type, id_number=citizen.id_number,
                                    requester=citizen.actor, purpose=body.purpose, matter=body.matter,
                                    mask_id=body.mask_id)
    row = issued.proof
    return CreateProofOut(proof_id=row.id, type=row.type_key, download_url=f"/api/v1/proofs/{row.id}",
                          verify_url=service.verify_url(ctx, row.id), expires_at=row.expires_at.isoformat())


@router.get("/proofs", operation_id="list_my_proofs", response_model=list[ProofSummaryOut],
            summary="The logged-in citizen's proofs")
def list_my_proofs(ctx: Ctx, session: DbSession, citizen: Citizen) -> list[dict[str, Any]]:
    return service.list_for_holder(ctx, session, citizen.holder_hash)


@router.get("/proofs/{proof_id}", operation_id="get_proof", response_class=Response,
            summary="The sealed PDF of one of the citizen's proofs (logged as a download or a print)",
            responses={200: {"content": {"application/pdf": {}}, "description": "the sealed proof"}})
def get_proof(ctx: Ctx, session: DbSession, citizen: Citizen, proof_id: Annotated[str, PROOF_ID],
              disposition: Annotated[Literal["download", "view", "print"], Query()] = "download") -> Response:
    row, pdf = service.pdf_for_holder(ctx, session, proof_id, holder_hash=citizen.holder_hash,
                                      actor=citizen.actor, disposition=disposition)
    kind = "attachment" if disposition == "download" else "inline"
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'{kind}; filename="{row.id}.pdf"', "Cache-Control": "no-store"})


@router.post("/proofs/{proof_id}/print", operation_id="record_proof_print", response_model=PrintRecordedOut,
             summary="Record that a terminal printed one of the citizen's proofs (usage log)")
def record_proof_print(session: DbSession, citizen: Citizen, proof_id: Annotated[str, PROOF_ID]) -> dict[str, str]:
    row = service.record_print(session, proof_id, holder_hash=citizen.holder_hash, actor=citizen.actor)
    return {"proof_id": row.id, "recorded": "proof_printed"}


async def _verify_input(request: Request, limit: int) -> tuple[str, bytes | str]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=4)
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("send the proof as the multipart field 'file'", code="FILE_MISSING",
                                   field="file")
            data = await upload.read(limit + 1)
            if len(data) > limit:
                raise PayloadTooLarge(f"the file exceeds {limit} bytes", field="file")
            return "pdf", data
        finally:
            await form.close()
    if ctype == "application/pdf":
        return "pdf", await request.body()
    if ctype == "application/json":
        try:
            doc = json.loads(await request.body())
        except ValueError as exc:
            raise InvalidInput("body is not JSON", code="INVALID_JSON", field="body") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("qr_text"), str) or not doc["qr_text"]:
            raise InvalidInput('expected {"qr_text": "..."}', field="qr_text")
        return "qr", str(doc["qr_text"])
    raise UnsupportedMediaType("send multipart/form-data with file=PDF, application/pdf, or JSON {qr_text}",
                               field="content-type")


@router.post(
    "/proofs/verify", operation_id="verify_proof", response_model=VerifyOut,
    summary="A department checks a proof PDF or a scanned QR: a verdict with reason codes and the entitled data",
    openapi_extra={"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                           "properties": {"file": {"type": "string", "format": "binary"}}}},
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"schema": {"type": "object", "required": ["qr_text"],
                                        "properties": {"qr_text": {"type": "string", "maxLength": 1024}}}}}}},
)
async def verify_proof(
    request: Request, ctx: Ctx, session: DbSession,
    caller: Annotated[DepartmentCaller, Depends(require_department("verify:proofs"))],
) -> VerifyOut:
    _kind, payload = await _verify_input(request, ctx.settings.max_upload_bytes)
    dept = ctx.catalogue.departments.get(caller.department_id)
    actor = Actor("department", dept.name if dept else caller.department_id, caller.client_id)

    def work() -> service.ProofVerdict:
        if isinstance(payload, bytes):
            return service.verify_pdf(ctx, session, payload, department_id=caller.department_id, actor=actor)
        return service.verify_qr(ctx, session, payload, department_id=caller.department_id, actor=actor)

    verdict = await anyio.to_thread.run_sync(work)
    return VerifyOut(valid=verdict.valid, codes=list(verdict.codes), verdict=verdict.verdict,
                     proof=verdict.proof, details=_jsonable(verdict.details))


@router.get("/public/proofs/{proof_id}", operation_id="get_public_proof", response_model=PublicProofOut,
            summary="What anyone scanning a proof's QR may see (masked data, status)")
def get_public_proof(ctx: Ctx, session: DbSession, proof_id: Annotated[str, PROOF_ID]) -> dict[str, Any]:
    return service.public_record(ctx, session, proof_id)


def _jsonable(value: Any) -> Any:
    result: Any = json.loads(json.dumps(value, default=str, ensure_ascii=False))
    return result
