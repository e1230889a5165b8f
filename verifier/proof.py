"""Offline checks of sealed proofs: the PDF's PAdES seal and the verification QR printed on it.

:func:`verify_proof_pdf` validates the embedded signature with pyHanko against the trust list's roots and
maps the outcome to :class:`~verifier.result.Code`; :func:`verify_proof_qr` checks the ``LXP1`` QR token
(layout and parsing in :mod:`schemas.proofqr`, shared with :mod:`exchange.proofs.qr_payload`, which signs it).
Neither touches the network or a database.
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from schemas.jose import es256_verify
from schemas.proofqr import ProofQrClaims as ProofQrClaims
from schemas.proofqr import ProofQrError as ProofQrError
from schemas.proofqr import key_id as key_id
from schemas.proofqr import parse_proof_qr as parse_proof_qr
from verifier.result import Code, VerificationResult, verdict_line
from verifier.status_check import StatusSource, check_status
from verifier.trust import TrustList

__all__ = [
    "MAX_PDF_BYTES",
    "ProofQrClaims",
    "ProofQrError",
    "key_id",
    "parse_proof_qr",
    "verify_proof_pdf",
    "verify_proof_qr",
]

MAX_PDF_BYTES = 20 * 1024 * 1024


# --------------------------------------------------------------------------- results


def _result(
    codes: list[str],
    *,
    what: str,
    subject: str | None = None,
    issuer: str | None = None,
    details: dict[str, Any] | None = None,
    note: str | None = None,
) -> VerificationResult:
    unique = tuple(dict.fromkeys(codes))
    return VerificationResult(
        valid=not unique,
        codes=unique,
        verdict=verdict_line(unique, what=what, issuer=issuer, note=note),
        subject=subject,
        issuer=issuer,
        details=details or {},
    )


def _fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _certificate_codes(cert: x509.Certificate, trust: TrustList, moment: datetime) -> list[str]:
    """Trust-list checks shared by the PDF and QR paths (empty when the seal certificate is acceptable)."""
    if trust.is_revoked(cert):
        return [Code.REVOKED]
    if trust.department_for_certificate(cert, "seal") is None:
        return [Code.UNKNOWN_ISSUER]
    if moment > cert.not_valid_after_utc:
        return [Code.EXPIRED]
    if moment < cert.not_valid_before_utc:
        return [Code.NOT_YET_VALID]
    if not trust.chains_to_root(cert, at=moment):
        return [Code.UNKNOWN_ISSUER]
    return []


# --------------------------------------------------------------------------- QR


def verify_proof_qr(
    text: str,
    trust: TrustList,
    *,
    now: datetime | None = None,
    canonical_data: bytes | None = None,
    status: StatusSource | None = None,
    require_status: bool | None = None,
) -> VerificationResult:
    """Check a proof's QR token offline.

    The signature must be by a seal certificate that the trust list lists for the claimed department (found
    by the key id), not revoked, valid now and chained to a trusted root. With ``canonical_data`` (the proof
    data as the exchange holds it) the digest is compared too: a mismatch is TAMPERED.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    what = "proof QR"
    try:
        claims = parse_proof_qr(text)
    except ProofQrError as exc:
        return _result([Code.MALFORMED], what=what, note=str(exc))
    details: dict[str, Any] = {"claims": claims.to_json()}
    dept = trust.departments.get(claims.department_id)
    cert = None
    if dept is not None:
        cert = next(
            (tc.cert for tc in dept.certificates if tc.use == "seal" and key_id(tc.cert) == claims.kid),
            None,
        )
    if dept is None or cert is None:
        return _result(
            [Code.UNKNOWN_ISSUER],
            what=what,
            subject=claims.proof_id,
            details=details,
            note="no seal certificate with this key id is listed for the department",
        )
    details["cert_fingerprint"] = _fingerprint(cert)
    if not es256_verify(cert.public_key(), claims.signing_input, claims.signature):
        return _result(
            [Code.BAD_SIGNATURE], what=what, subject=claims.proof_id, issuer=dept.name, details=details
        )
    codes = _certificate_codes(cert, trust, moment)
    if canonical_data is not None and not claims.matches_data(canonical_data):
        codes.append(Code.TAMPERED)
    details["department"] = {"id": dept.id, "name": dept.name, "uscc": dept.uscc}
    note = _status_step(claims.status_claim, claims.proof_id, status, require_status, codes, details)
    return _result(
        codes, what=f"proof {claims.proof_id}", subject=claims.proof_id, issuer=dept.name, details=details,
        note=note,
    )


def _status_step(
    claim: object,
    proof_id: str,
    status: StatusSource | None,
    require: bool | None,
    codes: list[str],
    details: dict[str, Any],
) -> str | None:
    """The shared status step (:mod:`verifier.status_check`); returns the note of a status failure."""
    outcome = check_status(claim, proof_id, status, require=require)
    details.update(outcome.details)
    if outcome.code is None:
        if outcome.note:
            details["status_note"] = outcome.note
        return None
    first = not codes
    codes.append(outcome.code)
    return outcome.note if first else None


# --------------------------------------------------------------------------- PDF


