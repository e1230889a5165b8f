"""Proofs: make (instant or after review), hand out, verify, and show publicly — each use in the usage log.

Making a proof: the department's data source is read (:mod:`.datasource`), the page laid out from the catalogue
(:mod:`.builders`), the QR signed, the page rendered and PAdES-sealed in a worker (:mod:`.pipeline`), then the
sealed PDF is stored encrypted with its digest, the data digest, the seal's fingerprint and the expiry
(catalogue ``validity_days``). Services raise ``kit.errors`` and never commit.

Verification (department API): the PDF's seal is checked offline against the current trust list
(:func:`verifier.proof.verify_proof_pdf`), then the exchange's record: a correctly sealed PDF the exchange never
issued is NOT_FOUND, a withdrawn one REVOKED, one past its validity EXPIRED. A QR is checked the same way, its data
digest compared with the recorded data. Entitlement: the issuing department sees the full record; another
department sees it in full when it posted the PDF itself (it holds the printed values already), else with the
catalogue's sensitive values masked. The public page shows masked data only.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from schemas.catalogue import ProofType
from schemas.identifiers import IdentifierError, mod37_36_check, parse_citizen_id
from verifier.proof import ProofQrError, parse_proof_qr, verify_proof_pdf, verify_proof_qr
from verifier.result import Code
from verifier.status_check import check_status

from ..context import AppContext
from ..kit.db import utcnow
from ..kit.errors import InvalidInput, NotFound, UnsupportedMediaType
from ..models import Proof
from ..ops.metrics import proof_sealed
from ..status import service as status_lists
from ..trust.service import current_trust_list
from ..usage import service as usage
from ..usage.service import Actor
from . import builders, repository
from .datasource import HolderData
from .datasource import data_source as data_source  # part of this interface: applications read holders too
from .pipeline import SealJob, pipeline_for

PDF_CONTEXT = "proof-pdf"
DATA_CONTEXT = "proof-data"
#: Short, human-readable type codes in proof numbers (a type not listed uses the initials of its key).
TYPE_CODES: Mapping[str, str] = {
    "realty_query": "BDC", "hpf_deposit": "GJJ", "household_registration": "HJ", "blood_donation_proof": "XX",
    "gov_data_query_sheet": "ZWCX", "no_criminal_record": "WFZ", "lawyer_no_penalty": "LSCF",
}
_RANDOM_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I O S V Z: nothing to misread on paper
_RANDOM_LEN = 9

Disposition = Literal["download", "view", "print"]


@dataclass(frozen=True)
class IssuedProof:
    proof: Proof
    pdf: bytes
    qr_text: str
    record: dict[str, Any]


@dataclass(frozen=True)
class ProofVerdict:
    valid: bool
    codes: tuple[str, ...]
    verdict: str
    proof: dict[str, Any] | None
    details: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# numbers, types, holders
# --------------------------------------------------------------------------------------------------


def new_proof_number(ctx: AppContext, type_key: str, at: datetime) -> str:
    """``CS-BDC-20261121-K7M2Q9XF4-8``: city, type, local date, 9 random characters (≈ 44.6 bits, so the
    public page cannot be enumerated) and a MOD 37,36 check character that catches a mistyped number."""
    prefix = ctx.proof_number_prefix
    code = TYPE_CODES.get(type_key) or "".join(p[0] for p in type_key.split("_")).upper()
    day = builders.local_time(at).strftime("%Y%m%d")
    rand = "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(_RANDOM_LEN))
    body = f"{prefix}{code}{day}{rand}"
    return f"{prefix}-{code}-{day}-{rand}-{mod37_36_check(body, field='proof_id')}"


def check_proof_number(number: str) -> bool:
    parts = number.split("-")
    if len(parts) != 5 or any(not p.isalnum() or not p.isascii() for p in parts):
        return False
    try:
        return mod37_36_check("".join(parts[:4]), field="proof_id") == parts[4]
    except IdentifierError:
        return False


def proof_type(ctx: AppContext, type_key: str, *, mode: str | None = None) -> ProofType:
    pt = ctx.catalogue.proof_types.get(type_key)
    if pt is None:
        raise NotFound(f"unknown proof type {type_key!r}", code="PROOF_TYPE_NOT_FOUND", field="type")
    if mode is not None and pt.mode != mode:
        what = "is issued after department review: apply for it" if pt.mode == "reviewed" else "is instant"
        raise InvalidInput(f"{pt.name} {what}", code=f"PROOF_TYPE_{pt.mode.upper()}", field="type")
    return pt


def normalise_holder(id_number: str) -> str:
    try:
        return parse_citizen_id(id_number.strip().upper()).number
    except IdentifierError as exc:
        raise InvalidInput(str(exc), code=exc.code, field="holder") from exc


def read_holder_data(ctx: AppContext, pt: ProofType, id_number: str, context: Mapping[str, str]) -> HolderData:
    data = data_source(ctx).holder_data(pt.key, id_number, context=context)
    if data is None:
        raise NotFound(f"the department holds no record for {pt.name}", code="NO_RECORD")
    return data


def request_context(ctx: AppContext, *, purpose: str | None, matter: str | None,
                    details: Mapping[str, str] | None = None) -> dict[str, str]:
    out: dict[str, str] = {}
    if purpose:
        out["purpose"] = purpose
    if matter:
        m = ctx.catalogue.matters.get(matter)
        if m is None:
            raise NotFound(f"unknown matter {matter!r}", code="MATTER_NOT_FOUND", field="matter")
        out["matter"] = m.key
        out["matter_name"] = m.name
        dept = ctx.catalogue.departments.get(m.department)
        if dept is not None:
            out["requesting_department"] = dept.name
    for k, v in (details or {}).items():
        out[f"details.{k}"] = v
    return out


# --------------------------------------------------------------------------------------------------
# making proofs
# --------------------------------------------------------------------------------------------------


def seal_and_store(ctx: AppContext, session: Session, pt: ProofType, data: HolderData, *, requester: Actor,
                   mask_id: bool = False, matter_key: str | None = None, now: datetime | None = None
                   ) -> IssuedProof:
    """Lay out, seal (in a worker) and record one proof; logs ``proof_created`` for the holder."""
    issued_at = (now or utcnow()).replace(microsecond=0)
    number = new_proof_number(ctx, pt.key, issued_at)
    built = builders.build(ctx.catalogue, pt, data, number=number, issued_at=issued_at,
                           produced_by=f"{ctx.settings.city_name}电子证照共享平台", mask_id=mask_id)
    ref = status_lists.allocate_bound(ctx, session, owner=data.department_id, kind="proof", subject=number)
    sealed = pipeline_for(ctx).seal(SealJob(
        doc=built.doc, proof_id=number, department_id=data.department_id, issued_at=issued_at,
        base_url=ctx.settings.public_base_url, reason=pt.seal_purpose, location=ctx.settings.city_name,
        status_list=(ref.idx, ref.uri)))
    proof_sealed(pt.key)
    canonical = built.doc.canonical_data()
    stored = {"record": built.record, "canonical": canonical.decode("utf-8")}
    holder_hash = ctx.protector.holder_hash(data.id_number)
    row = repository.add(session, Proof(
        id=number, type_key=pt.key, department_id=data.department_id, holder_hash=holder_hash,
        data_enc=ctx.protector.encrypt(json.dumps(stored, ensure_ascii=False).encode(), DATA_CONTEXT),
        data_digest=hashlib.sha256(canonical).hexdigest(),
        pdf_enc=ctx.protector.encrypt(sealed.pdf, PDF_CONTEXT),
        pdf_digest=hashlib.sha256(sealed.pdf).hexdigest(),
        seal_fingerprint=sealed.seal_fingerprint, status="valid", issued_at=issued_at,
        expires_at=issued_at + timedelta(days=pt.validity_days),
        requested_by=f"{requester.kind}:{requester.name}"[:128],
    ))
    usage.record(session, holder_hash, "proof_created", requester, matter_key=matter_key,
                 subject={"proof_id": number, "type": pt.key, "type_name": pt.name,
                          "department": data.department_id})
    return IssuedProof(row, sealed.pdf, sealed.qr_text, built.record)


def create_instant(ctx: AppContext, session: Session, *, type_key: str, id_number: str, requester: Actor,
                   purpose: str | None = None, matter: str | None = None, mask_id: bool = False,
                   now: datetime | None = None) -> IssuedProof:
    pt = proof_type(ctx, type_key, mode="instant")
    holder = normalise_holder(id_number)
    context = request_context(ctx, purpose=purpose, matter=matter)
    data = read_holder_data(ctx, pt, holder, context)
    return seal_and_store(ctx, session, pt, data, requester=requester, mask_id=mask_id,
                          matter_key=context.get("matter"), now=now)


def _load(session: Session, proof_id: str) -> Proof:
    row = repository.get(session, proof_id) if len(proof_id) <= 40 else None
    if row is None:
        raise NotFound("no such proof", code="PROOF_NOT_FOUND")
    return row


def stored_data(ctx: AppContext, row: Proof) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ctx.protector.decrypt(row.data_enc, DATA_CONTEXT))
    return data


def pdf_for_holder(ctx: AppContext, session: Session, proof_id: str, *, holder_hash: str, actor: Actor,
                   disposition: Disposition = "download") -> tuple[Proof, bytes]:
    """The sealed PDF of one of the holder's own proofs; logs a download or a print."""
    row = _load(session, proof_id)
    if row.holder_hash != holder_hash:
        raise NotFound("no such proof", code="PROOF_NOT_FOUND")  # do not tell others it exists
    pdf = ctx.protector.decrypt(row.pdf_enc, PDF_CONTEXT)
    action = {"print": "proof_printed", "view": "proof_viewed"}.get(disposition, "proof_downloaded")
    usage.record(session, holder_hash, action, actor, subject={"proof_id": row.id, "type": row.type_key})
    return row, pdf


