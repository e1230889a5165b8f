"""Offline verification of a licence (SD-JWT VC) against a trust list.

Order of checks: parse (MALFORMED) → header: ES256 only (BAD_SIGNATURE), ``typ`` ``dc+sd-jwt`` (MALFORMED) →
signer listed for ``iss`` with use ``licence`` (UNKNOWN_ISSUER) → signature (BAD_SIGNATURE). Those stop early:
nothing in an unauthenticated payload is reported. After a good signature every further problem is collected:
CHAIN_INVALID, REVOKED, ISSUER_NOT_AUTHORISED, NOT_YET_VALID / EXPIRED (60 s leeway), DISCLOSURE_TAMPERED,
REVOKED / SUSPENDED / EXPIRED / NOT_FOUND / STATUS_UNAVAILABLE from the status step, SCHEMA_MISMATCH.

Chain model: the signing certificate must have been valid at the signing time ``iat`` (and ``iat`` may not lie
in the future), so a 20-year ID card stays verifiable after its department's 2-year certificate has expired.
The risk this accepts — a retired but un-revoked key back-dating a licence — is closed by revocation: a key
whose certificate is retired early or compromised is listed as revoked, and every licence it signed then
fails with REVOKED. Retired keys must be destroyed (see README, "Trust").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from schemas.identifiers import IdentifierError, parse_citizen_id, parse_licence_identifier, validate_uscc
from verifier.errors import MalformedInput
from verifier.jose import es256_verify, parse_x5c_certificates
from verifier.result import Code, LicenceVerification, verdict_line
from verifier.sdjwt import ParsedSdJwt, Unpacked, parse_sd_jwt, unpack
from verifier.status_check import StatusSource, check_status
from verifier.trust import TrustList

if TYPE_CHECKING:
    from schemas.catalogue import Catalogue

__all__ = ["LEEWAY_SECONDS", "LICENCE_TYP", "VCT_PREFIX", "StatusSource", "clear_caches", "forget", "verify_licence"]

LICENCE_TYP = "dc+sd-jwt"
VCT_PREFIX = "urn:licex:licence-type:"
LEEWAY_SECONDS = 60
#: Disclosable claims that are not face fields (licence_no is disclosable when it is the holder's code).
HOLDER_CLAIMS = ("holder_name", "holder_code", "licence_no")


class _Findings:
    def __init__(self) -> None:
        self.codes: list[str] = []
        self.notes: list[str] = []
        self.added: list[tuple[Code, str]] = []

    def add(self, code: Code, note: str) -> None:
        if code not in self.codes:
            self.codes.append(code)
        self.notes.append(f"{code}: {note}")
        self.added.append((code, note))


def _failed(code: Code, note: str, **details: Any) -> LicenceVerification:
    return LicenceVerification(
        valid=False,
        codes=(code,),
        verdict=verdict_line((code,), what=None, issuer=None, note=note),
        details={"notes": (f"{code}: {note}",), **details},
    )


class _Memo:
    """What one exact credential text always yields, whatever the time, trust list or status: its parse, its
    unpacked claims and (per catalogue) the schema findings. Signature, chain, revocation, validity times,
    authorisation and status are checked on every call; a memo only saves re-parsing the same bytes."""

    __slots__ = ("parsed", "schema", "unpacked")

    def __init__(self, parsed: ParsedSdJwt) -> None:
        self.parsed = parsed
        self.unpacked: Unpacked | MalformedInput | None = None
        self.schema: tuple[Catalogue, list[tuple[Code, str]], dict[str, Any]] | None = None


#: Credentials recently verified in this process (a counter pull re-verifies the same stored licences).
#: Bounded; cleared when full. ``clear_caches()`` empties it (tests compare cold and warm results).
_MEMO: dict[str, _Memo] = {}
MEMO_MAX_ENTRIES = 2048


def clear_caches(*, credentials_only: bool = False) -> None:
    """Forget every memoised credential parse and, unless ``credentials_only``, the memoised JWS headers,
    ``x5c`` certificates and certificate-to-root signature checks too (a fully cold verifier)."""
    _MEMO.clear()
    if not credentials_only:
        from verifier import jose, sdjwt, trust

        jose.clear_caches()
        sdjwt.clear_caches()
        trust.clear_caches()


def forget(sd_jwt: str) -> None:
    """Forget one credential's memoised parse (its next verification runs cold)."""
    _MEMO.pop(sd_jwt, None)