def _qr_text_from_pdf(reader: Any, revision: int | None) -> str | None:
    """The QR token the renderer stores in the signed revision's /Info /Keywords (None if absent)."""
    try:
        trailer = (
            reader.get_historical_resolver(revision).trailer_view
            if revision is not None
            else reader.trailer_view
        )
        info = trailer.get("/Info")
        value = info.get_object().get("/Keywords") if info is not None else None
        return str(value) if value is not None else None
    except Exception:  # optional metadata: any parse problem just means "no QR"
        return None


# Long on purpose (~100 lines): pyHanko's validation of each seal and the mapping of its outcome to reason codes
# read as one sequence; the pyHanko imports stay inside so that importing this module stays cheap.
def verify_proof_pdf(
    pdf_bytes: bytes,
    trust: TrustList,
    *,
    now: datetime | None = None,
    status: StatusSource | None = None,
    require_status: bool | None = None,
) -> VerificationResult:
    """Validate a sealed proof PDF against the trust list.

    Codes: MALFORMED (not a PDF, too big, no seal), TAMPERED (bytes changed after sealing, or an incremental
    update beyond extra signatures / form filling / validation data), BAD_SIGNATURE, UNKNOWN_ISSUER (not
    listed for seal use, or not chained to a trusted root), REVOKED, EXPIRED; then the status step on the
    status list entry named in the sealed QR (REVOKED / SUSPENDED / STATUS_UNAVAILABLE, fail closed).
    """
    # pyHanko imports are heavy; keep them out of module import time.
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko_certvalidator import ValidationContext

    moment = (now or datetime.now(UTC)).astimezone(UTC)
    what = "sealed proof"
    if not isinstance(pdf_bytes, bytes | bytearray) or len(pdf_bytes) > MAX_PDF_BYTES:
        return _result(
            [Code.MALFORMED], what=what, note=f"input must be a PDF of at most {MAX_PDF_BYTES} bytes"
        )
    if not bytes(pdf_bytes[:1024]).lstrip().startswith(b"%PDF-"):
        return _result([Code.MALFORMED], what=what, note="not a PDF")
    try:
        reader = PdfFileReader(io.BytesIO(bytes(pdf_bytes)), strict=False)
        sigs = list(reader.embedded_signatures)
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as exc:
        return _result([Code.MALFORMED], what=what, note=f"cannot parse the PDF: {exc}")
    if not sigs:
        return _result([Code.MALFORMED], what=what, note="the PDF carries no seal (no signature)")

    roots = [asn1_x509.Certificate.load(r.public_bytes(serialization.Encoding.DER)) for r in trust.roots]
    codes: list[str] = []
    seals: list[dict[str, Any]] = []
    issuer: str | None = None
    for sig in sigs:
        vc = ValidationContext(trust_roots=roots, moment=moment, allow_fetching=False)
        entry: dict[str, Any] = {"field": sig.field_name}
        try:
            sig_status = validate_pdf_signature(sig, vc)
        except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as exc:
            codes.append(Code.TAMPERED if "digest" in str(exc).lower() else Code.BAD_SIGNATURE)
            entry["error"] = str(exc)
            seals.append(entry)
            continue
        cert = x509.load_der_x509_certificate(sig_status.signing_cert.dump())
        dept = trust.department_for_certificate(cert, "seal")
        signing_time = (
            sig_status.timestamp_validity.timestamp
            if sig_status.timestamp_validity is not None
            else sig_status.signer_reported_dt
        )
        entry.update(
            {
                "signer": cert.subject.rfc4514_string(),
                "department": None if dept is None else {"id": dept.id, "name": dept.name, "uscc": dept.uscc},
                "signing_time": signing_time.isoformat() if signing_time else None,
                "timestamped": sig_status.timestamp_validity is not None,
                "cert_fingerprint": _fingerprint(cert),
                "coverage": sig_status.coverage.name if sig_status.coverage is not None else None,
                "modification_level": sig_status.modification_level.name if sig_status.modification_level else None,
                "pyhanko_summary": sig_status.summary(),
            }
        )
        seals.append(entry)
        if dept is not None and issuer is None:
            issuer = dept.name
        if not sig_status.intact:
            codes.append(Code.TAMPERED)
            continue
        if not sig_status.valid:
            codes.append(Code.BAD_SIGNATURE)
            continue
        level = sig_status.modification_level
        if sig_status.docmdp_ok is False or (level is not None and level > ModificationLevel.FORM_FILLING):
            codes.append(Code.TAMPERED)
        cert_codes = _certificate_codes(cert, trust, moment)
        if not cert_codes and not sig_status.trusted:
            cert_codes = [Code.UNKNOWN_ISSUER]  # pyHanko found no valid path to a listed root
        codes += cert_codes

    details: dict[str, Any] = {"seals": seals}
    first = seals[0]
    for key in ("department", "signing_time", "cert_fingerprint", "coverage", "timestamped"):
        details[key] = first.get(key)
    qr_text = _qr_text_from_pdf(reader, sigs[0].signed_revision if sigs else None)
    claims: ProofQrClaims | None = None
    if qr_text:
        try:
            claims = parse_proof_qr(qr_text)
            details["qr_claims"] = claims.to_json()
        except ProofQrError:
            details["qr_claims"] = None
    subject = claims.proof_id if claims is not None else None
    note = _status_step(
        claims.status_claim if claims is not None else None, subject or "", status, require_status, codes, details
    )
    return _result(codes, what=what, subject=subject, issuer=issuer, details=details, note=note)
