from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from schemas.catalogue import Department, LicenceType, Matter, ProofType

from ..deps import Ctx
from ..kit.errors import NotFound

router = APIRouter(prefix="/api/v1/catalogue", tags=["catalogue"])
KEY = Path(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")


@router.get("/licence-types", operation_id="list_licence_types", response_model=list[LicenceType],
            summary="Licence types (GB/T 36902 catalogue)")
def list_licence_types(ctx: Ctx) -> list[dict[str, Any]]:
    return [lt.model_dump(mode="json") for lt in ctx.catalogue.licence_types.values()]


@router.get("/licence-types/{key}", operation_id="get_licence_type", response_model=LicenceType,
            summary="One licence type")
def get_licence_type(ctx: Ctx, key: Annotated[str, KEY]) -> dict[str, Any]:
    lt = ctx.catalogue.licence_types.get(key)
    if lt is None:
        raise NotFound("no such licence type", code="LICENCE_TYPE_NOT_FOUND")
    return lt.model_dump(mode="json")


@router.get("/departments", operation_id="list_departments", response_model=list[Department],
            summary="Departments and the types they may issue")
def list_departments(ctx: Ctx) -> list[dict[str, Any]]:
    return [d.model_dump(mode="json") for d in ctx.catalogue.departments.values()]


@router.get("/matters", operation_id="list_matters", response_model=list[Matter],
            summary="Service matters and the materials each needs")
def list_matters(ctx: Ctx) -> list[dict[str, Any]]:
    return [m.model_dump(mode="json") for m in ctx.catalogue.matters.values()]


@router.get("/proof-types", operation_id="list_proof_types", response_model=list[ProofType],
            summary="Proof types (instant and reviewed)")
def list_proof_types(ctx: Ctx) -> list[dict[str, Any]]:
    return [p.model_dump(mode="json") for p in ctx.catalogue.proof_types.values()]
