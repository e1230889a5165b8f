"""How each material of a matter is satisfied at the counter — as the matter's catalogue data declares, tried in
:data:`schemas.catalogue.SATISFACTION_MODES` order:

* ``licence``: a verified presentation of a consented e-licence;
* ``instant_proof``: an instant proof the exchange generates, seals and records for the case;
* ``department_check`` (部门核验): the exchange asks the department's system (the proof data source) and records
  the yes/no as a JWS signed with the department's seal key (ES256, ``x5c`` chain to the city root);
* ``archive``: a material the citizen uploaded before and a clerk accepted (:mod:`exchange.archive.service`);
* ``commitment`` (告知承诺制): the statement shown to the citizen with the consent request, confirmed by approving.

The citizen's consent for the case covers all of it: the consent request lists every use beside the licences
(:func:`exchange.consents.service.uses_for`). The checklist says for each material how it was satisfied and from
what; the evaluation is logged (``materials_satisfied``, ``department_check``, ``material_reused``) and its
evidence — presentations, proofs, signed check answers — is filed into the archive as the case's record.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy.orm import Session

from schemas.catalogue import Material, Matter
from verifier.sdjwt import parse_sd_jwt, unpack

from ..archive import service as archive
from ..context import AppContext
from ..kit.errors import ExchangeError
from ..licences.service import credential_of, effective_status
from ..models import Consent, CounterCase, Licence
from ..proofs import service as proofs
from ..proofs.service import data_source
from ..usage import service as usage
from ..usage.service import Actor

CHECK_TYP: Final = "licex-dept-check+jwt"


@dataclass
class Evidence:
    """What a pull produced for the case record: (material_type, title, media_type, bytes)."""

    items: list[tuple[str, str, str, bytes]]


def holder_id_number(ctx: AppContext, rows: list[Licence]) -> str | None:
    """The holder's citizen ID number, read by the exchange from a valid personal licence in its registry (used
    only to ask departments for proofs and checks the consent covers; never shown to the clerk)."""
    for row in rows:
        if row.holder_code_type != "111" or effective_status(row) != "valid":
            continue
        claims = unpack(parse_sd_jwt(credential_of(row, ctx.protector))).claims
        code = claims.get("holder_code")
        if isinstance(code, str):
            return code
    return None


def _sign_check(ctx: AppContext, department_id: str, payload: dict[str, Any]) -> str:
    seal = ctx.keyring.seal(department_id)
    chain = [base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in (seal.cert, ctx.keyring.root)]
    return jwt.encode(payload, seal.key, algorithm="ES256", headers={"typ": CHECK_TYP, "x5c": chain})


def _item(m: Material) -> dict[str, Any]:
    return {"material": m.id, "name": m.name, "name_en": m.name_en, "required": m.required,
            "modes": list(m.modes), "electronic": bool(m.modes), "satisfied": False, "how": None, "by": None,
            "archive": m.archive}


def checklist(ctx: AppContext, matter: Matter, satisfied: dict[str, str], *, consent: Consent | None = None
              ) -> list[dict[str, Any]]:
    """The checklist without acting: licences (``satisfied``: type key → licence id) and commitments."""
    out = []
    for m in matter.materials:
        item = _item(m)
        alt = next((a for a in m.satisfied_by if a.licence_type in satisfied), None)
        if alt is not None:
            lt = ctx.catalogue.licence_types[alt.licence_type]
            item.update(satisfied=True, how="licence", by={"type": alt.licence_type, "type_name": lt.name,
                                                           "licence_id": satisfied[alt.licence_type]})
        elif m.commitment is not None and consent is not None and consent.status == "approved":
            item.update(satisfied=True, how="commitment", by=_commitment_source(m, consent))
        out.append(item)
    return out


def _commitment_source(m: Material, consent: Consent) -> dict[str, Any]:
    assert m.commitment is not None  # noqa: S101 - callers check
    at = consent.decided_at
    return {"statement": m.commitment.statement, "consent_id": consent.id,
            "confirmed_at": (at if at is None or at.tzinfo else at.replace(tzinfo=UTC)).isoformat() if at else None}


class _Pull:
    def __init__(self, ctx: AppContext, session: Session, case: CounterCase, matter: Matter, consent: Consent,
                 clerk: Actor, rows: list[Licence]) -> None:
        self.ctx, self.session, self.case, self.matter = ctx, session, case, matter
        self.consent, self.clerk, self.rows = consent, clerk, rows
        self.evidence: list[tuple[str, str, str, bytes]] = []
        self.events: list[usage.Event] = []  # logged together, in order, before anything that logs on its own

    @functools.cached_property
    def id_number(self) -> str | None:
        """Read from the holder's licences only when a proof or a department check needs it."""
        return holder_id_number(self.ctx, self.rows)

    def log_pending(self, *also: usage.Event) -> None:
        if self.events or also:
            usage.record_many(self.session, [*self.events, *also])
            self.events = []

    def proof(self, m: Material) -> dict[str, Any] | None:
        if m.instant_proof is None or self.id_number is None:
            return None
        self.log_pending()  # creating the proof logs proof_created
        try:
            issued = proofs.create_instant(self.ctx, self.session, type_key=m.instant_proof,
                                           id_number=self.id_number, requester=self.clerk, matter=self.matter.key)
        except ExchangeError:
            return None
        pt = self.ctx.catalogue.proof_types[m.instant_proof]
        self.evidence.append((m.archive or m.id, pt.name, "application/pdf", issued.pdf))
        return {"proof_id": issued.proof.id, "type": pt.key, "type_name": pt.name}

    def check(self, m: Material) -> tuple[bool, dict[str, Any]] | None:
        spec = m.department_check
        if spec is None or self.id_number is None:
            return None
        try:
            answer = data_source(self.ctx).department_check(spec.check, self.id_number)
        except ExchangeError:
            return None
        if answer is None:
            return None
        dept = self.ctx.catalogue.departments[answer.department_id]
        now = datetime.now(UTC)
        signed = _sign_check(self.ctx, answer.department_id, {
            "iss": dept.uscc, "iat": int(now.timestamp()), "check": spec.check, "name": spec.name,
            "sub": self.case.holder_hash, "case": self.case.id, "matter": self.matter.key,
            "result": answer.result, "detail": answer.detail, "source": answer.source})
        self.events.append(usage.Event(
            self.consent.holder_hash, "department_check", self.clerk, matter_key=self.matter.key,
            outcome="ok" if answer.result else "no",
            subject={"case_id": self.case.id, "check": spec.check, "department": dept.id, "result": answer.result,
                     "signed": signed}))
        self.evidence.append((m.archive or m.id, spec.name, "application/jwt", signed.encode()))
        return answer.result, {"check": spec.check, "name": spec.name, "department": dept.id,
                               "department_name": dept.name, "source": answer.source, "result": answer.result,
                               "detail": answer.detail, "signed": signed}

    def reuse(self, m: Material) -> dict[str, Any] | None:
        if m.archive is None or self.case.holder_hash is None:
            return None
        self.log_pending()  # a reuse logs material_reused
        return archive.reuse_for_case(self.ctx, self.session, holder_hash=self.case.holder_hash,
                                      material_type=m.archive, case_id=self.case.id, matter_key=self.matter.key,
                                      clerk=self.clerk)


