from __future__ import annotations

import asyncio
import weakref
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, File, Form, Query, UploadFile
from pydantic import BaseModel, Field

from ..auth.citizen import Citizen
from ..deps import ClientIp, Ctx, DbSession, UnitOfWorkRoute
from ..kit.errors import InvalidInput
from ..kit.ratelimit import rate_limits
from ..usage.refusals import keep_refusals
from ..usage.schemas import UsageExportOut
from . import face, service
from .responses import MyLicenceOut, UsageEntryOut

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/citizen", tags=["citizen"])

#: Face work is CPU-bound and serialised inside the engine: a small limiter per event loop keeps it from
#: taking every worker thread the synchronous routes need.
FACE_WORKERS = 2
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary())


def _face_limiter() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = anyio.CapacityLimiter(FACE_WORKERS)
        _limiters[loop] = limiter
    return limiter


class ChallengeIn(BaseModel):
    id_number: str = Field(min_length=18, max_length=18, description="公民身份号码 (GB 11643, check digit)")


class ChallengeOut(BaseModel):
    challenge_id: str
    action: Literal["turn_left", "turn_right"]
    frames: int
    interval_ms: int
    expires_at: str


class HolderOut(BaseModel):
    name_masked: str | None
    id_masked: str


class LoginOut(BaseModel):
    token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: str
    holder: HolderOut


class AssertionIn(BaseModel):
    assertion: str = Field(min_length=1, max_length=8192)


def _login_out(result: face.LoginResult) -> LoginOut:
    return LoginOut(token=result.session.token, expires_at=result.session.expires_at.isoformat(),
                    holder=HolderOut(name_masked=result.holder.name_masked, id_masked=result.holder.id_masked))


@router.post("/face/challenge", operation_id="face_challenge", response_model=ChallengeOut,
             summary="Start a face login: a random head-turn challenge for this ID number")
def face_challenge(ctx: Ctx, session: DbSession, body: ChallengeIn, client: ClientIp) -> ChallengeOut:
    """429 RATE_LIMITED (``Retry-After``) when this address asks too often or has failed too often for this ID
    number; 423 LOCKED while the ID number is hard-locked and this address was never used by the citizen."""
    with face.gate_outcome("local", decides=False):
        return ChallengeOut(**face.create_challenge(ctx, session, body.id_number, client))


@router.post("/face/login", operation_id="face_login", response_model=LoginOut,
             summary="Finish a face login: the challenge's live frames (3–12 JPEG)")
async def face_login(
    ctx: Ctx,
    session: DbSession,
    client: ClientIp,
    challenge_id: Annotated[str, Form(min_length=1, max_length=4096)],
    frames: Annotated[list[UploadFile], File(description="3–12 frames, JPEG/PNG/WebP, un-mirrored")],
) -> LoginOut:
    """Errors: NO_FACE / MULTIPLE_FACES / LOW_QUALITY / BAD_IMAGE (422), FACE_MISMATCH / LIVENESS_FAILED
    (401), LOCKED (423), CHALLENGE_INVALID / CHALLENGE_EXPIRED / CHALLENGE_USED (401). ``detail.message`` and
    ``detail.message_zh`` are meant for the citizen. RATE_LIMITED (429, ``Retry-After``) when throttled."""
    with face.gate_outcome("local"):
        rate_limits(ctx).enforce("face_client", client, what="face login requests from this address")
        if not face.MIN_FRAMES <= len(frames) <= face.MAX_FRAMES:
            raise InvalidInput(f"send {face.MIN_FRAMES}–{face.MAX_FRAMES} frames", code="BAD_FRAME_COUNT",
                               field="frames")
        data: list[bytes] = []
        for upload in frames:
            chunk = await upload.read(face.MAX_FRAME_BYTES + 1)
            if len(chunk) > face.MAX_FRAME_BYTES:
                raise InvalidInput(f"each frame must be at most {face.MAX_FRAME_BYTES} bytes", code="BAD_IMAGE",
                                   field="frames")
            data.append(chunk)

        def run() -> face.LoginResult:
            with keep_refusals(session):
                return face.login(ctx, session, challenge_id, data, client=client)

        result = await anyio.to_thread.run_sync(run, limiter=_face_limiter())
    return _login_out(result)


@router.post("/face/assertion", operation_id="face_assertion_login", response_model=LoginOut,
             summary="Log in with a signed face-authentication assertion from the identity platform")
def face_assertion_login(ctx: Ctx, session: DbSession, body: AssertionIn, client: ClientIp) -> LoginOut:
    with face.gate_outcome("assertion"):
        rate_limits(ctx).enforce("face_client", client, what="face login requests from this address")
        with keep_refusals(session):
            return _login_out(face.login_with_assertion(ctx, session, body.assertion, client))


@router.get("/licences", operation_id="list_my_licences", response_model=list[MyLicenceOut],
            summary="My licences (sensitive fields masked)")
def list_my_licences(ctx: Ctx, session: DbSession, caller: Citizen) -> list[dict[str, Any]]:
    return service.list_my_licences(ctx, session, caller)


@router.get("/usage", operation_id="list_usage", response_model=list[UsageEntryOut],
            summary="My usage log (用证记录), newest first")
def list_usage(
    ctx: Ctx, session: DbSession, caller: Citizen,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_seq: Annotated[int | None, Query(ge=1, le=service.MAX_SEQ)] = None,
) -> list[dict[str, Any]]:
    return service.list_usage(ctx, session, caller, limit=limit, before_seq=before_seq)


@router.get("/usage/export", operation_id="export_usage", response_model=UsageExportOut,
            summary="My usage log with inclusion proofs and the signed checkpoint (for `licex log verify`)")
def export_usage(ctx: Ctx, session: DbSession, caller: Citizen,
                 consistency_from: Annotated[list[int] | None, Query(max_length=8)] = None) -> dict[str, Any]:
    return service.export_usage(ctx, session, caller, consistency_from=consistency_from)
