"""Applying for a reviewed proof and reviewing it.

A citizen applies (type, purpose, details the department cannot know, e.g. a lawyer's practising certificate);
the application waits in the issuing department's queue; a reviewer of that department sees it with what the
department's system of record says (``findings``, e.g. whether a criminal record exists) and approves — the
proof is then made and sealed exactly like an instant one — or rejects with a reason the citizen reads.
Every step is in the citizen's usage log. Services raise ``kit.errors`` and never commit.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from schemas.identifiers import mask_citizen_id

from ..context import AppContext
from ..kit.db import utcnow
from ..kit.errors import Conflict, InvalidInput, NotFound
from ..models import ProofApplication
from ..proofs import service as proofs
from ..proofs.service import data_source
from ..usage import service as usage
from ..usage.service import Actor
from . import repository

DATA_CONTEXT = "proof-application"
#: Details an applicant may state, per type (the department cannot derive them from its records).
APPLICANT_DETAILS: Mapping[str, tuple[str, ...]] = {"lawyer_no_penalty": ("practice_cert_no", "law_firm")}
#: Findings that forbid approval (the proof would state the opposite of the record).
BLOCKING_FINDINGS: Mapping[str, str] = {"no_criminal_record": "has_record"}

Decision = Literal["approve", "reject"]


@dataclass(frozen=True)
class Applicant:
    id_number: str
    holder_hash: str
    actor: Actor


@dataclass(frozen=True)
class Reviewer:
    clerk_id: int
    department_id: str
    actor: Actor


def _new_id(at: datetime) -> str:
    return f"PA{at:%Y%m%d}{secrets.token_hex(8).upper()}"


def _data(ctx: AppContext, row: ProofApplication) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(ctx.protector.decrypt(row.data_enc, DATA_CONTEXT))
    return out


def apply(ctx: AppContext, session: Session, applicant: Applicant, *, type_key: str, purpose: str,
          details: Mapping[str, str] | None = None) -> ProofApplication:
    pt = proofs.proof_type(ctx, type_key, mode="reviewed")
    allowed = APPLICANT_DETAILS.get(pt.key, ())
    details = {k: v.strip() for k, v in (details or {}).items()}
    unknown = sorted(set(details) - set(allowed))
    if unknown:
        raise InvalidInput(f"details not asked for by {pt.name}: {', '.join(unknown)}", field="details")
    missing = [k for k in allowed if not details.get(k)]
    if missing:
        raise InvalidInput(f"{pt.name} needs: {', '.join(missing)}", code="DETAILS_MISSING",
                           field=f"details.{missing[0]}")
    name = data_source(ctx).holder_name(applicant.id_number)
    if name is None:
        raise NotFound("the department holds no record of this person", code="NO_RECORD")
    if repository.pending_of_type(session, applicant.holder_hash, pt.key) is not None:
        raise Conflict(f"an application for {pt.name} is already waiting for review", code="APPLICATION_PENDING")
    now = utcnow()
    payload = {"id_number": applicant.id_number, "name": name, "purpose": purpose, "details": details}
    row = repository.add(session, ProofApplication(
        id=_new_id(now), type_key=pt.key, department_id=pt.departments[0], holder_hash=applicant.holder_hash,
        data_enc=ctx.protector.encrypt(json.dumps(payload, ensure_ascii=False).encode(), DATA_CONTEXT),
        status="pending", created_at=now))
    usage.record(session, applicant.holder_hash, "proof_applied", applicant.actor,
                 subject={"application_id": row.id, "type": pt.key, "type_name": pt.name, "purpose": purpose})
    return row


def view_for_citizen(ctx: AppContext, row: ProofApplication) -> dict[str, Any]:
    pt = ctx.catalogue.proof_types.get(row.type_key)
    data = _data(ctx, row)
    return {
        "id": row.id, "type": row.type_key, "type_name": pt.name if pt else row.type_key,
        "type_name_en": pt.name_en if pt else row.type_key,
        "department": row.department_id, "purpose": data.get("purpose"), "status": row.status,
        "reason": row.reason, "created_at": row.created_at.isoformat(),
        "decided_at": row.decided_at.isoformat() if row.decided_at else None, "proof_id": row.proof_id,
        "download_url": f"/api/v1/proofs/{row.proof_id}" if row.proof_id else None,
        "verify_url": proofs.verify_url(ctx, row.proof_id) if row.proof_id else None,
    }


def list_for_holder(ctx: AppContext, session: Session, holder_hash: str) -> list[dict[str, Any]]:
    return [view_for_citizen(ctx, row) for row in repository.for_holder(session, holder_hash)]


def _context(data: Mapping[str, Any]) -> dict[str, str]:
    out = {"purpose": str(data.get("purpose") or "")}
    for k, v in (data.get("details") or {}).items():
        out[f"details.{k}"] = str(v)
    return out


def queue(ctx: AppContext, session: Session, reviewer: Reviewer, *, status: str = "pending"
          ) -> list[dict[str, Any]]:
    """The department's applications, each with what its system of record says (for the reviewer only)."""
    source = data_source(ctx)
    items = []
    for row in repository.queue(session, reviewer.department_id, status):
        data = _data(ctx, row)
        found = source.holder_data(row.type_key, data["id_number"], context=_context(data))
        pt = ctx.catalogue.proof_types.get(row.type_key)
        items.append({
            "id": row.id, "type": row.type_key, "type_name": pt.name if pt else row.type_key,
            "type_name_en": pt.name_en if pt else row.type_key,
            "status": row.status, "created_at": row.created_at.isoformat(),
            "applicant": {"name": data["name"], "id_number": data["id_number"],
                          "id_masked": mask_citizen_id(data["id_number"])},
            "purpose": data.get("purpose"), "details": data.get("details") or {},
            "record": None if found is None else {"fields": dict(found.fields), "findings": dict(found.findings)},
            "blocked_by": _blocking(row.type_key, found.findings if found else {}),
        })
    return items


