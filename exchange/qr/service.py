"""Minting and redeeming dynamic QR tokens.

Minting (citizen, face-authenticated session): a random 16-byte token id, an expiry ``qr_ttl_s`` (≤ 60 s)
ahead, and a 16-byte HMAC-SHA-256 tag under a key derived from the master key for this purpose only
(``licex/qr/mac/v1``), laid out by :mod:`schemas.qrtoken` (``LX1:`` + 60 base32 characters, QR version 4-M).
The row ``qr_tokens`` maps the SHA-256 of the token id to the holder; the payload holds no personal data.
The page asks for a new token every ``qr_refresh_s`` (30 s); the holder's expired rows are purged on each
mint, so a photographed QR says nothing even to someone who later reads the database.

Redeeming (counter scan): parse → tag check (constant time) → expiry (the signed one, and the row's) → the
row → single use through ``used_nonces`` (scope ``qr``): the database's primary key refuses a replay from any
process sharing it. Each refusal names its cause: QR_MALFORMED (not a dynamic QR at all, e.g. a session JWT),
QR_INVALID (tag wrong, foreign or unknown token), QR_EXPIRED, QR_USED.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import segno
from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.orm import Session

from schemas import qrtoken
from schemas.qrtoken import KIND_COUNTER, QrToken, QrTokenError

from ..context import AppContext
from ..kit import qrdraw
from ..kit.db import table_of
from ..kit.errors import Conflict, ExchangeError, Forbidden, Gone, InvalidInput
from ..kit.nonces import consume_nonce
from ..models import QrGrant

MAX_TTL_S: Final = 60
# Built once (every QR and scan runs them; building a statement per call costs more CPU than running it).
_DELETE_EXPIRED_GRANTS = delete(QrGrant).where(QrGrant.holder_hash == bindparam("holder_hash"),
                                               QrGrant.expires_at < bindparam("now"))
_GRANT_BY_HASH = select(QrGrant).where(QrGrant.token_hash == bindparam("token_hash"))
_INSERT_GRANT = insert(table_of(QrGrant))  # Core: an ORM flush costs twice the CPU of this one-row insert
#: A fixed mask skips segno's mask search (the slow part of making a QR); any mask is valid for a reader.
QR_MASK: Final = 2


@dataclass(frozen=True)
class MintedQr:
    text: str
    svg: str
    expires_at: datetime
    refresh_in_s: int


@dataclass(frozen=True)
class Redeemed:
    holder_hash: str
    token_id_hex: str


class QrRefused(Exception):
    """A scan the exchange refuses; ``holder_hash`` is known when the token names a real grant."""

    def __init__(self, error: ExchangeError, holder_hash: str | None) -> None:
        super().__init__(error.code)
        self.error = error
        self.holder_hash = holder_hash


def _mac_key(ctx: AppContext) -> bytes:
    if len(ctx.qr_mac_key) < 32:  # fail closed: never MAC under an empty or short key
        raise RuntimeError("the QR MAC key is missing from the app context")
    return ctx.qr_mac_key


def _tag(key: bytes, kind: int, token_id: bytes, expires_at: int) -> bytes:
    return hmac.new(key, qrtoken.signing_input(kind, token_id, expires_at), hashlib.sha256).digest()[
        : qrtoken.MAC_BYTES]


def _token_hash(token_id: bytes) -> str:
    return hashlib.sha256(token_id).hexdigest()


def render_svg(text: str) -> str:
    qr = segno.make(text, error="m", mode="alphanumeric", mask=QR_MASK, micro=False, boost_error=False)
    matrix = qr.matrix
    return qrdraw.svg(qrdraw.dark_runs(matrix), len(matrix), scale=4, border=4)


def mint(ctx: AppContext, session: Session, *, holder_hash: str, session_jti: str,
         now: datetime | None = None, with_svg: bool = True) -> MintedQr:
    now = now or datetime.now(UTC)
    ttl = max(1, min(ctx.settings.qr_ttl_s, MAX_TTL_S))
    expires = int(now.timestamp()) + ttl
    token_id = secrets.token_bytes(qrtoken.TOKEN_ID_BYTES)
    token = QrToken(KIND_COUNTER, token_id, expires, _tag(_mac_key(ctx), KIND_COUNTER, token_id, expires))
    text = qrtoken.encode(token)
    expires_at = datetime.fromtimestamp(expires, UTC)
    session.execute(_DELETE_EXPIRED_GRANTS, {"holder_hash": holder_hash, "now": now})
    session.execute(_INSERT_GRANT, {"token_hash": _token_hash(token_id), "holder_hash": holder_hash,
                                    "session_jti": session_jti[:64], "expires_at": expires_at, "created_at": now})
    return MintedQr(text, render_svg(text) if with_svg else "", expires_at,
                    max(1, min(ctx.settings.qr_refresh_s, ttl)))


def redeem(ctx: AppContext, session: Session, text: str, *, now: datetime | None = None) -> Redeemed:
    """Check and spend a scanned QR. Raises :class:`QrRefused`."""
    now = now or datetime.now(UTC)
    try:
        token = qrtoken.decode(text)
    except QrTokenError as exc:
        raise QrRefused(InvalidInput(f"not a dynamic QR of this exchange ({exc.code})", code="QR_MALFORMED",
                                     field="qr_text"), None) from exc
    grant = session.scalars(_GRANT_BY_HASH, {"token_hash": _token_hash(token.token_id)}).first()
    holder = grant.holder_hash if grant is not None else None
    expected = _tag(_mac_key(ctx), token.kind, token.token_id, token.expires_at)
    if not hmac.compare_digest(expected, token.mac):
        raise QrRefused(Forbidden("the QR code is not valid", code="QR_INVALID"), holder)
    if grant is None:
        raise QrRefused(Forbidden("the QR code is not known here", code="QR_INVALID"), None)
    if token.expires_at <= int(now.timestamp()) or grant.expires_at <= now:
        raise QrRefused(Gone("the QR code has expired; ask the citizen to refresh it", code="QR_EXPIRED"), holder)
    if not consume_nonce(session, "qr", token.token_id_hex, grant.expires_at + timedelta(seconds=60)):
        raise QrRefused(Conflict("the QR code was already used", code="QR_USED"), holder)
    return Redeemed(grant.holder_hash, token.token_id_hex)