def evaluate(ctx: AppContext, session: Session, *, case: CounterCase, matter: Matter, consent: Consent,
             clerk: Actor, licences: dict[str, str], presentations: dict[str, str], rows: list[Licence],
             log_first: list[usage.Event] | None = None, first_pull: bool = False) -> list[dict[str, Any]]:
    """Satisfy every material as declared (acting: proofs made, departments asked, archive reused), file the
    evidence for the case, and log the outcome. ``licences``: type → licence id of verified presentations;
    ``log_first``: the caller's events, logged before the evaluation's (together with them where nothing
    in between logs on its own: one insert for the whole pull in the common case); ``first_pull``: the case was
    never pulled before, so there is no earlier evidence to replace."""
    run = _Pull(ctx, session, case, matter, consent, clerk, rows)
    run.events.extend(log_first or ())
    items = checklist(ctx, matter, licences, consent=consent)
    for m, item in zip(matter.materials, items, strict=True):
        if item["how"] == "licence":
            alt_type = item["by"]["type"]
            if alt_type in presentations:
                run.evidence.append((m.archive or m.id, ctx.catalogue.licence_types[alt_type].name,
                                     "application/dc+sd-jwt", presentations[alt_type].encode()))
            continue
        if item["satisfied"]:
            continue
        if (src := run.proof(m)) is not None:
            item.update(satisfied=True, how="instant_proof", by=src)
            continue
        checked = run.check(m)
        if checked is not None:
            ok, src = checked
            item.update(how="department_check" if ok else None, by=src, satisfied=ok)
            if ok:
                continue
        if (src := run.reuse(m)) is not None:
            item.update(satisfied=True, how="archive", by=src)
    archive.replace_case_evidence(ctx, session, holder_hash=consent.holder_hash, case_id=case.id,
                                  matter_key=matter.key, clerk=clerk, materials=run.evidence,
                                  replace=not first_pull)
    run.log_pending(usage.Event(
        consent.holder_hash, "materials_satisfied", clerk, matter_key=matter.key, subject={
            "case_id": case.id, "materials": [
                {"material": i["material"], "satisfied": i["satisfied"], "how": i["how"],
                 "from": _source_ref(i)} for i in items]}))
    return items


def _source_ref(item: dict[str, Any]) -> str | None:
    by = item.get("by")
    if not isinstance(by, dict):
        return None
    for key in ("licence_id", "proof_id", "archive_id", "check", "consent_id"):
        if key in by:
            return f"{key}:{by[key]}"
    return None
