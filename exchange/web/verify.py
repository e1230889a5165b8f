"""``/verify``: anyone checks a proof — paste the QR text (or the ``/v/<number>`` address, or the number) or
upload the PDF — and sees the verdict with reason codes and the masked record.

The department verification API (POST /api/v1/proofs/verify) needs a department token, which a browser must
never hold; so this page posts to its own public endpoint, ``POST /verify/check``, which runs the same checks
(:func:`exchange.proofs.service.verify_pdf` / ``verify_qr``: seal or QR signature against the current trust
list, then the exchange's record — NOT_FOUND, REVOKED, EXPIRED) as the public actor and answers with the
public, fully masked record of ``GET /api/v1/public/proofs/{id}`` (never the entitled department view). A bare
number (or a ``/v/`` address without its signed fragment) can only be looked up, not verified: the answer says
so (``kind`` "number"). Each check lands in the holder's usage log like a scan of the public page.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from exchange.deps import ClientIp, Ctx, DbSession, Limits, UnitOfWorkRoute
from exchange.kit.errors import InvalidInput
from exchange.proofs import service
from exchange.proofs.intake import read_proof_input
from exchange.usage.service import Actor
from exchange.web.templating import render

router = APIRouter(route_class=UnitOfWorkRoute)

#: A proof number on its own or at the end of a ``/v/<number>`` address without the signed fragment.
_NUMBER_RE: Final = re.compile(r"(?:/v/)?([0-9A-Za-z]+(?:-[0-9A-Za-z]+){4})/?$")


@router.get("/verify", name="verify", response_class=HTMLResponse)
def verify_page(request: Request) -> HTMLResponse:
    return render(request, "verify.html")


@router.post("/verify/check", name="verify_check", response_class=JSONResponse)
async def verify_check(request: Request, ctx: Ctx, session: DbSession, limits: Limits, client: ClientIp
                       ) -> JSONResponse:
    """The public check behind ``/verify``: ``{valid, codes, verdict, kind, proof}`` with masked data only.
    429 RATE_LIMITED (``Retry-After``) when one address checks too often."""
    limits.enforce("public_client", client, what="verification requests from this address")
    payload = await read_proof_input(request, ctx.settings.max_upload_bytes)

    def work() -> dict[str, Any]:
        actor = Actor("public", "公开核验页")
        if isinstance(payload, str) and "#" not in payload and not payload.upper().startswith("LXP1."):
            match = _NUMBER_RE.search(payload)
            if match is None:
                raise InvalidInput("neither a proof QR nor a proof number", code="MALFORMED", field="qr_text")
            record = service.public_record(ctx, session, match.group(1).upper())
            status = str(record["status"])
            codes = [] if status == "valid" else [status.upper()]
            return {
                "valid": not codes,
                "codes": codes,
                "kind": "number",
                "verdict": f"RECORD: {status}",
                "proof": record,
            }
        if isinstance(payload, bytes):
            verdict = service.verify_pdf(ctx, session, payload, department_id="public", actor=actor)
            kind = "pdf"
        else:
            verdict = service.verify_qr(ctx, session, payload, department_id="public", actor=actor)
            kind = "qr"
        proof: dict[str, Any] | None = None
        proof_id = (verdict.proof or {}).get("proof_id")
        if isinstance(proof_id, str):
            proof = service.public_record(ctx, session, proof_id, log=False)
        return {
            "valid": verdict.valid,
            "codes": list(verdict.codes),
            "verdict": verdict.verdict,
            "kind": kind,
            "proof": proof,
        }

    result = await anyio.to_thread.run_sync(work)
    body = json.loads(json.dumps(result, default=str, ensure_ascii=False))
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
