"""The exchange's own JWTs: a token decoded once is remembered, and the remembered answer obeys the same rules."""

from __future__ import annotations

import pytest

from exchange.kit import tokens
from exchange.kit.errors import Unauthenticated
from exchange.kit.tokens import TokenCodec

KEY = bytes(range(32))


def _codec() -> TokenCodec:
    return TokenCodec(KEY, "licex-test")


def test_remembered_token_gives_the_same_claims_and_a_copy() -> None:
    codec = _codec()
    token = codec.encode("clerk", {"sub": "7"}, 60)
    first = codec.decode("clerk", token)
    first["sub"] = "changed by the caller"
    again = codec.decode("clerk", token)
    assert again["sub"] == "7" and again["typ"] == "clerk"


def test_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    codec = _codec()
    token = codec.encode("citizen", {"hid": "a" * 64}, 30)
    claims = codec.decode("citizen", token)
    later = claims["exp"] + 1.0
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    with pytest.raises(Unauthenticated) as refused:
        codec.decode("citizen", token)
    assert refused.value.code == "TOKEN_EXPIRED"


def test_remembered_token_is_not_accepted_for_another_purpose_or_key() -> None:
    codec = _codec()
    token = codec.encode("clerk", {"sub": "7"}, 60)
    codec.decode("clerk", token)
    with pytest.raises(Unauthenticated) as wrong_type:
        codec.decode("citizen", token)
    assert wrong_type.value.code == "TOKEN_WRONG_TYPE"
    with pytest.raises(Unauthenticated):  # another exchange (another master key) never saw it
        TokenCodec(bytes(32), "licex-test").decode("clerk", token)
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(Unauthenticated):
        codec.decode("clerk", tampered)


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "VERIFIED_CACHE_MAX", 8)
    codec = _codec()
    for i in range(30):
        codec.decode("clerk", codec.encode("clerk", {"sub": str(i)}, 60))
        assert len(codec._verified) <= 8


def test_only_the_canonical_spelling_is_accepted() -> None:
    codec = _codec()
    token = codec.encode("clerk", {"sub": "7"}, 60)
    head, body, sig = token.split(".")
    # PyJWT's base64url decoding skips foreign characters, so these would verify; the codec refuses them
    for respelt in (f"{head}.{body}.{sig}!", f"{head}.{body}.{sig[:10]}*{sig[10:]}", f"{head}.{body}.{sig}==",
                    f" {token}", f"{head}.{body}.{sig[:-1]}"):
        with pytest.raises(Unauthenticated) as refused:
            codec.decode("clerk", respelt)
        assert refused.value.code == "TOKEN_INVALID"
    assert len(codec._verified) == 0
    assert codec.decode("clerk", token)["sub"] == "7"


def test_remembered_lists_are_copies() -> None:
    codec = _codec()
    token = codec.encode("citizen", {"amr": ["face"]}, 60)
    codec.decode("citizen", token)["amr"].append("password")
    codec.decode("citizen", token)["amr"].append("password")
    assert codec.decode("citizen", token)["amr"] == ["face"]
