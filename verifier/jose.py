"""Strict JOSE primitives shared by the verifier: base64url, compact JWS parsing, ES256 verification (the last
from :mod:`schemas.jose`, the one implementation both sides use).

Only ES256 (ECDSA P-256 / SHA-256, raw ``r||s`` signature) is ever accepted; callers pin it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from schemas.canonical import b64u_decode
from schemas.jose import es256_verify as es256_verify  # the one ES256 verify, shared with the signing side
from verifier.errors import MalformedInput

__all__ = [
    "CompactJws",
    "b64u_decode_strict",
    "es256_verify",
    "json_loads_strict",
    "parse_compact_jws",
    "parse_x5c",
]

_B64STD = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def b64u_decode_strict(text: str, *, what: str = "value") -> bytes:
    """Decode unpadded base64url; reject padding, other alphabets and non-canonical trailing bits."""
    try:
        return b64u_decode(text)
    except ValueError as exc:
        raise MalformedInput(f"{what} is not canonical unpadded base64url") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate member {key!r}")
        out[key] = value
    return out


def json_loads_strict(raw: bytes, *, what: str = "JSON") -> Any:
    """UTF-8 JSON without duplicate member names, NaN or Infinity."""
    try:
        return json.loads(
            raw.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_reject_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedInput(f"{what} is not valid JSON: {exc}") from exc


@dataclass(frozen=True)
class CompactJws:
    header: dict[str, Any]
    payload_bytes: bytes
    signing_input: bytes
    signature: bytes
    text: str

    @property
    def payload(self) -> Any:
        return json_loads_strict(self.payload_bytes, what="JWS payload")


def parse_compact_jws(text: str, *, max_bytes: int) -> CompactJws:
    """Split and decode ``header.payload.signature``; the header must be a JSON object."""
    if not isinstance(text, str):
        raise MalformedInput("JWS must be a string")
    if len(text) > max_bytes:
        raise MalformedInput(f"JWS larger than {max_bytes} bytes")
    parts = text.split(".")
    if len(parts) != 3:
        raise MalformedInput("JWS must have three dot-separated parts")
    header_b64, payload_b64, sig_b64 = parts
    header = json_loads_strict(b64u_decode_strict(header_b64, what="JWS header"), what="JWS header")
    if not isinstance(header, dict):
        raise MalformedInput("JWS header must be a JSON object")
    return CompactJws(
        header=header,
        payload_bytes=b64u_decode_strict(payload_b64, what="JWS payload"),
        signing_input=f"{header_b64}.{payload_b64}".encode("ascii"),
        signature=b64u_decode_strict(sig_b64, what="JWS signature"),
        text=text,
    )


def parse_x5c(header: dict[str, Any], *, max_certs: int = 4) -> list[x509.Certificate]:
    """Decode the ``x5c`` header (standard base64 DER, leaf first)."""
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not x5c or len(x5c) > max_certs:
        raise MalformedInput(f"x5c must be a list of 1..{max_certs} certificates")
    certs = []
    for entry in x5c:
        if not isinstance(entry, str) or not _B64STD.fullmatch(entry):
            raise MalformedInput("x5c entries must be standard base64")
        try:
            certs.append(x509.load_der_x509_certificate(base64.b64decode(entry, validate=True)))
        except (binascii.Error, ValueError) as exc:
            raise MalformedInput("x5c entry is not a DER certificate") from exc
    return certs