def _blocking(type_key: str, findings: Mapping[str, Any]) -> str | None:
    flag = BLOCKING_FINDINGS.get(type_key)
    return flag if flag and findings.get(flag) else None


def review(ctx: AppContext, session: Session, reviewer: Reviewer, application_id: str, *, decision: Decision,
           reason: str | None) -> ProofApplication:
    row = repository.get_for_update(session, application_id)
    if row is None or row.department_id != reviewer.department_id:
        raise NotFound("no such application in your department's queue", code="APPLICATION_NOT_FOUND")
    if row.status != "pending":
        raise Conflict(f"the application is already {row.status}", code="APPLICATION_DECIDED")
    data = _data(ctx, row)
    reason = (reason or "").strip() or None
    if decision == "reject":
        if not reason:
            raise InvalidInput("a rejection needs a reason the citizen can read", code="REASON_REQUIRED",
                               field="reason")
    else:
        pt = proofs.proof_type(ctx, row.type_key, mode="reviewed")
        found = proofs.read_holder_data(ctx, pt, data["id_number"], _context(data))
        blocked = _blocking(pt.key, found.findings)
        if blocked:
            raise Conflict(f"the department's records contradict {pt.name} ({blocked}): reject it instead",
                            code="RECORD_CONTRADICTS")
        issued = proofs.seal_and_store(ctx, session, pt, found, requester=reviewer.actor)
        row.proof_id = issued.proof.id
    row.status = "approved" if decision == "approve" else "rejected"
    row.reason = reason
    row.reviewer_id = reviewer.clerk_id
    row.decided_at = utcnow()
    session.flush()
    usage.record(session, row.holder_hash, "proof_reviewed", reviewer.actor, outcome=row.status,
                 subject={"application_id": row.id, "type": row.type_key, "proof_id": row.proof_id,
                          "reason": reason})
    return row
