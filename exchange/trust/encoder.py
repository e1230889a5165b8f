"""Signing the trust list: the exchange is the only one who makes it, so the encoder lives here, on the signing
side; relying parties load and check it with :class:`verifier.trust.TrustList`."""

from __future__ import annotations

import base64

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from schemas.jose import compact_jws
from verifier.trust import TRUST_LIST_TYP, TrustListDocument


def encode_trust_list(
    doc: TrustListDocument, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate
) -> bytes:
    """Sign ``doc`` with the exchange's trust-list key; returns the compact JWS as ASCII bytes."""
    if not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("the trust list is signed with ES256 (P-256)")
    header = {
        "alg": "ES256",
        "typ": TRUST_LIST_TYP,
        "x5c": [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")],
    }
    return compact_jws(header, doc.to_json(), key).encode("ascii")
