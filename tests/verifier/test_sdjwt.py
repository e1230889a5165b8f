"""verifier.sdjwt: strict parsing and minimal presentations."""

from __future__ import annotations

import base64
import json

import pytest

from issuers.sdjwt import disclosure_digest, encode_disclosure
from testkit.pki import TestPki, issue_test_licence, shared_pki
from verifier import sdjwt as mod
from verifier.errors import MalformedInput
from verifier.sdjwt import parse_sd_jwt, select_disclosures, unpack


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return shared_pki()


def _names(sd_jwt: str) -> list[str]:
    return [d.name or "" for d in parse_sd_jwt(sd_jwt).disclosures]


def test_parse_and_unpack(pki: TestPki) -> None:
    parsed = parse_sd_jwt(issue_test_licence(pki, decoys=4))
    assert parsed.key_binding_jwt is None
    assert all(d.digest == disclosure_digest(d.raw) for d in parsed.disclosures)
    unpacked = unpack(parsed)
    assert not unpacked.unreferenced
    assert unpacked.disclosed["name"] == "张三"
    assert "_sd" not in unpacked.claims and "_sd_alg" not in unpacked.claims


def test_select_disclosures_keeps_only_named_claims(pki: TestPki) -> None:
    sd_jwt = issue_test_licence(pki)
    presentation = select_disclosures(sd_jwt, ["holder_name", "address", "no_such_claim"])
    assert sorted(_names(presentation)) == ["address", "holder_name"]
    assert presentation.split("~")[0] == sd_jwt.split("~")[0] and presentation.endswith("~")
    assert _names(select_disclosures(sd_jwt, [])) == []


def test_limits_are_module_constants() -> None:
    assert mod.MAX_JWS_BYTES == 64 * 1024
    assert mod.MAX_DISCLOSURES == 512
    assert mod.MAX_SD_JWT_BYTES >= 300 * 1024


def test_too_many_disclosures(pki: TestPki) -> None:
    jws = issue_test_licence(pki).split("~")[0]
    many = [encode_disclosure(f"salt{i:020d}", f"f{i}", i) for i in range(mod.MAX_DISCLOSURES + 1)]
    with pytest.raises(MalformedInput):
        parse_sd_jwt("~".join([jws, *many]) + "~")


def test_photo_sized_disclosure_is_accepted(pki: TestPki) -> None:
    photo = base64.b64encode(b"\xff\xd8" + b"\0" * 150_000).decode()
    sd_jwt = issue_test_licence(pki, field_updates={"photo": photo})
    assert len(sd_jwt) > 200_000
    assert unpack(parse_sd_jwt(sd_jwt)).disclosed["photo"] == photo


@pytest.mark.parametrize("name", ["_sd", "..."])
def test_reserved_claim_names(pki: TestPki, name: str) -> None:
    jws = issue_test_licence(pki).split("~")[0]
    with pytest.raises(MalformedInput):
        parse_sd_jwt(f"{jws}~{encode_disclosure('c2FsdHNhbHRzYWx0c2FsdA', name, 1)}~")


def test_duplicate_disclosure(pki: TestPki) -> None:
    sd_jwt = issue_test_licence(pki)
    first = sd_jwt.split("~")[1]
    with pytest.raises(MalformedInput):
        parse_sd_jwt(sd_jwt + first + "~")


def test_duplicate_digest_in_payload(pki: TestPki) -> None:
    from issuers.sdjwt import sign_es256_jws

    sd_jwt = issue_test_licence(pki)
    jws = sd_jwt.split("~")[0]
    header = json.loads(base64.urlsafe_b64decode(jws.split(".")[0] + "=="))
    payload = json.loads(base64.urlsafe_b64decode(jws.split(".")[1] + "=" * (-len(jws.split(".")[1]) % 4)))
    payload["_sd"].append(payload["_sd"][0])
    forged = sign_es256_jws(header, payload, pki.departments["psb"].licence_key)
    with pytest.raises(MalformedInput):
        unpack(parse_sd_jwt(forged + "~" + sd_jwt.split("~", 1)[1]))


@pytest.mark.parametrize(
    "bad",
    [
        base64.urlsafe_b64encode(b'["salt","name"').decode().rstrip("="),  # not JSON
        base64.urlsafe_b64encode(b'{"a":1}').decode().rstrip("="),  # not an array
        base64.urlsafe_b64encode(b"[1,2,3]").decode().rstrip("="),  # salt not a string
        "WyJ=",  # padding
        "Wy+J",  # wrong alphabet
    ],
)
def test_bad_disclosures(pki: TestPki, bad: str) -> None:
    jws = issue_test_licence(pki).split("~")[0]
    with pytest.raises(MalformedInput):
        parse_sd_jwt(f"{jws}~{bad}~")


def test_unsupported_sd_alg(pki: TestPki) -> None:
    from issuers.sdjwt import sign_es256_jws

    sd_jwt = issue_test_licence(pki)
    jws = sd_jwt.split("~")[0]
    header = json.loads(base64.urlsafe_b64decode(jws.split(".")[0] + "=="))
    payload_b64 = jws.split(".")[1]
    payload = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
    payload["_sd_alg"] = "md5"
    with pytest.raises(MalformedInput):
        parse_sd_jwt(sign_es256_jws(header, payload, pki.departments["psb"].licence_key) + "~")