def record_print(session: Session, proof_id: str, *, holder_hash: str, actor: Actor) -> Proof:
    """A terminal printed one of the holder's proofs (the PDF was already fetched for display)."""
    row = _load(session, proof_id)
    if row.holder_hash != holder_hash:
        raise NotFound("no such proof", code="PROOF_NOT_FOUND")
    usage.record(session, holder_hash, "proof_printed", actor, subject={"proof_id": row.id, "type": row.type_key})
    return row


def list_for_holder(ctx: AppContext, session: Session, holder_hash: str) -> list[dict[str, Any]]:
    return [summary(ctx, row) for row in repository.for_holder(session, holder_hash)]


def status_of(row: Proof, now: datetime | None = None) -> str:
    if row.status != "valid":
        return row.status
    return "expired" if (now or utcnow()) >= row.expires_at else "valid"


def summary(ctx: AppContext, row: Proof) -> dict[str, Any]:
    pt = ctx.catalogue.proof_types.get(row.type_key)
    dept = ctx.catalogue.departments.get(row.department_id)
    return {
        "proof_id": row.id, "type": row.type_key, "type_name": pt.name if pt else row.type_key,
        "mode": pt.mode if pt else None,
        "type_name_en": pt.name_en if pt else row.type_key,
        "issuer": {"id": row.department_id, "name": dept.name if dept else row.department_id,
                   "name_en": dept.name_en if dept else row.department_id},
        "status": status_of(row), "issued_at": row.issued_at.isoformat(), "expires_at": row.expires_at.isoformat(),
        "download_url": f"/api/v1/proofs/{row.id}", "verify_url": verify_url(ctx, row.id),
    }