def _memo(sd_jwt: str, *, keep: bool = True) -> _Memo:
    memo = _MEMO.get(sd_jwt) if isinstance(sd_jwt, str) else None
    if memo is None:
        memo = _Memo(parse_sd_jwt(sd_jwt))
        if not keep:
            return memo
        if len(_MEMO) >= MEMO_MAX_ENTRIES:
            _MEMO.clear()
        _MEMO[sd_jwt] = memo
    return memo


def _unpacked(memo: _Memo) -> Unpacked | MalformedInput:
    if memo.unpacked is None:
        try:
            memo.unpacked = unpack(memo.parsed)
        except MalformedInput as exc:
            memo.unpacked = exc
    return memo.unpacked


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# Long on purpose (~120 lines): the checks run top to bottom in the order the security argument needs — parse,
# pin the algorithm, find the listed certificate, verify the signature, and only then collect every finding — and
# that order is reviewed by reading them in one place.
def verify_licence(
    sd_jwt: str,
    trust: TrustList,
    *,
    now: datetime | None = None,
    status: StatusSource | None = None,
    catalogue: Catalogue | None = None,
    check_schema: bool = True,
    require_status: bool | None = None,
    memoise: bool = True,
) -> LicenceVerification:
    """Verify one licence (issuance or presentation form). Never raises for bad input: see the result.

    Status (fail closed, see :mod:`verifier.status_check`): a licence whose payload names a status list, or a
    call that passes ``status``, must have its status learnt — otherwise STATUS_UNAVAILABLE (not valid,
    verdict INDETERMINATE). ``require_status=True`` demands it for every licence; ``require_status=False`` skips
    the step explicitly (``details["status"] == "not_checked"``).

    ``memoise=False`` does not keep this credential's parse for later calls (an earlier kept one is still used):
    for credentials seen once, as in a bulk import, where keeping thousands of parses only costs memory and
    garbage-collector passes over them (measured: 258 → 201 µs per licence in the importer's loop).
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    at = int(moment.timestamp())

    try:
        memo = _memo(sd_jwt, keep=memoise)
    except MalformedInput as exc:
        return _failed(Code.MALFORMED, exc.detail)
    parsed = memo.parsed
    header, payload = parsed.jws.header, parsed.payload

    alg = header.get("alg")
    if alg != "ES256":
        return _failed(Code.BAD_SIGNATURE, f"algorithm {alg!r} is not accepted (ES256 only)")
    if header.get("typ") != LICENCE_TYP:
        return _failed(Code.MALFORMED, f"header typ must be {LICENCE_TYP!r}")
    if "crit" in header:
        return _failed(Code.MALFORMED, "critical header extensions are not supported")
    iss, iat, vct = payload.get("iss"), payload.get("iat"), payload.get("vct")
    licence_id, licence_type = payload.get("licence_id"), payload.get("licence_type")
    if not (isinstance(iss, str) and iss and isinstance(vct, str) and _is_int(iat)):
        return _failed(Code.MALFORMED, "iss, iat and vct are required")
    if not (isinstance(licence_id, str) and isinstance(licence_type, str)):
        return _failed(Code.MALFORMED, "licence_id and licence_type are required")
    for claim in ("nbf", "exp"):
        if claim in payload and not _is_int(payload[claim]):
            return _failed(Code.MALFORMED, f"{claim} must be an integer NumericDate")
    try:
        signer = parse_x5c_certificates(header)[0]
    except MalformedInput as exc:
        return _failed(Code.MALFORMED, exc.detail)

    leaf, fp = signer.cert, signer.fingerprint
    dept = trust.department_for_certificate(leaf, "licence", fp=fp)
    if dept is None or dept.id != iss:
        return _failed(
            Code.UNKNOWN_ISSUER,
            f"the signing certificate is not listed for department {iss!r}",
            certificate_fingerprint=fp,
        )
    if not es256_verify(leaf.public_key(), parsed.jws.signing_input, parsed.jws.signature):
        return _failed(Code.BAD_SIGNATURE, "the signature does not verify", certificate_fingerprint=fp)

    # The payload is authentic from here on: collect every problem.
    found = _Findings()
    details: dict[str, Any] = {"department_id": dept.id, "certificate_fingerprint": fp}
    # Time claims, iss and vct are clear by rule (SD-JWT VC); the rest is read from the unpacked claims.
    disclosed: dict[str, Any] = {}
    unpacked = _unpacked(memo)
    if isinstance(unpacked, MalformedInput):
        claims: dict[str, Any] = {k: v for k, v in payload.items() if k not in ("_sd", "_sd_alg")}
        found.add(Code.MALFORMED, unpacked.detail)
    else:
        disclosed = unpacked.disclosed
        claims = unpacked.claims
        if unpacked.unreferenced:
            names = sorted(str(d.name) for d in unpacked.unreferenced)
            found.add(
                Code.DISCLOSURE_TAMPERED, f"disclosure(s) not covered by the signature: {', '.join(names)}"
            )
            details["tampered_disclosures"] = tuple(names)
    signed_at = datetime.fromtimestamp(iat, UTC) if isinstance(iat, int) and iat <= at + LEEWAY_SECONDS else moment
    if not trust.chains_to_root(leaf, at=signed_at, fp=fp):
        found.add(Code.CHAIN_INVALID, "signing certificate was not valid at signing time or has no trusted root")
    revocation = trust.revocation(leaf, fp=fp)
    if revocation is not None:
        found.add(Code.REVOKED, f"signing key revoked ({revocation.reason})")
    if licence_type not in dept.may_issue:
        found.add(Code.ISSUER_NOT_AUTHORISED, f"{dept.name} may not issue type {licence_type}")
    issuer_claim = claims.get("issuer")
    if not isinstance(issuer_claim, dict) or issuer_claim.get("code") != dept.uscc:
        found.add(Code.UNKNOWN_ISSUER, "issuer.code differs from the department's USCC in the trust list")

    nbf, exp = payload.get("nbf"), payload.get("exp")
    if isinstance(nbf, int) and nbf > at + LEEWAY_SECONDS:
        found.add(Code.NOT_YET_VALID, "nbf is in the future")
    if isinstance(iat, int) and iat > at + LEEWAY_SECONDS:
        found.add(Code.NOT_YET_VALID, "iat is in the future")
    if isinstance(exp, int) and exp <= at - LEEWAY_SECONDS:
        found.add(Code.EXPIRED, "exp has passed")

    _status_step(payload.get("status"), licence_id, status, require_status, found, details)

    if check_schema:
        _check_schema_memoised(memo, claims, disclosed, licence_type, vct, catalogue, found, details)

    metadata = {k: v for k, v in claims.items() if k not in disclosed or k == "licence_no"}
    name = payload.get("licence_name")
    what = f"{name if isinstance(name, str) else licence_type} {licence_id}"
    codes = tuple(found.codes)
    details["notes"] = tuple(found.notes)
    return LicenceVerification(
        valid=not codes,
        codes=codes,
        verdict=verdict_line(
            codes, what=what, issuer=dept.name, note=found.notes[0] if found.notes else None
        ),
        subject=licence_id,
        issuer=dept.name,
        details=details,
        disclosed=disclosed,
        metadata=metadata,
    )


def _status_step(
    claim: object,
    licence_id: str,
    status: StatusSource | None,
    require: bool | None,
    found: _Findings,
    details: dict[str, Any],
) -> None:
    outcome = check_status(claim, licence_id, status, require=require)
    details.update(outcome.details)
    if outcome.code is not None:
        found.add(outcome.code, outcome.note or outcome.code)
    elif outcome.note:
        details["status_note"] = outcome.note


def _check_schema_memoised(
    memo: _Memo,
    claims: dict[str, Any],
    disclosed: dict[str, Any],
    licence_type: str,
    vct: str,
    catalogue: Catalogue | None,
    found: _Findings,
    details: dict[str, Any],
) -> None:
    """:func:`_check_schema` once per credential and catalogue; later calls replay its findings in order."""
    if catalogue is None:
        from schemas.catalogue import load_catalogue  # deferred: loading the catalogue reads data files

        catalogue = load_catalogue()
    cat = catalogue
    if memo.schema is None or memo.schema[0] is not cat:
        recorder = _Findings()
        extra: dict[str, Any] = {}
        _check_schema(claims, disclosed, licence_type, vct, cat, recorder, extra)
        memo.schema = (cat, recorder.added, extra)
    for code, note in memo.schema[1]:
        found.add(code, note)
    details.update(memo.schema[2])


def _check_schema(
    payload: dict[str, Any],
    disclosed: dict[str, Any],
    licence_type: str,
    vct: str,
    cat: Catalogue,
    found: _Findings,
    details: dict[str, Any],
) -> None:
    if vct != VCT_PREFIX + licence_type:
        found.add(Code.SCHEMA_MISMATCH, f"vct {vct!r} does not name licence type {licence_type}")
    try:
        lt = cat.licence_type_by_code(licence_type)
    except KeyError:
        found.add(Code.SCHEMA_MISMATCH, f"licence type {licence_type} is not in the catalogue")
        return
    holder_code_type = payload.get("holder_code_type")
    if holder_code_type != lt.holder_code_type:
        found.add(Code.SCHEMA_MISMATCH, f"holder_code_type must be {lt.holder_code_type} for {lt.name}")

    issuer_claim = payload.get("issuer")
    issuer_code = issuer_claim.get("code") if isinstance(issuer_claim, dict) else None
    try:
        ident = parse_licence_identifier(str(payload.get("licence_id")))
    except IdentifierError as exc:
        found.add(Code.SCHEMA_MISMATCH, f"licence_id is not a GB/T 36904 identifier ({exc.code})")
    else:
        if ident.type_code != licence_type or ident.issuer_uscc != issuer_code:
            found.add(Code.SCHEMA_MISMATCH, "licence_id does not match licence_type and issuer.code")

    face = {k: v for k, v in disclosed.items() if k not in HOLDER_CLAIMS}
    # Partial disclosure is normal (minimum necessary): a missing field is not a problem.
    problems = [p for p in lt.validate_fields(face) if p.code != "MISSING"]
    holder_code = disclosed.get("holder_code")
    if "holder_code" in disclosed:
        try:
            if not isinstance(holder_code, str):
                raise IdentifierError("BAD_STRUCTURE", "holder_code must be a string", field="holder_code")
            if lt.holder_code_type == "111":
                parse_citizen_id(holder_code, field="holder_code")
            else:
                validate_uscc(holder_code, strict=False, field="holder_code")
        except IdentifierError as exc:
            problems.append(_problem("holder_code", exc.code))
        if lt.holder_code_field in face and face[lt.holder_code_field] != holder_code:
            problems.append(_problem("holder_code", "INCONSISTENT"))
    if (
        "holder_name" in disclosed
        and lt.holder_name_field in face
        and face[lt.holder_name_field] != disclosed["holder_name"]
    ):
        problems.append(_problem("holder_name", "INCONSISTENT"))
    licence_no = payload.get("licence_no", disclosed.get("licence_no"))
    if lt.licence_no_field in face and licence_no is not None and face[lt.licence_no_field] != licence_no:
        problems.append(_problem("licence_no", "INCONSISTENT"))
    if problems:
        details["schema_problems"] = tuple((p.field, p.code) for p in problems)
        listed = ", ".join(f"{p.field}:{p.code}" for p in problems[:5])
        found.add(Code.SCHEMA_MISMATCH, f"fields do not conform to {lt.name}: {listed}")


def _problem(field: str, code: str) -> Any:
    from schemas.catalogue import FieldProblem

    return FieldProblem(field, code, f"{field}: {code}")
