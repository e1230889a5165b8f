"""Consent (授权): bound to the citizen, the counter (clerk, hall, window), the matter, and the licence types and
fields the matter needs — nothing else can be asked for. It expires (``consent_ttl_s``, at most 30 minutes)
and the citizen can decline it or withdraw it at any time; every decision lands in the usage log.

Statuses: ``pending`` → ``approved`` | ``declined``; ``pending``/``approved`` → ``withdrawn``; a pending or
approved consent past ``expires_at`` reads as ``expired``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy.orm import Session

from schemas.catalogue import Catalogue, Material, Matter

from ..context import AppContext
from ..kit.errors import Conflict, InvalidInput, NotFound
from ..models import Clerk, Consent
from ..usage import service as usage
from ..usage.service import Actor
from . import repository

MAX_TTL_S: Final = 1800
STATUSES: Final = ("pending", "approved", "declined", "withdrawn", "expired")
CITIZEN = Actor("citizen", "本人")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def ttl_s(ctx: AppContext) -> int:
    return max(1, min(ctx.settings.consent_ttl_s, MAX_TTL_S))


def requested_for(matter: Matter) -> dict[str, list[str]]:
    """Licence type key → fields, over every material and alternative of the matter (minimum necessary)."""
    out: dict[str, set[str]] = {}
    for material in matter.materials:
        for alt in material.satisfied_by:
            out.setdefault(alt.licence_type, set()).update(alt.fields)
    return {k: sorted(v) for k, v in sorted(out.items())}


def uses_for(catalogue: Catalogue, matter: Matter) -> list[dict[str, Any]]:
    """Everything beside licences that the citizen's consent to this matter covers, for the consent request."""
    out: list[dict[str, Any]] = []
    for m in matter.materials:
        if m.instant_proof is not None:
            pt = catalogue.proof_types[m.instant_proof]
            out.append({"material": m.id, "mode": "instant_proof", "what": pt.name, "what_en": pt.name_en})
        if m.department_check is not None:
            dept = catalogue.departments.get(m.department_check.department)
            out.append({"material": m.id, "mode": "department_check", "what": m.department_check.name,
                        "what_en": m.name_en, "department": dept.name if dept else m.department_check.department})
        if m.archive is not None:
            out.append({"material": m.id, "mode": "archive", "what": m.name, "what_en": m.name_en})
        if m.commitment is not None:
            out.append({"material": m.id, "mode": "commitment", "what": m.name, "what_en": m.name_en,
                        "statement": m.commitment.statement, "statement_en": m.commitment.statement_en})
    return out


def commitments_of(matter: Matter) -> list[Material]:
    return [m for m in matter.materials if m.commitment is not None]


def allowed(catalogue: Catalogue, consent: Consent) -> dict[str, list[str]]:
    """What a pull under this consent may disclose: the consent's request, intersected with what the matter
    needs today (a catalogue change can narrow a standing consent, never widen it)."""
    matter = catalogue.matters.get(consent.matter_key)
    if matter is None:
        return {}
    needed = requested_for(matter)
    out: dict[str, list[str]] = {}
    for type_key, fields in (consent.requested or {}).items():
        if type_key in needed and isinstance(fields, list):
            keep = sorted(set(needed[type_key]) & {str(f) for f in fields})
            if keep:
                out[type_key] = keep
    return out


