"""The citizen's e-archive API: list, upload, download, delete. (Counter-side uploads and acceptance are
counter operations: :mod:`exchange.counter.router`.)"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from ..auth.citizen import Citizen
from ..deps import Ctx, DbSession, UnitOfWorkRoute
from ..usage.service import Actor
from . import service
from .responses import ArchiveItemOut, ArchiveListOut, DeletedOut

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/archive", tags=["archive"])

ItemId = Annotated[str, Path(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")]
MaterialType = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$",
                                    description="archive material type, e.g. photo, vehicle_licence_copy")]


@router.get("", operation_id="list_archive", summary="My e-archive: materials kept for reuse")
def list_archive(ctx: Ctx, session: DbSession, caller: Citizen) -> ArchiveListOut:
    items = service.list_archive(ctx, session, caller.holder_hash)
    return ArchiveListOut(items=[ArchiveItemOut(**v) for v in items])


@router.post("", operation_id="upload_material", status_code=201,
             summary="Upload a material (raw body: application/pdf, image/jpeg or image/png)")
async def upload_material(ctx: Ctx, session: DbSession, caller: Citizen, request: Request,
                          material_type: MaterialType,
                          title: Annotated[str | None, Query(max_length=120)] = None) -> ArchiveItemOut:
    """Checked by content; 413 FILE_TOO_LARGE, 415 WRONG_CONTENT_TYPE, 422 POLYGLOT_FILE / PDF_ACTIVE_CONTENT /
    BAD_PDF / BAD_IMAGE. Nothing is stored on refusal. A clerk must accept it before it is reused."""
    data = await request.body()
    declared = request.headers.get("content-type")
    stored = await run_in_threadpool(  # the content checks and the database work, off the event loop
        lambda: service.upload_material(ctx, session, holder_hash=caller.holder_hash, material_type=material_type,
                                        title=title, data=data, declared_type=declared,
                                        uploader=Actor("citizen", "本人")))
    return ArchiveItemOut(**stored)


@router.get("/{item_id}", operation_id="download_material", summary="Download one of my materials",
            response_class=Response, responses={200: {"content": {"application/pdf": {}, "image/jpeg": {},
                                                                   "image/png": {}}}})
def download_material(ctx: Ctx, session: DbSession, caller: Citizen, item_id: ItemId) -> Response:
    d = service.download_material(ctx, session, holder_hash=caller.holder_hash, item_id=item_id)
    return Response(d.data, media_type=d.media_type, headers={
        "Content-Disposition": f'attachment; filename="{d.filename}"', "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store"})


@router.delete("/{item_id}", operation_id="delete_material",
               summary="Delete one of my materials (409 MATERIAL_RETAINED while part of a case record)")
def delete_material(ctx: Ctx, session: DbSession, caller: Citizen, item_id: ItemId) -> DeletedOut:
    return DeletedOut(**service.delete_material(ctx, session, holder_hash=caller.holder_hash, item_id=item_id))
