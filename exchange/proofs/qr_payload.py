"""The verification QR printed on every proof: compact, signed with the seal key, checkable offline.

Format (version 1; the layout and its parser are :mod:`schemas.proofqr`, verification is :mod:`verifier.proof`)::

    LXP1.<BASE32(canonical_json(claims))>.<BASE32(kid || digest)>.<BASE32(ES256 raw r||s)>

BASE32 is RFC 4648 upper-case without padding. Every character of the token (``A-Z 2-7 .``) is in the
QR alphanumeric set (5.5 bits per character), so the symbol is about two versions smaller than base64url
in byte mode (6 of 8 bits). The signature (64 bytes) covers the ASCII bytes of everything before the last
dot (JWS-style signing input). Optionally the token is put behind a URL ``<base_url>/v/<proof id>#<token>``
so a phone camera opens the exchange's check page; verification needs only the token.

Claims (canonical JSON, short keys): ``i`` proof id; ``y`` proof type; ``k`` issuing department id;
``t`` issued-at (Unix seconds, UTC). Binary segment (24 bytes, kept out of the JSON so it is not encoded
twice): ``kid`` = first 8 bytes of the SHA-256 fingerprint of the seal certificate, then ``digest`` =
SHA-256 of the proof DATA (:meth:`ProofDocument.canonical_data`, which excludes the QR itself) truncated
to 128 bits. With 20-character proof ids and types a token is ~280 characters: QR version 10 at
level M (41 fewer characters than with the digest and kid inside the JSON; measured in the tests).

Why truncation is safe here: forging a different data set under the same digest is a second-preimage problem
(2^128 work for 128 bits). A 64-bit birthday collision would only matter if an attacker could make the
department sign data of the attacker's choosing twice; proof data comes from the department's system of
record. The key id only selects a certificate: the signature is then verified with that certificate's key,
so a kid collision cannot make a forgery verify.
"""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from schemas import proofqr
from schemas.jose import es256_sign
from schemas.proofqr import ProofQrClaims as ProofQrClaims
from schemas.proofqr import ProofQrError as ProofQrError
from schemas.proofqr import key_id as key_id
from schemas.proofqr import parse_proof_qr as parse_proof_qr
from schemas.proofqr import proof_data_digest as proof_data_digest

__all__ = ["ProofQrClaims", "ProofQrError", "key_id", "make_proof_qr", "parse_proof_qr", "proof_data_digest"]


def make_proof_qr(
    *,
    proof_id: str,
    proof_type: str,
    department_id: str,
    issued_at: datetime,
    canonical_data: bytes,
    key: ec.EllipticCurvePrivateKey,
    cert: x509.Certificate,
    base_url: str | None = None,
    status_list: tuple[int, str] | None = None,
) -> str:
    """Sign the claims with the department's seal key and return the QR text. ``status_list`` = ``(idx, uri)``
    adds claim ``s``: the proof's IETF Token Status List entry."""
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware")
    if not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("the QR is signed with ES256 (P-256)")
    signing_input = proofqr.signing_input(proof_id=proof_id, proof_type=proof_type, department_id=department_id,
                                          issued_at=issued_at, kid=key_id(cert),
                                          digest=proof_data_digest(canonical_data), status_list=status_list)
    signature = es256_sign(key, signing_input.encode("ascii"))
    return proofqr.token(signing_input, signature, proof_id=proof_id, base_url=base_url)
