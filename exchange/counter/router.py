from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..archive.responses import ArchiveItemOut
from ..auth import clerk as auth
from ..auth.clerk import CounterClerk
from ..deps import ClientIp, Ctx, DbSession, Limits, UnitOfWorkRoute
from ..kit.errors import Unauthenticated
from ..kit.ratelimit import too_many
from ..usage.refusals import keep_refusals
from . import service
from .responses import CaseOut, ClerkLoginOut, CompletedCaseOut, PullOut, ScanOut

router = APIRouter(route_class=UnitOfWorkRoute, prefix="/api/v1/counter", tags=["counter"])

CaseId = Annotated[str, Path(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")]


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=auth.MAX_PASSWORD_CHARS)


class ScanIn(BaseModel):
    matter: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    qr_text: str = Field(min_length=1, max_length=512)


@router.post("/login", operation_id="counter_login", response_model=ClerkLoginOut,
             summary="Clerk login → clerk session token")
def counter_login(ctx: Ctx, session: DbSession, body: LoginIn, limits: Limits, client: ClientIp) -> dict[str, Any]:
    """Clerks and reviewers. 429 RATE_LIMITED (``Retry-After``) after too many attempts from one address or too
    many failed ones for one username."""
    limits.enforce("login_client", client, what="login attempts from this address")
    user_key = body.username.strip().lower()
    verdict = limits.test("login_user", user_key)
    if not verdict.allowed:
        raise too_many(verdict.retry_after, "failed logins for this username", field="username")
    try:
        token, ttl, clerk = auth.login(ctx, session, body.username, body.password)
    except Unauthenticated:
        limits.hit("login_user", user_key)
        raise
    return {"token": token, "token_type": "Bearer", "expires_in": ttl, "clerk": clerk.view()}


@router.post("/scan", operation_id="counter_scan", response_model=ScanOut,
             summary="Scan a citizen's dynamic QR for a matter → case + pending consent request")
def counter_scan(ctx: Ctx, session: DbSession, clerk: CounterClerk, body: ScanIn) -> dict[str, Any]:
    """Errors: QR_MALFORMED (422), QR_INVALID (403), QR_EXPIRED (410), QR_USED (409), UNKNOWN_MATTER (422)."""
    with keep_refusals(session):
        return service.scan(ctx, session, clerk, body.matter, body.qr_text)


@router.get("/cases/{case_id}", operation_id="get_case", response_model=CaseOut,
            summary="A case: consent status and the matter's checklist")
def get_case(ctx: Ctx, session: DbSession, clerk: CounterClerk, case_id: CaseId) -> dict[str, Any]:
    with keep_refusals(session):
        return service.get_case(ctx, session, clerk, case_id)


@router.post("/cases/{case_id}/pull", operation_id="pull_licences", response_model=PullOut,
             summary="Pull the consented licences: SD-JWT presentations of the matter's fields, verified")
def pull_licences(ctx: Ctx, session: DbSession, clerk: CounterClerk, case_id: CaseId) -> dict[str, Any]:
    """403 with CONSENT_PENDING / CONSENT_DECLINED / CONSENT_WITHDRAWN / CONSENT_EXPIRED or NOT_CASE_OWNER."""
    with keep_refusals(session):
        return service.pull(ctx, session, clerk, case_id)


ItemId = Annotated[str, Path(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")]


@router.post("/cases/{case_id}/materials", operation_id="upload_case_material", status_code=201,
             response_model=ArchiveItemOut,
             summary="Upload a material for the case's citizen (raw body: PDF, JPEG or PNG) into their archive")
async def upload_case_material(ctx: Ctx, session: DbSession, clerk: CounterClerk, case_id: CaseId,
                               request: Request,
                               material_type: Annotated[str, Query(min_length=1, max_length=64,
                                                                   pattern=r"^[a-z][a-z0-9_]*$")],
                               title: Annotated[str | None, Query(max_length=120)] = None) -> dict[str, Any]:
    """413 FILE_TOO_LARGE, 415 WRONG_CONTENT_TYPE, 422 POLYGLOT_FILE / PDF_ACTIVE_CONTENT; nothing stored."""
    data = await request.body()
    declared = request.headers.get("content-type")

    def work() -> dict[str, Any]:  # the content checks and the database work, off the event loop
        with keep_refusals(session):
            return service.upload_case_material(ctx, session, clerk, case_id, material_type=material_type,
                                                title=title, data=data, declared_type=declared)

    return await run_in_threadpool(work)


@router.post("/cases/{case_id}/materials/{item_id}/accept", operation_id="accept_case_material",
             response_model=ArchiveItemOut,
             summary="Accept an uploaded material after checking it against the original: reusable later")
def accept_case_material(ctx: Ctx, session: DbSession, clerk: CounterClerk, case_id: CaseId,
                         item_id: ItemId) -> dict[str, Any]:
    with keep_refusals(session):
        return service.accept_case_material(ctx, session, clerk, case_id, item_id)


@router.post("/cases/{case_id}/complete", operation_id="complete_case", response_model=CompletedCaseOut,
             summary="Complete a pulled case: its materials are filed into the citizen's e-archive")
def complete_case(ctx: Ctx, session: DbSession, clerk: CounterClerk, case_id: CaseId) -> dict[str, Any]:
    with keep_refusals(session):
        return service.complete_case(ctx, session, clerk, case_id)
