"""The dynamic QR payload codec: round trip, strict parsing, and the QR symbol (segno + zxing-cpp)."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import segno
import zxingcpp
from PIL import Image

from schemas import qrtoken
from schemas.qrtoken import KIND_COUNTER, PREFIX, QrToken, QrTokenError


def _token(expires_at: int = 1_900_000_000) -> QrToken:
    return QrToken(KIND_COUNTER, os.urandom(16), expires_at, os.urandom(16))


def test_round_trip_and_charset() -> None:
    for expires in (0, 1_900_000_000, 2**32 - 1):
        token = _token(expires)
        text = qrtoken.encode(token)
        assert text.startswith(PREFIX)
        assert len(text) == qrtoken.MAX_TEXT_CHARS == 64
        assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567LX1:")
        assert qrtoken.decode(text) == token
        assert qrtoken.decode(f"  {text}\n") == token


def test_signing_input_covers_kind_id_and_expiry() -> None:
    token = _token()
    base = token.signing_input()
    assert base == qrtoken.signing_input(token.kind, token.token_id, token.expires_at)
    assert qrtoken.signing_input(token.kind, token.token_id, token.expires_at + 1) != base
    other_id = bytes([token.token_id[0] ^ 1]) + token.token_id[1:]
    assert qrtoken.signing_input(token.kind, other_id, token.expires_at) != base
    assert token.mac not in base


def _lower_first_letter(token: str) -> str:
    """Lower-case one base32 letter (the random payload may start with digits 2-7, which have no case)."""
    i = next(k for k in range(4, len(token)) if token[k].isalpha())
    return token[:i] + token[i].lower() + token[i + 1 :]


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda t: "LX2:" + t[4:], "BAD_PREFIX"),
        (lambda t: t[4:], "BAD_PREFIX"),
        (lambda t: "eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJjaXRpemVuIn0.sig", "BAD_PREFIX"),
        (lambda t: t[:-1], "BAD_LENGTH"),
        (lambda t: t + "A", "BAD_LENGTH"),
        (lambda t: _lower_first_letter(t), "BAD_CHARSET"),
        (lambda t: t[:10] + "1" + t[11:], "BAD_CHARSET"),
        (lambda t: t[:-4] + "====", "BAD_CHARSET"),
        (lambda t: "X" * 5000, "BAD_LENGTH"),
        (lambda t: "", "BAD_PREFIX"),
    ],
)
def test_malformed_payloads_are_refused(mutate: object, code: str) -> None:
    text = qrtoken.encode(_token())
    with pytest.raises(QrTokenError) as err:
        qrtoken.decode(mutate(text))  # type: ignore[operator]
    assert err.value.code == code


def test_non_canonical_trailing_bits_and_unknown_kind_refused() -> None:
    text = qrtoken.encode(_token())
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    # 37 bytes = 296 bits in 60 characters (300 bits): the last character's low 4 bits must be zero.
    idx = last.index(text[-1])
    with pytest.raises(QrTokenError) as err:
        qrtoken.decode(text[:-1] + last[idx | 1])
    assert err.value.code == "BAD_LENGTH"
    import base64

    raw = bytearray(base64.b32decode(text[4:] + "===="))
    raw[0] = 7
    with pytest.raises(QrTokenError) as err:
        qrtoken.decode(PREFIX + base64.b32encode(bytes(raw)).decode().rstrip("="))
    assert err.value.code == "BAD_KIND"


def test_constructor_validates_fields() -> None:
    with pytest.raises(QrTokenError):
        QrToken(KIND_COUNTER, b"short", 1, os.urandom(16))
    with pytest.raises(QrTokenError):
        QrToken(KIND_COUNTER, os.urandom(16), -1, os.urandom(16))
    with pytest.raises(QrTokenError):
        QrToken(KIND_COUNTER, os.urandom(16), 1, os.urandom(8))
    with pytest.raises(QrTokenError):
        QrToken(9, os.urandom(16), 1, os.urandom(16))


def test_fits_version_4_at_m_and_decodes_with_zxing() -> None:
    text = qrtoken.encode(_token())
    qr = segno.make(text, error="m", boost_error=False)
    assert qr.mode == "alphanumeric"
    assert qr.error == "M"
    assert isinstance(qr.version, int) and qr.version <= 7
    assert qr.version == 4
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=6, border=4)
    image = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))
    results = zxingcpp.read_barcodes(image)
    assert [r.text for r in results] == [text]
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
