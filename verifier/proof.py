"""Offline checks of sealed proofs: the PDF's PAdES seal and the verification QR printed on it.

:func:`verify_proof_pdf` validates the embedded signature with pyHanko against the trust list's roots and
maps the outcome to :class:`~verifier.result.Code`; :func:`verify_proof_qr` checks the ``LXP1`` QR token
(format in :mod:`exchange.proofs.qr_payload`, which signs it; parsing lives here so that relying parties
need only ``verifier``). Neither touches the network or a database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from schemas.canonical import canonical_json
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
PREFIX = "LXP1"
DIGEST_BYTES = 16
KID_BYTES = 8
MAX_QR_TEXT = 1024
_TOKEN_RE = re.compile(r"LXP1\.([A-Z2-7]+)\.([A-Z2-7]+)\.([A-Z2-7]+)")
_CLAIM_KEYS = frozenset({"i", "y", "k", "t"})
#: Optional claim ``s`` = ``{"idx": N, "uri": U}``: the proof's IETF Token Status List entry (the standard's
#: ``status.status_list`` object under a short key, as the QR's other claims).
_OPTIONAL_KEYS = frozenset({"s"})


class ProofQrError(ValueError):
    """The QR text is not a well-formed licex proof payload."""

    code = "MALFORMED"


@dataclass(frozen=True, slots=True)
class ProofQrClaims:
    proof_id: str
    proof_type: str
    department_id: str
    issued_at: datetime
    digest: bytes  # truncated SHA-256 of the proof data
    kid: bytes  # first KID_BYTES of the seal certificate's SHA-256 fingerprint
    status_list: dict[str, Any] | None = None  # {"idx": N, "uri": U} when the proof has a status list entry
    signing_input: bytes = field(default=b"", compare=False, repr=False)
    signature: bytes = field(default=b"", compare=False, repr=False)

    def to_json(self) -> dict[str, object]:
        return {
            "proof_id": self.proof_id,
            "proof_type": self.proof_type,
            "department_id": self.department_id,
            "issued_at": self.issued_at.isoformat(),
            "digest": self.digest.hex(),
            "kid": self.kid.hex(),
            **({"status": self.status_claim} if self.status_list is not None else {}),
        }

    @property
    def status_claim(self) -> dict[str, Any] | None:
        """The standard ``status`` claim (``{"status_list": {"idx", "uri"}}``) or None."""
        return None if self.status_list is None else {"status_list": dict(self.status_list)}

    def matches_data(self, canonical_data: bytes) -> bool:
        """True when ``canonical_data`` hashes to the digest in the QR."""
        return proof_data_digest(canonical_data) == self.digest


def b32_encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def b32_decode(text: str) -> bytes:
    try:
        data = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError) as exc:
        raise ProofQrError("bad base32") from exc
    if b32_encode(data) != text:  # one encoding per value: reject non-zero trailing bits
        raise ProofQrError("non-canonical base32")
    return data


def key_id(cert: x509.Certificate) -> bytes:
    """First 8 bytes of the SHA-256 fingerprint of the certificate's DER."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()[:KID_BYTES]


def proof_data_digest(canonical_data: bytes) -> bytes:
    return hashlib.sha256(canonical_data).digest()[:DIGEST_BYTES]


def parse_proof_qr(text: str) -> ProofQrClaims:
    """Parse (but do not verify) the QR text; raises :class:`ProofQrError` when malformed."""
    if not isinstance(text, str) or len(text) > MAX_QR_TEXT:
        raise ProofQrError("QR text missing or too long")
    token = text.strip()
    if "#" in token:  # URL form: the token is the fragment
        token = token.rsplit("#", 1)[1]
    m = _TOKEN_RE.fullmatch(token)
    if m is None:
        raise ProofQrError("not a LXP1 proof token")
    raw_claims, raw_bin, raw_sig = b32_decode(m.group(1)), b32_decode(m.group(2)), b32_decode(m.group(3))
    if len(raw_sig) != 64:
        raise ProofQrError("signature must be 64 bytes (ES256 r||s)")
    try:
        claims = json.loads(raw_claims.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProofQrError("claims are not JSON") from exc
    if not isinstance(claims, dict) or not _CLAIM_KEYS <= set(claims) <= _CLAIM_KEYS | _OPTIONAL_KEYS:
        raise ProofQrError(f"claims must have the keys {sorted(_CLAIM_KEYS)} (and optionally 's')")
    status_list = claims.get("s")
    if status_list is not None:
        from verifier.errors import MalformedInput
        from verifier.status_list import status_reference

        try:
            status_reference({"status_list": status_list})
        except MalformedInput as exc:
            raise ProofQrError(f"claim 's': {exc.detail}") from exc
    if canonical_json(claims) != raw_claims:
        raise ProofQrError("claims are not canonical JSON")
    for k in ("i", "y", "k"):
        if not isinstance(claims[k], str) or not claims[k]:
            raise ProofQrError(f"claim {k!r} must be a non-empty string")
    t = claims["t"]
    if not isinstance(t, int) or isinstance(t, bool) or not 0 <= t < 2**33:
        raise ProofQrError("claim 't' must be Unix seconds")
    if len(raw_bin) != KID_BYTES + DIGEST_BYTES:
        raise ProofQrError("key id + digest segment has the wrong length")
    kid, digest = raw_bin[:KID_BYTES], raw_bin[KID_BYTES:]
    return ProofQrClaims(
        proof_id=claims["i"],
        proof_type=claims["y"],
        department_id=claims["k"],
        issued_at=datetime.fromtimestamp(t, UTC),
        digest=digest,
        kid=kid,
        status_list=status_list,
        signing_input=f"{PREFIX}.{m.group(1)}.{m.group(2)}".encode("ascii"),
        signature=raw_sig,
    )


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
    public = cert.public_key()
    try:
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise InvalidSignature
        r, s = int.from_bytes(claims.signature[:32], "big"), int.from_bytes(claims.signature[32:], "big")
        public.verify(encode_dss_signature(r, s), claims.signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
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
