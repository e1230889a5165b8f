"""Build, sign and cache the trust list from the registered department certificates.

Read-through cache, checked on every use: one aggregate query over ``department_certificates`` and
``departments`` (count and max id of the certificates, count and latest revocation, count of departments) plus
the exchange's signing certificate (a ``stat`` of its files, see ``Keyring``) make the *state* the cached list was
built from. Certificate rows are only ever inserted (``licex exchange enrol`` / ``install-cert``) or revoked
once (``licex exchange import-crl``), never deleted or un-revoked, so every change moves that state. Whichever
process made the change, every replica re-signs at its next use: intake, verification and the published file
agree with the database with a cache bound of 0 s. The list is also re-signed when half its validity is gone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from verifier.trust import (
    RevokedCertificate,
    TrustedCertificate,
    TrustedDepartment,
    TrustList,
    TrustListDocument,
)

from ..context import AppContext, TrustCache
from ..departments import service as departments
from ..models import Department, DepartmentCertificate
from ..tlog import service as tlog
from .encoder import encode_trust_list

VALIDITY = timedelta(days=1)
PUBLISHED_USES = ("licence", "seal")


#: Built once: every pull and verification asks it, and building it costs more CPU than running it.
_STATE = select(
    func.count(DepartmentCertificate.id), func.max(DepartmentCertificate.id),
    func.count(DepartmentCertificate.revoked_at), func.max(DepartmentCertificate.revoked_at),
    select(func.count(Department.id)).scalar_subquery(),
)


def _state(ctx: AppContext, session: Session) -> tuple[Any, ...]:
    row = session.execute(_STATE).one()
    return (*row, ctx.keyring.exchange_fingerprint)


def build_document(ctx: AppContext, session: Session, *, now: datetime | None = None) -> TrustListDocument:
    now = now or datetime.now(UTC)
    certs = departments.certificates(session)
    by_dept: dict[str, list[TrustedCertificate]] = {}
    revoked: list[RevokedCertificate] = []
    for row in certs:
        if row.revoked_at is not None:
            # stays listed under its department so verifiers can say REVOKED rather than UNKNOWN_ISSUER
            revoked.append(RevokedCertificate(row.fingerprint, row.revoked_at, row.revoke_reason or "unspecified"))
        if row.use in PUBLISHED_USES:
            cert = x509.load_pem_x509_certificate(row.pem.encode())
            by_dept.setdefault(row.department_id, []).append(TrustedCertificate(cert, row.use))
    depts = []
    for dept in departments.list_departments(session):
        may_issue = frozenset(lt.code for lt in ctx.catalogue.licence_types.values()
                              if dept.id in lt.issuing_departments)
        depts.append(TrustedDepartment(dept.id, dept.name, dept.uscc, may_issue, tuple(by_dept.get(dept.id, ()))))
    return TrustListDocument(
        issuer=ctx.settings.exchange_id, issued_at=now.replace(microsecond=0),
        next_update=(now + VALIDITY).replace(microsecond=0), roots=(ctx.keyring.root,),
        departments=tuple(depts), revoked=tuple(revoked), log_keys=(tlog.log_key(ctx).vkey,),
    )


def current_trust_list(ctx: AppContext, session: Session) -> TrustList:
    state = _state(ctx, session)
    cached = ctx.trust_cache
    now = datetime.now(UTC)
    if cached is not None and cached.state == state and cached.trust.next_update - now > VALIDITY / 2:
        return cached.trust
    key, cert = ctx.keyring.exchange
    signed = encode_trust_list(build_document(ctx, session, now=now), key, cert)
    trust = TrustList.load(signed, now=now)
    ctx.trust_cache = TrustCache(state, trust)
    return trust
