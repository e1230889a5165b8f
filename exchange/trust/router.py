from __future__ import annotations

from fastapi import APIRouter, Response

from ..deps import Ctx, DbSession, UnitOfWorkRoute
from .service import current_trust_list

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1", tags=["trust"])


@router.get("/trust-list", operation_id="get_trust_list", response_class=Response,
            responses={200: {"content": {"application/jwt": {}}, "description": "signed trust list (JWS)"}},
            summary="The signed trust list: city root, department certificates, revoked keys")
def get_trust_list(ctx: Ctx, session: DbSession) -> Response:
    trust = current_trust_list(ctx, session)
    return Response(trust.to_bytes(), media_type="application/jwt",
                    headers={"Cache-Control": "public, max-age=60",
                             "Content-Disposition": 'inline; filename="trust-list.jwt"'})
