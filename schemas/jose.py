"""ES256 as JOSE uses it — the one implementation both sides share.

A JOSE ES256 signature is the raw 64-byte ``r || s`` (RFC 7518 §3.4), not the DER that ``cryptography``
produces and expects. :func:`es256_sign` signs and converts; :func:`es256_verify` converts back and verifies;
:func:`compact_jws` makes a compact JWS (RFC 7515) over canonical JSON. The departments' signing code
(``issuers``), the exchange's signers (trust list, proof QR) and every verifier use these, so the encoding
exists once. Only P-256 with SHA-256 is accepted; callers pin ``alg``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from .canonical import b64u_encode, canonical_json

__all__ = ["ES256_SIGNATURE_BYTES", "compact_jws", "es256_sign", "es256_verify"]

ES256_SIGNATURE_BYTES: Final = 64


def _is_p256(key: object) -> bool:
    curve = getattr(key, "curve", None)
    return isinstance(curve, ec.SECP256R1)


def es256_sign(key: ec.EllipticCurvePrivateKey, signing_input: bytes) -> bytes:
    """ECDSA P-256 / SHA-256 over ``signing_input``; the raw 64-byte ``r || s``."""
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not _is_p256(key):
        raise ValueError("ES256 needs a P-256 private key")
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def es256_verify(public_key: object, signing_input: bytes, signature: bytes) -> bool:
    """True when ``signature`` (raw 64-byte ``r || s``) is a valid ES256 signature by a P-256 key."""
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not _is_p256(public_key):
        return False
    if len(signature) != ES256_SIGNATURE_BYTES:
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if r == 0 or s == 0:
        return False
    try:
        public_key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def compact_jws(header: Mapping[str, Any], payload: Mapping[str, Any], key: ec.EllipticCurvePrivateKey) -> str:
    """``b64u(canonical_json(header)) . b64u(canonical_json(payload)) . b64u(r || s)``; ``alg`` must be ES256."""
    if header.get("alg") != "ES256":
        raise ValueError("alg must be ES256")
    signing_input = f"{b64u_encode(canonical_json(dict(header)))}.{b64u_encode(canonical_json(dict(payload)))}"
    return f"{signing_input}.{b64u_encode(es256_sign(key, signing_input.encode('ascii')))}"