def verify_url(ctx: AppContext, proof_id: str) -> str:
    return f"{ctx.settings.public_base_url.rstrip('/')}/v/{proof_id}"


# --------------------------------------------------------------------------------------------------
# verification
# --------------------------------------------------------------------------------------------------


def _status_source(ctx: AppContext, session: Session) -> status_lists.RegistryStatus:
    """The proof's status list entry, read from this exchange's lists; the proof row for older proofs."""

    def by_id(proof_id: str) -> str | None:
        row = repository.get(session, proof_id) if 0 < len(proof_id) <= 40 else None
        return "not_found" if row is None else status_of(row)

    return status_lists.RegistryStatus(ctx, session, by_id=by_id)


def _status_checks(ctx: AppContext, session: Session, claim: object, proof_id: str,
                   details: dict[str, Any]) -> list[str]:
    """The shared status step on a proof whose seal verified: its status list entry (fail closed)."""
    outcome = check_status(claim, proof_id, _status_source(ctx, session))
    details.update({k: v for k, v in outcome.details.items() if k in ("status", "status_error")})
    return [outcome.code] if outcome.code is not None else []


def _record_checks(row: Proof | None, now: datetime) -> list[str]:
    if row is None:
        return [Code.NOT_FOUND]
    if row.status == "revoked":
        return [Code.REVOKED]
    if now >= row.expires_at:
        return [Code.EXPIRED]
    return []


def _verdict(codes: list[str], base_verdict: str, *, what: str) -> tuple[tuple[str, ...], str]:
    unique = tuple(dict.fromkeys(codes))
    if not unique:
        return unique, base_verdict
    from verifier.result import verdict_line

    return unique, verdict_line(unique, what=what, issuer=None)


def _entitled(ctx: AppContext, row: Proof, *, department_id: str, holds_document: bool) -> dict[str, Any]:
    record = stored_data(ctx, row)["record"]
    full = holds_document or department_id == row.department_id
    shown = record if full else builders.masked_record(record, mask_all=False)
    return {**summary(ctx, row), "data": shown, "data_masked": not full}


def _log_verification(session: Session, row: Proof | None, actor: Actor, codes: tuple[str, ...],
                      via: str) -> None:
    if row is None:
        return
    usage.record(session, row.holder_hash, "proof_verified", actor, outcome="valid" if not codes else "invalid",
                 subject={"proof_id": row.id, "type": row.type_key, "via": via, "codes": list(codes)})


