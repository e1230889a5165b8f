"""The counter flow: scan (QR → case + pending consent) → the citizen approves → pull.

A pull returns, for each licence type the consent covers, one SD-JWT *presentation* that discloses only the
matter's fields (``verifier.sdjwt.select_disclosures``), verified by ``verifier.licence.verify_licence``
against the current trust list with the registry's status, plus the matter's checklist: which required
materials an e-licence now satisfies and which remain for paper or other routes.

Only the clerk who scanned may read or pull the case; the consent must be approved, not withdrawn and not
expired. Every scan, pull and refusal is recorded in the citizen's usage log (refusals survive the request's
rollback, see :mod:`exchange.usage.refusals`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from schemas.catalogue import Matter
from verifier.licence import verify_licence
from verifier.sdjwt import select_disclosures

from ..archive import service as archive
from ..auth.clerk import ClerkCaller
from ..consents import service as consents
from ..context import AppContext
from ..kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from ..licences import service as licence_service
from ..licences.service import credential_of, effective_status
from ..models import CounterCase, Licence
from ..ops.metrics import licence_verified
from ..qr import service as qr
from ..status import service as status_lists
from ..trust.service import current_trust_list
from ..usage import service as usage
from ..usage.refusals import UNATTRIBUTED, refuse
from ..usage.service import Actor
from . import materials, repository

CASE_ID_RE: Final = re.compile(r"[0-9a-f]{32}")
MATTER_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
# not_yet_valid is a date matter that verify_licence reports itself (nbf); the status of such a licence is valid
_REGISTRY_STATUS: Final = {"valid": "valid", "revoked": "revoked", "suspended": "suspended",
                           "expired": "expired", "not_yet_valid": "valid"}


def actor(clerk: ClerkCaller) -> Actor:
    # the citizen reads this in their log: the clerk's name and window, never the internal username
    return Actor("clerk", clerk.name, clerk.place)


def _matter(ctx: AppContext, matter_key: str) -> Matter:
    matter = ctx.catalogue.matters.get(matter_key) if MATTER_RE.fullmatch(matter_key) else None
    if matter is None:
        raise InvalidInput("unknown matter", code="UNKNOWN_MATTER", field="matter")
    return matter


def _code_fingerprint(qr_text: str) -> str:
    """A short digest naming a scanned code in the log (the code itself is never stored)."""
    return hashlib.sha256(qr_text.encode("utf-8", "replace")).hexdigest()[:16]


def scan(ctx: AppContext, session: Session, clerk: ClerkCaller, matter_key: str, qr_text: str) -> dict[str, Any]:
    matter = _matter(ctx, matter_key)
    try:
        redeemed = qr.redeem(ctx, session, qr_text)
    except qr.QrRefused as refused:
        # A refused code left in front of a camera is scanned again and again: the log keeps its first refusal
        # (per holder, counter and code), not one entry per frame.
        code = _code_fingerprint(qr_text)
        last = usage.last_entry(session, refused.holder_hash or UNATTRIBUTED, action="scan_refused")
        if (last is not None and last.actor == actor(clerk).name
                and last.subject.get("code") == code and last.subject.get("reason") == refused.error.code):
            raise refused.error from None
        raise refuse(session, refused.error, holder_hash=refused.holder_hash, action="scan_refused",
                     actor=actor(clerk), matter_key=matter.key, subject={"code": code}) from None
    now = datetime.now(UTC)
    case_id = repository.add_case(session, clerk_id=clerk.id, matter_key=matter.key,
                                  holder_hash=redeemed.holder_hash, now=now)
    consent = consents.new_consent(ctx, consent_id=secrets.token_hex(16), case_id=case_id,
                                   holder_hash=redeemed.holder_hash, clerk_id=clerk.id, matter=matter, now=now)
    session.add(consent)
    session.flush()
    subject = {"case_id": case_id, "consent_id": consent.id}
    usage.record_many(session, [
        usage.Event(redeemed.holder_hash, "counter_scan", actor(clerk), matter_key=matter.key, subject=subject),
        usage.Event(redeemed.holder_hash, "consent_requested", actor(clerk), matter_key=matter.key,
                    subject={**subject, "licences": sorted(consent.requested)})])
    return {"case_id": case_id, "consent_id": consent.id, "status": "pending", "matter": matter.key,
            "matter_name": matter.name, "expires_at": consent.expires_at.isoformat(),
            "requested": consents.licences_view(ctx.catalogue, consent.requested),
            "uses": consents.uses_for(ctx.catalogue, matter)}


def _own_case(session: Session, clerk: ClerkCaller, case_id: str, op: str) -> CounterCase:
    case = repository.get_case(session, case_id) if CASE_ID_RE.fullmatch(case_id) else None
    if case is None:
        raise NotFound("no such case", code="CASE_NOT_FOUND")
    if case.clerk_id != clerk.id:
        raise refuse(session, Forbidden("this case belongs to another counter", code="NOT_CASE_OWNER"),
                     holder_hash=case.holder_hash, action="pull_refused", actor=actor(clerk),
                     matter_key=case.matter_key, subject={"case_id": case.id, "op": op})
    return case


def _remaining(items: list[dict[str, Any]]) -> list[str]:
    return [i["material"] for i in items if i["required"] and not i["satisfied"]]


def _best_by_type(ctx: AppContext, session: Session, holder_hash: str, type_keys: list[str],
                  rows: list[Licence] | None = None) -> dict[str, Licence]:
    """The best licence of each type for the holder: a valid one if any. ``rows``: all the holder's licences,
    when the caller has them already (else they are read)."""
    codes = {ctx.catalogue.licence_types[k].code: k for k in type_keys if k in ctx.catalogue.licence_types}
    best: dict[str, Licence] = {}
    if rows is None:
        rows = licence_service.for_holder(session, holder_hash, type_codes=list(codes))
    for row in rows:
        key = codes.get(row.type_code)
        if key is None:
            continue
        current = best.get(key)
        if current is None or (effective_status(current) != "valid" and effective_status(row) == "valid"):
            best[key] = row
    return best


def get_case(ctx: AppContext, session: Session, clerk: ClerkCaller, case_id: str) -> dict[str, Any]:
    case = _own_case(session, clerk, case_id, "get_case")
    matter = _matter(ctx, case.matter_key)
    consent = consents.for_case(session, case.id)
    status = consents.effective_status(consent) if consent is not None else "none"
    satisfied: dict[str, str] = {}
    if consent is not None and status == "approved" and case.holder_hash is not None:
        # After approval the counter may know which requested licences exist (metadata only, no content).
        for key, row in _best_by_type(ctx, session, case.holder_hash, list(consents.allowed(ctx.catalogue,
                                                                                           consent))).items():
            if effective_status(row) == "valid":
                satisfied[key] = row.licence_id
    items = materials.checklist(ctx, matter, satisfied, consent=consent if status == "approved" else None)
    return {"case_id": case.id, "matter": matter.key, "matter_name": matter.name, "case_status": case.status,
            "consent_id": consent.id if consent else None, "consent_status": status,
            "consent_expires_at": consent.expires_at.isoformat() if consent else None,
            "requested": consents.licences_view(ctx.catalogue, consents.allowed(ctx.catalogue, consent))
            if consent else [],
            "checklist": items, "remaining": _remaining(items)}


_CONSENT_REFUSALS: Final = {
    "pending": ("the citizen has not approved the request yet", "CONSENT_PENDING"),
    "declined": ("the citizen declined the request", "CONSENT_DECLINED"),
    "withdrawn": ("the citizen withdrew the consent", "CONSENT_WITHDRAWN"),
    "expired": ("the consent has expired; scan a new QR code", "CONSENT_EXPIRED"),
    "none": ("no consent for this case", "CONSENT_REQUIRED"),
}


def _status_source(rows: dict[str, Licence]) -> Callable[[str], str | None]:
    by_id = {row.licence_id: row for row in rows.values()}

    def status(licence_id: str) -> str | None:
        row = by_id.get(licence_id)
        if row is None:
            return "not_found"
        return _REGISTRY_STATUS.get(effective_status(row))

    return status


def pull(ctx: AppContext, session: Session, clerk: ClerkCaller, case_id: str) -> dict[str, Any]:
    case = _own_case(session, clerk, case_id, "pull")
    matter = _matter(ctx, case.matter_key)
    consent = consents.for_case(session, case.id)
    status = consents.effective_status(consent) if consent is not None else "none"
    if consent is None or status != "approved" or case.holder_hash is None or consent.clerk_id != clerk.id \
            or consent.holder_hash != case.holder_hash:
        detail, code = _CONSENT_REFUSALS.get(status, ("the consent does not cover this pull", "CONSENT_INVALID"))
        raise refuse(session, Forbidden(detail, code=code), holder_hash=case.holder_hash, action="pull_refused",
                     actor=actor(clerk), matter_key=matter.key, subject={"case_id": case.id})
    permitted = consents.allowed(ctx.catalogue, consent)
    holder_rows = licence_service.for_holder(session, consent.holder_hash)
    rows = _best_by_type(ctx, session, consent.holder_hash, list(permitted), holder_rows)
    trust = current_trust_list(ctx, session)
    status_of = status_lists.RegistryStatus(ctx, session, by_id=_status_source(rows))
    status_of.prefetch("licence", [row.licence_id for row in rows.values()])  # one query for the pull's entries
    now = datetime.now(UTC)
    licences: list[dict[str, Any]] = []
    satisfied: dict[str, str] = {}
    presentations: dict[str, str] = {}
    for type_key, fields in permitted.items():
        row = rows.get(type_key)
        if row is None:
            continue
        lt = ctx.catalogue.licence_types[type_key]
        presentation = select_disclosures(credential_of(row, ctx.protector), fields)
        result = verify_licence(presentation, trust, now=now, status=status_of, catalogue=ctx.catalogue)
        licence_verified("counter_pull", result.codes)
        disclosed = {k: v for k, v in result.disclosed.items() if k in fields}
        if result.valid:
            satisfied[type_key] = row.licence_id
            presentations[type_key] = presentation
        licences.append({
            "licence_id": row.licence_id, "type": type_key, "type_name": lt.name,
            "issuer": result.issuer, "presentation": presentation,
            "verification": {"valid": result.valid, "outcome": result.outcome, "codes": list(result.codes),
                             "verdict": result.verdict},
            "fields": disclosed,
        })
    first_pull = case.status == "open"
    case.status = "pulled"
    pulled = usage.Event(consent.holder_hash, "pull", actor(clerk), matter_key=matter.key, subject={
        "case_id": case.id, "consent_id": consent.id,
        "licences": [{"licence_id": lic["licence_id"], "type": lic["type"], "fields": sorted(lic["fields"])}
                     for lic in licences]})
    # the pull is logged first, then what the evaluation did, in one insert at its end
    items = materials.evaluate(ctx, session, case=case, matter=matter, consent=consent, clerk=actor(clerk),
                               licences=satisfied, presentations=presentations, rows=holder_rows,
                               log_first=[pulled], first_pull=first_pull)
    return {"case_id": case.id, "matter": matter.key, "licences": licences, "checklist": items,
            "remaining": _remaining(items)}


# --------------------------------------------------------------------------------------------------
# Materials at the counter: uploads for the case, acceptance, completion (the case files into the archive)
# --------------------------------------------------------------------------------------------------


def _case_with_consent(ctx: AppContext, session: Session, clerk: ClerkCaller, case_id: str, op: str
                       ) -> tuple[CounterCase, Matter]:
    case = _own_case(session, clerk, case_id, op)
    matter = _matter(ctx, case.matter_key)
    consent = consents.for_case(session, case.id)
    if consent is None or consents.effective_status(consent) != "approved" or case.holder_hash is None:
        raise Forbidden("the citizen's consent for this case is needed", code="CONSENT_REQUIRED")
    return case, matter


def upload_case_material(ctx: AppContext, session: Session, clerk: ClerkCaller, case_id: str, *,
                         material_type: str, title: str | None, data: bytes, declared_type: str | None
                         ) -> dict[str, Any]:
    """The counter uploads a material for the case's citizen (e.g. the photo); the clerk accepts it next."""
    case, matter = _case_with_consent(ctx, session, clerk, case_id, "upload_material")
    assert case.holder_hash is not None  # noqa: S101 - checked above
    return archive.upload_material(ctx, session, holder_hash=case.holder_hash, material_type=material_type,
                                   title=title, data=data, declared_type=declared_type, uploader=actor(clerk),
                                   case_id=case.id, matter_key=matter.key)


def accept_case_material(ctx: AppContext, session: Session, clerk: ClerkCaller, case_id: str, item_id: str
                         ) -> dict[str, Any]:
    case, _ = _case_with_consent(ctx, session, clerk, case_id, "accept_material")
    return archive.accept_material(ctx, session, item_id=item_id, clerk=actor(clerk), holder_hash=case.holder_hash)


def complete_case(ctx: AppContext, session: Session, clerk: ClerkCaller, case_id: str) -> dict[str, Any]:
    """Close a pulled case: its materials are filed into the citizen's archive (kept for the case retention)."""
    case, matter = _case_with_consent(ctx, session, clerk, case_id, "complete")
    if case.status != "pulled":
        raise Conflict("pull the materials before completing the case", code="CASE_NOT_PULLED")
    assert case.holder_hash is not None  # noqa: S101 - checked above
    filed = archive.file_case(ctx, session, holder_hash=case.holder_hash, case_id=case.id, matter_key=matter.key,
                              clerk=actor(clerk))
    case.status = "completed"
    session.flush()
    return {"case_id": case.id, "status": case.status, "filed": filed}
