"""Strict JOSE primitives shared by the verifier: base64url, compact JWS parsing, ES256 verification (the last
from :mod:`schemas.jose`, the one implementation both sides use).

Only ES256 (ECDSA P-256 / SHA-256, raw ``r||s`` signature) is ever accepted; callers pin it.

Speed: a department signs thousands of licences with the same JWS header (``alg``, ``typ``, ``x5c``), so the
decoded header and the parsed ``x5c`` certificates are memoised by their exact text (bounded caches, cleared
when full). A cache hit returns what a fresh parse of the same text would return; nothing about trust is cached
here (that is :class:`verifier.trust.TrustList`'s job, per trust-list version).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
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
    "ParsedCertificate",
    "b64u_decode_strict",
    "clear_caches",
    "es256_verify",
    "json_loads_strict",
    "parse_compact_jws",
    "parse_x5c",
    "parse_x5c_certificates",
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


#: Built once: ``json.loads`` with keyword arguments would build a decoder (and its scanner) per call.
_STRICT_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
_SCAN_ONCE = _STRICT_DECODER.scan_once  # type: ignore[attr-defined]  # set in JSONDecoder.__init__, untyped
#: Bound of each memo below (entries); a full memo is cleared rather than evicted entry by entry.
CACHE_MAX_ENTRIES = 4096
#: Header segments longer than this are parsed every time (an x5c chain of 4 certificates fits easily).
_HEADER_CACHE_MAX_CHARS = 16 * 1024
_HEADER_CACHE: dict[str, dict[str, Any]] = {}
_CERT_CACHE: dict[str, ParsedCertificate] = {}


def clear_caches() -> None:
    """Empty the header and certificate memos."""
    _HEADER_CACHE.clear()
    _CERT_CACHE.clear()


def _remember(cache: dict[str, Any], key: str, value: Any) -> None:
    if len(cache) >= CACHE_MAX_ENTRIES:
        cache.clear()
    cache[key] = value


def json_loads_strict(raw: bytes, *, what: str = "JSON") -> Any:
    """UTF-8 JSON without duplicate member names, NaN or Infinity."""
    try:
        text = raw.decode("utf-8")
        try:  # the common case without JSONDecoder.decode's Python-level wrapping (same scanner, same hooks)
            value, end = _SCAN_ONCE(text, 0)
        except StopIteration:
            end = -1
        if end == len(text):
            return value
        return _STRICT_DECODER.decode(text)  # leading/trailing whitespace, or the error message
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
    return CompactJws(
        header=_header(header_b64),
        payload_bytes=b64u_decode_strict(payload_b64, what="JWS payload"),
        signing_input=f"{header_b64}.{payload_b64}".encode("ascii"),
        signature=b64u_decode_strict(sig_b64, what="JWS signature"),
        text=text,
    )


def _header(header_b64: str) -> dict[str, Any]:
    cached = _HEADER_CACHE.get(header_b64)
    if cached is None:
        cached = json_loads_strict(b64u_decode_strict(header_b64, what="JWS header"), what="JWS header")
        if not isinstance(cached, dict):
            raise MalformedInput("JWS header must be a JSON object")
        if len(header_b64) <= _HEADER_CACHE_MAX_CHARS:
            _remember(_HEADER_CACHE, header_b64, cached)
    return dict(cached)  # a fresh top-level dict: a caller that edits its header cannot poison the memo


@dataclass(frozen=True)
class ParsedCertificate:
    """An ``x5c`` entry decoded once: the certificate and the SHA-256 (hex) of its DER encoding."""

    cert: x509.Certificate
    fingerprint: str


def _x5c_entry(entry: object) -> ParsedCertificate:
    if not isinstance(entry, str):
        raise MalformedInput("x5c entries must be standard base64")
    cached = _CERT_CACHE.get(entry)
    if cached is not None:
        return cached
    if not _B64STD.fullmatch(entry):
        raise MalformedInput("x5c entries must be standard base64")
    try:
        der = base64.b64decode(entry, validate=True)
        parsed = ParsedCertificate(x509.load_der_x509_certificate(der), hashlib.sha256(der).hexdigest())
    except (binascii.Error, ValueError) as exc:
        raise MalformedInput("x5c entry is not a DER certificate") from exc
    _remember(_CERT_CACHE, entry, parsed)
    return parsed


def parse_x5c_certificates(header: dict[str, Any], *, max_certs: int = 4) -> list[ParsedCertificate]:
    """Decode the ``x5c`` header (standard base64 DER, leaf first), with each certificate's fingerprint."""
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not x5c or len(x5c) > max_certs:
        raise MalformedInput(f"x5c must be a list of 1..{max_certs} certificates")
    return [_x5c_entry(entry) for entry in x5c]


def parse_x5c(header: dict[str, Any], *, max_certs: int = 4) -> list[x509.Certificate]:
    """Decode the ``x5c`` header (standard base64 DER, leaf first)."""
    return [parsed.cert for parsed in parse_x5c_certificates(header, max_certs=max_certs)]
