"""The dynamic QR payload: a pure codec of its bytes layout (no keys, no clock, no I/O).

Text form::

    LX1:<BASE32>        e.g. LX1:AEXHS3KZ7ZJ5S6FQ...  (64 characters)

``BASE32`` is RFC 4648 base32 (upper case, no ``=`` padding) of 37 bytes::

    kind       1 byte    what the token is for (KIND_COUNTER = 1: a counter may scan it for a matter)
    token_id  16 bytes   random; the exchange maps it to the citizen server-side (no personal data here)
    expires    4 bytes   big-endian unsigned Unix seconds
    mac       16 bytes   the first 16 bytes of HMAC-SHA-256 over :func:`signing_input`, keyed by the exchange

Every character (``A–Z``, ``2–7``, ``L X 1 :``) is in the QR alphanumeric set, so the payload is encoded in
alphanumeric mode: 64 characters fit QR version 4 at error-correction level M (capacity 90).

The exchange computes and checks the MAC (constant-time), the expiry and single use; this module only builds
and parses the layout and says which bytes the MAC covers. Parsing is strict: wrong prefix, lower-case or
padded base32, wrong length or an unknown kind raise :class:`QrTokenError` with a stable ``code``.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Final

from .canonical import b32_decode, b32_encode

__all__ = [
    "KINDS",
    "KIND_COUNTER",
    "MAC_BYTES",
    "MAX_TEXT_CHARS",
    "PREFIX",
    "TOKEN_ID_BYTES",
    "QrToken",
    "QrTokenError",
    "decode",
    "encode",
    "signing_input",
]

PREFIX: Final = "LX1:"
KIND_COUNTER: Final = 1
KINDS: Final = frozenset({KIND_COUNTER})
TOKEN_ID_BYTES: Final = 16
MAC_BYTES: Final = 16
_BODY_BYTES: Final = 1 + TOKEN_ID_BYTES + 4
_TOTAL_BYTES: Final = _BODY_BYTES + MAC_BYTES
_B32_CHARS: Final = (_TOTAL_BYTES * 8 + 4) // 5  # 60
MAX_TEXT_CHARS: Final = len(PREFIX) + _B32_CHARS
_B32_RE: Final = re.compile(r"[A-Z2-7]+")
_DOMAIN: Final = b"licex/qr/v1\x00"


class QrTokenError(ValueError):
    """The text is not a well-formed dynamic QR payload. ``code``: BAD_PREFIX, BAD_LENGTH, BAD_CHARSET,
    BAD_KIND or BAD_FIELD."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class QrToken:
    kind: int
    token_id: bytes
    expires_at: int
    mac: bytes

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise QrTokenError("BAD_KIND", f"unknown token kind {self.kind}")
        if len(self.token_id) != TOKEN_ID_BYTES:
            raise QrTokenError("BAD_FIELD", f"token_id must be {TOKEN_ID_BYTES} bytes")
        if not 0 <= self.expires_at < 2**32:
            raise QrTokenError("BAD_FIELD", "expires_at out of range")
        if len(self.mac) != MAC_BYTES:
            raise QrTokenError("BAD_FIELD", f"mac must be {MAC_BYTES} bytes")

    @property
    def token_id_hex(self) -> str:
        return self.token_id.hex()

    def signing_input(self) -> bytes:
        return signing_input(self.kind, self.token_id, self.expires_at)


def _body(kind: int, token_id: bytes, expires_at: int) -> bytes:
    return struct.pack(">B16sI", kind, token_id, expires_at)


def signing_input(kind: int, token_id: bytes, expires_at: int) -> bytes:
    """The bytes the MAC covers: a domain label, then kind, token id and expiry as laid out in the payload."""
    if kind not in KINDS:
        raise QrTokenError("BAD_KIND", f"unknown token kind {kind}")
    if len(token_id) != TOKEN_ID_BYTES or not 0 <= expires_at < 2**32:
        raise QrTokenError("BAD_FIELD", "token_id or expires_at out of range")
    return _DOMAIN + _body(kind, token_id, expires_at)


def encode(token: QrToken) -> str:
    raw = _body(token.kind, token.token_id, token.expires_at) + token.mac
    return PREFIX + b32_encode(raw)


def decode(text: str) -> QrToken:
    """Parse (not verify) a payload. Surrounding whitespace is tolerated, nothing else."""
    if not isinstance(text, str):
        raise QrTokenError("BAD_FIELD", "payload must be text")
    text = text.strip()
    if len(text) > 4 * MAX_TEXT_CHARS:
        raise QrTokenError("BAD_LENGTH", "payload too long")
    if not text.startswith(PREFIX):
        raise QrTokenError("BAD_PREFIX", f"payload must start with {PREFIX}")
    b32 = text[len(PREFIX):]
    if len(b32) != _B32_CHARS:
        raise QrTokenError("BAD_LENGTH", f"payload must hold {_B32_CHARS} base32 characters")
    if not _B32_RE.fullmatch(b32):
        raise QrTokenError("BAD_CHARSET", "payload must be upper-case base32 without padding")
    try:
        raw = b32_decode(b32)  # the regex and the length leave only non-canonical trailing bits to refuse
    except ValueError as exc:
        raise QrTokenError("BAD_LENGTH", "payload has non-canonical trailing bits") from exc
    if len(raw) != _TOTAL_BYTES:  # pragma: no cover - implied by the length check
        raise QrTokenError("BAD_LENGTH", "payload has the wrong length")
    kind, token_id, expires_at = struct.unpack(">B16sI", raw[:_BODY_BYTES])
    return QrToken(kind=kind, token_id=token_id, expires_at=expires_at, mac=raw[_BODY_BYTES:])
