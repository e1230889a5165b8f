"""The verification QR printed on every proof (``LXP1``): its layout, as a codec both sides use.

Format (version 1)::

    LXP1.<BASE32(canonical_json(claims))>.<BASE32(kid || digest)>.<BASE32(ES256 raw r||s)>

BASE32 is RFC 4648 upper case without padding (:func:`schemas.canonical.b32_encode`). The signature covers the
ASCII bytes of everything before the last dot. Claims (canonical JSON, short keys): ``i`` proof id, ``y`` proof
type, ``k`` issuing department id, ``t`` issued-at (Unix seconds), optional ``s`` ``{"idx", "uri"}`` (the proof's
IETF Token Status List entry). ``kid`` = first 8 bytes of the SHA-256
fingerprint of the seal certificate; ``digest`` = SHA-256 of the proof data truncated to 128 bits. The token may
sit behind a URL ``<base_url>/v/<proof id>#<token>``.

The exchange signs (:mod:`exchange.proofs.qr_payload` calls :func:`signing_input` and :func:`token`); relying
parties parse here and verify in :mod:`verifier.proof`. No keys, no clock, no I/O in this module.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .canonical import b32_decode, b32_encode, canonical_json
from .jose import ES256_SIGNATURE_BYTES

__all__ = [
    "DIGEST_BYTES",
    "KID_BYTES",
    "MAX_QR_TEXT",
    "PREFIX",
    "ProofQrClaims",
    "ProofQrError",
    "key_id",
    "parse_proof_qr",
    "proof_data_digest",
    "signing_input",
    "token",
]

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
    status_list: dict[str, object] | None = None  # {"idx": N, "uri": U} when the proof has a status list entry
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
    def status_claim(self) -> dict[str, object] | None:
        """The standard ``status`` claim (``{"status_list": {"idx", "uri"}}``) or None."""
        return None if self.status_list is None else {"status_list": dict(self.status_list)}

    def matches_data(self, canonical_data: bytes) -> bool:
        """True when ``canonical_data`` hashes to the digest in the QR."""
        return proof_data_digest(canonical_data) == self.digest


def _b32(text: str) -> bytes:
    try:
        return b32_decode(text)
    except ValueError as exc:  # one encoding per value: non-canonical trailing bits are refused too
        raise ProofQrError("bad or non-canonical base32") from exc


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
    raw_claims, raw_bin, raw_sig = _b32(m.group(1)), _b32(m.group(2)), _b32(m.group(3))
    if len(raw_sig) != ES256_SIGNATURE_BYTES:
        raise ProofQrError("signature must be 64 bytes (ES256 r||s)")
    try:
        claims = json.loads(raw_claims.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProofQrError("claims are not JSON") from exc
    if not isinstance(claims, dict) or not _CLAIM_KEYS <= set(claims) <= _CLAIM_KEYS | _OPTIONAL_KEYS:
        raise ProofQrError(f"claims must have the keys {sorted(_CLAIM_KEYS)} (and optionally 's')")
    status_list = claims.get("s")
    if status_list is not None:
        idx, uri = (status_list.get("idx"), status_list.get("uri")) if isinstance(status_list, dict) else (None, None)
        if not (isinstance(status_list, dict) and set(status_list) == {"idx", "uri"} and isinstance(idx, int)
                and not isinstance(idx, bool) and 0 <= idx < 2**32 and isinstance(uri, str)
                and uri.startswith(("https://", "http://")) and len(uri) <= 512):
            raise ProofQrError("claim 's' must be {idx: non-negative integer, uri: http(s) URL}")
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


def signing_input(*, proof_id: str, proof_type: str, department_id: str, issued_at: datetime, kid: bytes,
                  digest: bytes, status_list: tuple[int, str] | None = None) -> str:
    """Everything the signature covers: ``LXP1.<claims>.<kid || digest>``."""
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware")
    if len(kid) != KID_BYTES or len(digest) != DIGEST_BYTES:
        raise ValueError("kid or digest has the wrong length")
    claims: dict[str, object] = {"i": proof_id, "k": department_id, "t": int(issued_at.timestamp()), "y": proof_type}
    if status_list is not None:
        claims["s"] = {"idx": status_list[0], "uri": status_list[1]}
    return f"{PREFIX}.{b32_encode(canonical_json(claims))}.{b32_encode(kid + digest)}"


def token(signing_input: str, signature: bytes, *, proof_id: str, base_url: str | None = None) -> str:
    """The QR text: the signed token, behind ``<base_url>/v/<proof id>#`` when a base URL is given."""
    if len(signature) != ES256_SIGNATURE_BYTES:
        raise ValueError("signature must be 64 bytes (ES256 r||s)")
    text = f"{signing_input}.{b32_encode(signature)}"
    if base_url:
        return f"{base_url.rstrip('/')}/v/{proof_id}#{text}"
    return text