def verify_pdf(ctx: AppContext, session: Session, pdf: bytes, *, department_id: str, actor: Actor,
               now: datetime | None = None) -> ProofVerdict:
    if not pdf.lstrip()[:5].startswith(b"%PDF-"):
        raise UnsupportedMediaType("the file is not a PDF", code="NOT_A_PDF", field="file")
    moment = now or datetime.now(UTC)
    result = verify_proof_pdf(pdf, current_trust_list(ctx, session), now=moment, require_status=False)
    details = {k: v for k, v in result.details.items() if k in ("department", "signing_time", "cert_fingerprint",
                                                                  "coverage", "timestamped", "qr_claims")}
    row = repository.by_pdf_digest(session, hashlib.sha256(pdf).hexdigest())
    codes = list(result.codes)
    if not codes:
        claims = result.details.get("qr_claims") or {}
        codes = _status_checks(ctx, session, claims.get("status"), str(claims.get("proof_id") or ""), details)
        codes += _record_checks(row, moment)
    else:
        claimed = (result.details.get("qr_claims") or {}).get("proof_id")
        row = repository.get(session, str(claimed)) if claimed and len(str(claimed)) <= 40 else None
    unique, verdict = _verdict(codes, result.verdict, what="sealed proof")
    proof = None
    if row is not None:
        proof = (_entitled(ctx, row, department_id=department_id, holds_document=True) if not unique
                 else summary(ctx, row) if result.valid else None)
    _log_verification(session, row, actor, unique, "pdf")
    return ProofVerdict(not unique, unique, verdict, proof, details)


def verify_qr(ctx: AppContext, session: Session, qr_text: str, *, department_id: str, actor: Actor,
              now: datetime | None = None) -> ProofVerdict:
    moment = now or datetime.now(UTC)
    try:
        claims = parse_proof_qr(qr_text)
    except ProofQrError as exc:
        return ProofVerdict(False, (Code.MALFORMED,), f"INVALID: MALFORMED — {exc}", None)
    row = repository.get(session, claims.proof_id) if len(claims.proof_id) <= 40 else None
    canonical = stored_data(ctx, row)["canonical"].encode() if row is not None else None
    result = verify_proof_qr(qr_text, current_trust_list(ctx, session), now=moment, canonical_data=canonical,
                             require_status=False)
    codes = list(result.codes)
    status_details: dict[str, Any] = {}
    if not codes:
        codes = _status_checks(ctx, session, claims.status_claim, claims.proof_id, status_details)
        codes += _record_checks(row, moment)
    unique, verdict = _verdict(codes, result.verdict, what=f"proof {claims.proof_id}")
    proof = None
    if row is not None and result.valid:
        proof = _entitled(ctx, row, department_id=department_id, holds_document=False)
    elif row is not None and Code.TAMPERED not in unique and Code.BAD_SIGNATURE not in unique:
        proof = summary(ctx, row)
    details = {"qr_claims": claims.to_json(), "cert_fingerprint": result.details.get("cert_fingerprint"),
               **status_details}
    _log_verification(session, row if Code.BAD_SIGNATURE not in unique else None, actor, unique, "qr")
    return ProofVerdict(not unique, unique, verdict, proof, details)


# --------------------------------------------------------------------------------------------------
# the public page
# --------------------------------------------------------------------------------------------------


def public_record(ctx: AppContext, session: Session, proof_id: str, *, log: bool = True) -> dict[str, Any]:
    """What anyone who scans the QR may see: status, type, issuer, dates and masked data."""
    if not check_proof_number(proof_id):
        raise NotFound("no such proof", code="PROOF_NOT_FOUND")
    row = _load(session, proof_id)
    record = builders.with_english_titles(builders.masked_record(stored_data(ctx, row)["record"], mask_all=True),
                                          ctx.catalogue.proof_types.get(row.type_key))
    out = {**summary(ctx, row), "data": record, "data_digest": row.data_digest,
           "seal_fingerprint": row.seal_fingerprint}
    out.pop("download_url")
    if log:
        usage.record(session, row.holder_hash, "proof_verified", Actor("public", "扫码核验"),
                     subject={"proof_id": row.id, "type": row.type_key, "via": "public_page"})
    return out


def revoke(session: Session, proof_id: str) -> Proof:
    """Withdraw a proof (operator or issuing department): verification then says REVOKED."""
    row = _load(session, proof_id)
    row.status = "revoked"
    status_lists.set_status(session, kind="proof", subject=row.id, action="revoke")  # the list, at once
    session.flush()
    return row