def effective_status(consent: Consent, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    if consent.status in ("pending", "approved") and _aware(consent.expires_at) <= now:
        return "expired"
    return consent.status


def new_consent(ctx: AppContext, *, consent_id: str, case_id: str, holder_hash: str, clerk_id: int,
                matter: Matter, now: datetime) -> Consent:
    return Consent(id=consent_id, case_id=case_id, holder_hash=holder_hash, clerk_id=clerk_id,
                   matter_key=matter.key, requested=requested_for(matter), status="pending",
                   expires_at=now + timedelta(seconds=ttl_s(ctx)), created_at=now)


def licences_view(catalogue: Catalogue, requested: dict[str, list[str]]) -> list[dict[str, Any]]:
    out = []
    for type_key, fields in requested.items():
        lt = catalogue.licence_types.get(type_key)
        if lt is None:
            continue
        out.append({"type": type_key, "type_name": lt.name, "type_name_en": lt.name_en,
                    "fields": [{"name": f, "title": lt.title(f), "title_en": lt.title(f, "en")}
                               for f in fields if f in lt.properties]})
    return out


def consent_view(ctx: AppContext, consent: Consent, clerk: Clerk | None, now: datetime | None = None
                 ) -> dict[str, Any]:
    matter = ctx.catalogue.matters.get(consent.matter_key)
    return {
        "id": consent.id,
        "matter": consent.matter_key,
        "matter_name": matter.name if matter else consent.matter_key,
        "matter_name_en": matter.name_en if matter else consent.matter_key,
        "requester": {"clerk": clerk.display_name if clerk else None, "hall": clerk.hall if clerk else None,
                      "window": clerk.window if clerk else None},
        "licences": licences_view(ctx.catalogue, allowed(ctx.catalogue, consent)),
        "uses": uses_for(ctx.catalogue, matter) if matter else [],
        "expires_at": _aware(consent.expires_at).isoformat(),
        "created_at": _aware(consent.created_at).isoformat(),
        "decided_at": _aware(consent.decided_at).isoformat() if consent.decided_at else None,
        "status": effective_status(consent, now),
    }


def list_for_citizen(ctx: AppContext, session: Session, holder_hash: str, status: str | None
                     ) -> list[dict[str, Any]]:
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", field="status")
    now = datetime.now(UTC)
    rows = repository.consents_of(session, holder_hash)
    clerks = repository.clerks_by_id(session, {c.clerk_id for c in rows})
    views = [consent_view(ctx, c, clerks.get(c.clerk_id), now) for c in rows]
    return [v for v in views if status is None or v["status"] == status]


def for_case(session: Session, case_id: str) -> Consent | None:
    """The latest consent asked for a counter case, if any."""
    return repository.consent_for_case(session, case_id)


def _own(session: Session, holder_hash: str, consent_id: str) -> Consent:
    if not (1 <= len(consent_id) <= 32 and consent_id.isalnum()):
        raise NotFound("no such consent", code="CONSENT_NOT_FOUND")
    consent = repository.get_consent(session, consent_id)
    if consent is None or consent.holder_hash != holder_hash:
        raise NotFound("no such consent", code="CONSENT_NOT_FOUND")
    return consent


def _subject(consent: Consent) -> dict[str, Any]:
    return {"consent_id": consent.id, "case_id": consent.case_id,
            "licences": sorted((consent.requested or {}).keys())}


def decide(ctx: AppContext, session: Session, holder_hash: str, consent_id: str, decision: str
           ) -> dict[str, Any]:
    if decision not in ("approve", "decline"):
        raise InvalidInput("decision must be approve or decline", field="decision")
    consent = _own(session, holder_hash, consent_id)
    now = datetime.now(UTC)
    state = effective_status(consent, now)
    if state == "expired":
        raise Conflict("the request has expired; ask the counter to scan again", code="CONSENT_EXPIRED")
    if state != "pending":
        raise Conflict(f"the request was already {state}", code="CONSENT_NOT_PENDING")
    if not repository.transition(session, consent, from_=("pending",),
                                 to="approved" if decision == "approve" else "declined", now=now):
        raise Conflict("the request was decided or withdrawn meanwhile", code="CONSENT_NOT_PENDING")
    usage.record(session, holder_hash, "consent_approved" if decision == "approve" else "consent_declined",
                 CITIZEN, matter_key=consent.matter_key, subject=_subject(consent))
    matter = ctx.catalogue.matters.get(consent.matter_key)
    if decision == "approve" and matter is not None:
        for m in commitments_of(matter):  # 告知承诺: approving confirms the statements shown
            assert m.commitment is not None  # noqa: S101 - commitments_of filters
            usage.record(session, holder_hash, "commitment_confirmed", CITIZEN, matter_key=consent.matter_key,
                         subject={"consent_id": consent.id, "material": m.id, "statement": m.commitment.statement,
                                  "statement_sha256": hashlib.sha256(m.commitment.statement.encode()).hexdigest()})
    clerk = repository.clerks_by_id(session, {consent.clerk_id}).get(consent.clerk_id)
    return consent_view(ctx, consent, clerk, now)


def withdraw(ctx: AppContext, session: Session, holder_hash: str, consent_id: str) -> dict[str, Any]:
    consent = _own(session, holder_hash, consent_id)
    now = datetime.now(UTC)
    state = effective_status(consent, now)
    if state not in ("pending", "approved"):
        raise Conflict(f"the consent is {state}; nothing to withdraw", code="CONSENT_NOT_ACTIVE")
    if not repository.transition(session, consent, from_=("pending", "approved"), to="withdrawn", now=now):
        raise Conflict("the consent changed meanwhile; reload it", code="CONSENT_NOT_ACTIVE")
    usage.record(session, holder_hash, "consent_withdrawn", CITIZEN, matter_key=consent.matter_key,
                 subject=_subject(consent))
    clerk = repository.clerks_by_id(session, {consent.clerk_id}).get(consent.clerk_id)
    return consent_view(ctx, consent, clerk, now)
