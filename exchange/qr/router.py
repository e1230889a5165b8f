from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from ..auth.citizen import Citizen
from ..deps import Ctx, DbSession, UnitOfWorkRoute
from . import service

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/citizen", tags=["citizen"])


class QrOut(BaseModel):
    qr_text: str
    svg: str
    expires_at: str
    refresh_in_s: int


@router.post("/qr", operation_id="create_qr", response_model=QrOut,
             summary="A fresh dynamic QR (single use, valid ≤ 60 s, no personal data)")
def create_qr(ctx: Ctx, session: DbSession, caller: Citizen) -> QrOut:
    """Needs a face-authenticated citizen session. The page shows the SVG (or renders ``qr_text`` itself, in
    alphanumeric mode at level M) and asks again after ``refresh_in_s`` seconds."""
    minted = service.mint(ctx, session, holder_hash=caller.holder_hash, session_jti=caller.jti)
    return QrOut(qr_text=minted.text, svg=minted.svg, expires_at=minted.expires_at.isoformat(),
                 refresh_in_s=minted.refresh_in_s)
