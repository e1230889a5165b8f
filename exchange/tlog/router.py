"""Public, unauthenticated log endpoints in the C2SP formats (tlog-checkpoint, tlog-tiles), plus the witness
cosignature intake."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from verifier.tlog.tiles import TileError, parse_tile_path

from ..deps import Ctx, DbSession, UnitOfWorkRoute
from ..kit.errors import InvalidInput
from . import service

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/log", tags=["transparency log"])
NOTE = "text/plain; charset=utf-8"
IMMUTABLE = "public, max-age=31536000, immutable"
MAX_NOTE = 16_384


@router.get("/checkpoint", operation_id="log_checkpoint", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "C2SP signed checkpoint"}},
            summary="Latest signed checkpoint of the usage log (C2SP tlog-checkpoint)")
def checkpoint(session: DbSession) -> Response:
    return Response(service.checkpoint_note(session), media_type=NOTE, headers={"Cache-Control": "no-cache"})


@router.get("/checkpoint/cosigned", operation_id="log_checkpoint_cosigned", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "checkpoint with cosignatures"}},
            summary="Latest checkpoint that witnesses have cosigned (C2SP tlog-cosignature)")
def cosigned_checkpoint(session: DbSession) -> Response:
    return Response(service.checkpoint_note(session, cosigned=True), media_type=NOTE,
                    headers={"Cache-Control": "no-cache"})


@router.get("/key", operation_id="log_key", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "vkey"}},
            summary="The log's note verifier key (also listed in the trust list)")
def key(ctx: Ctx) -> Response:
    return Response(service.log_key(ctx).vkey + "\n", media_type=NOTE, headers={"Cache-Control": "public, max-age=300"})


@router.get("/tile/{path:path}", operation_id="log_tile", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}, "description": "hash tile or bundle"}},
            summary="Hash tiles tile/<L>/<N>[.p/<W>] and entry bundles tile/entries/<N>[.p/<W>] (C2SP tlog-tiles)")
def tile(session: DbSession, path: str) -> Response:
    try:
        level, index, width = parse_tile_path(path)
    except TileError as exc:
        raise InvalidInput(str(exc), field="path") from exc
    data = service.tile_bytes(session, level, index, width)
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": IMMUTABLE})


async def _note_body(request: Request) -> str:
    raw = await request.body()
    if len(raw) > MAX_NOTE:
        raise InvalidInput("note too large", field="body")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("note is not UTF-8", field="body") from exc


class CosignatureOut(BaseModel):
    cosignatures: int


@router.post("/cosignature", operation_id="log_add_cosignature", response_model=CosignatureOut,
             openapi_extra={"requestBody": {"required": True,
                                            "content": {"text/plain": {"schema": {"type": "string"}}}}},
             summary="A witness hands back its cosigned copy of one of our checkpoints")
def add_cosignature(ctx: Ctx, session: DbSession, note: Annotated[str, Depends(_note_body)]) -> CosignatureOut:
    return CosignatureOut(cosignatures=service.add_cosignature(ctx, session, note))
