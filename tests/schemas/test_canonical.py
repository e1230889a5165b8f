"""Tests for schemas.canonical."""

from __future__ import annotations

import base64
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.canonical import b64u_decode, b64u_encode, canonical_json


def test_canonical_json_sorted_compact_utf8() -> None:
    out = canonical_json({"b": 1, "a": [True, None, "张𠇔"], "c": {"z": 1, "y": 2}})
    assert out == '{"a":[true,null,"张𠇔"],"b":1,"c":{"y":2,"z":1}}'.encode()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, {"x": [1.0, math.nan]}])
def test_canonical_json_rejects_non_finite(bad: object) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        canonical_json(bad)


def test_canonical_json_rejects_non_string_keys() -> None:
    with pytest.raises(TypeError):
        canonical_json({1: "a"})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.characters(exclude_categories=["Cs"])),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_canonical_json_is_stable(value: object) -> None:
    out = canonical_json(value)
    assert canonical_json(json.loads(out)) == out


@given(st.binary(max_size=64))
def test_b64u_round_trip(data: bytes) -> None:
    enc = b64u_encode(data)
    assert "=" not in enc and "+" not in enc and "/" not in enc
    assert b64u_decode(enc) == data


# "AB" decodes to one byte but has non-zero trailing bits (the canonical form is "AA").
@pytest.mark.parametrize("bad", ["AA==", "AAA=", "A", "AB+C", "AB/C", "AB C", "AB\nC", "ÄA", "A!", "AB"])
def test_b64u_decode_strict(bad: str) -> None:
    with pytest.raises(ValueError):
        b64u_decode(bad)


def test_b64u_decode_known() -> None:
    assert b64u_decode("") == b""
    assert b64u_decode("AA") == b"\x00"
    assert b64u_decode("_-8") == b"\xff\xef"


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/= \n!.~Ä", max_size=24))
def test_b64u_decode_accepts_exactly_the_canonical_encodings(text: str) -> None:
    """Whatever the input, it decodes only if it is the one encoding of the bytes it decodes to, and a refused
    text in the url alphabet of a possible length is refused only for a set trailing bit."""
    try:
        data = b64u_decode(text)
    except ValueError:
        in_alphabet = all(c.isascii() and (c.isalnum() or c in "-_") for c in text)
        if in_alphabet and len(text) % 4 != 1:
            lenient = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            assert b64u_encode(lenient) != text
        return
    assert b64u_encode(data) == text
