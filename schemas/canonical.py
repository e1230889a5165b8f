"""Canonical JSON bytes, strict base64url and strict unpadded base32: the encodings every signature, digest and
QR payload in the project uses."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any, Final

__all__ = ["b32_decode", "b32_encode", "b64u_decode", "b64u_encode", "canonical_json"]


def _check(obj: Any, path: str) -> None:
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(f"canonical_json: non-finite number at {path or '$'}")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"canonical_json: object key {k!r} at {path or '$'} is not a string")
            _check(v, f"{path}.{k}")
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            _check(v, f"{path}[{i}]")


def canonical_json(obj: Any) -> bytes:
    """Serialise to canonical JSON bytes (an RFC 8785 subset): keys sorted, no whitespace
    (separators ``,`` and ``:``), non-ASCII kept as UTF-8 (``ensure_ascii=False``).

    Raises ``ValueError`` for NaN/±Infinity and ``TypeError`` for non-string keys or values that are not JSON.
    Floats are written by Python's ``repr`` (not RFC 8785's ECMAScript form): prefer integers and strings in
    signed payloads.  Lone surrogates cannot be encoded to UTF-8 and raise ``UnicodeEncodeError``.
    """
    _check(obj, "")
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


_B64U_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64U_VALUE: Final = {c: i for i, c in enumerate(_B64U_ALPHABET)}
_TO_URL: Final = bytes.maketrans(b"+/", b"-_")
#: url alphabet → standard alphabet; the standard-only characters and padding → ``!`` (rejected by strict mode).
_URL_TO_STD_STRICT: Final = bytes.maketrans(b"-_+/=", b"+/!!!")
_PAD: Final = (b"", b"", b"==", b"=")
#: Bits of the last character that carry no data, by ``len % 4`` (they must be zero in the canonical form).
_UNUSED_BITS: Final = {0: 0, 2: 0x0F, 3: 0x03}


def b64u_encode(data: bytes) -> str:
    """base64url without padding (RFC 4648 §5, as JOSE uses it)."""
    return binascii.b2a_base64(data, newline=False).translate(_TO_URL).rstrip(b"=").decode("ascii")


def b64u_decode(s: str) -> bytes:
    """Strict inverse of :func:`b64u_encode`.

    Raises ``ValueError`` on padding, characters outside ``A-Z a-z 0-9 - _``, whitespace, an impossible length
    (len % 4 == 1) or non-zero trailing bits (so that every byte string has exactly one encoding).

    One pass in C: ``-``/``_`` become the standard alphabet's ``+``/``/``, while ``+``, ``/`` and ``=`` become
    ``!`` (never base64), so ``binascii``'s strict mode rejects every character outside the url alphabet.
    """
    if not isinstance(s, str):
        raise ValueError("b64u_decode: expected a str")
    rem = len(s) & 3
    if rem == 1:
        raise ValueError("b64u_decode: impossible length")
    if rem and _B64U_VALUE.get(s[-1], 0) & _UNUSED_BITS[rem]:
        raise ValueError("b64u_decode: non-canonical encoding (trailing bits set)")
    try:
        return binascii.a2b_base64(s.encode("ascii").translate(_URL_TO_STD_STRICT) + _PAD[rem], strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("b64u_decode: invalid base64url character (padding and whitespace are not allowed)") from exc


_B32_RE: Final = re.compile(r"[A-Z2-7]*")


def b32_encode(data: bytes) -> str:
    """RFC 4648 base32, upper case, without ``=`` padding (every character is in the QR alphanumeric set)."""
    return base64.b32encode(data).decode("ascii").rstrip("=")


def b32_decode(text: str) -> bytes:
    """Strict inverse of :func:`b32_encode`.

    Raises ``ValueError`` on padding, lower case or other characters, an impossible length or non-zero trailing
    bits (so that every byte string has exactly one encoding).
    """
    if not isinstance(text, str) or not _B32_RE.fullmatch(text):
        raise ValueError("b32_decode: expected upper-case base32 without padding")
    try:
        data = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("b32_decode: not base32") from exc
    if b32_encode(data) != text:
        raise ValueError("b32_decode: non-canonical base32 (length or trailing bits)")
    return data
