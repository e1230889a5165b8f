"""Interop (acceptance criterion): licences made by issuers.sdjwt verify in implementations we did not write
— the SD-JWT reference implementation (PyPI ``sd-jwt`` 0.10.4, on jwcrypto), ``joserfc`` and PyJWT — and
SD-JWTs made by the reference issuer verify in ours."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import jwt as pyjwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from testkit.pki import SAMPLE_FIELDS, TestPki, issue_test_licence, shared_pki
from verifier.licence import verify_licence
from verifier.sdjwt import parse_sd_jwt, select_disclosures, unpack


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return shared_pki()


def _x5c_public_jwk(_issuer: str, header: dict[str, Any]) -> JWK:
    """Reference-verifier callback: the issuer key is the x5c leaf's (trust is checked elsewhere)."""
    cert = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    pem = cert.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return JWK.from_pem(pem)


def _public_pem(pki: TestPki, dept: str) -> bytes:
    return (
        pki.departments[dept]
        .licence_cert.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


@pytest.mark.parametrize("type_key", sorted(SAMPLE_FIELDS))
def test_reference_verifier_accepts_our_licence(pki: TestPki, type_key: str) -> None:
    sd_jwt = issue_test_licence(pki, type_key, decoys=3)
    claims = SDJWTVerifier(sd_jwt, _x5c_public_jwk).get_verified_payload()
    ours = verify_licence(sd_jwt, pki.trust_list)
    assert ours.valid, ours.verdict
    assert claims == {**ours.metadata, **ours.disclosed}
    for name, value in SAMPLE_FIELDS[type_key].items():
        assert claims[name] == value


def test_reference_verifier_rejects_a_forged_payload(pki: TestPki) -> None:
    sd_jwt = issue_test_licence(pki)
    _header, payload, _sig = sd_jwt.split("~")[0].split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    body["iss"] = "amr"
    forged_payload = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    forged = sd_jwt.replace(payload, forged_payload, 1)
    with pytest.raises(Exception, match=r"(?i)verif"):
        SDJWTVerifier(forged, _x5c_public_jwk)


def test_reference_verifier_accepts_our_minimal_presentation(pki: TestPki) -> None:
    sd_jwt = issue_test_licence(pki)
    presentation = select_disclosures(sd_jwt, {"holder_name", "birth_date"})
    claims = SDJWTVerifier(presentation, _x5c_public_jwk).get_verified_payload()
    assert claims["holder_name"] == "张三" and claims["birth_date"] == "1990-03-07"
    for hidden in ("holder_code", "id_number", "address", "name", "licence_no"):
        assert hidden not in claims
    assert verify_licence(presentation, pki.trust_list).valid


def test_joserfc_verifies_the_issuer_signed_jws(pki: TestPki) -> None:
    from joserfc import jws
    from joserfc.jwk import ECKey

    class X5cRegistry(jws.JWSRegistry):
        max_header_length = 8192  # joserfc's default (512 bytes) is too small for any x5c header

    sd_jwt = issue_test_licence(pki)
    compact = sd_jwt.split("~")[0]
    key = ECKey.import_key(_public_pem(pki, "psb"))
    registry = X5cRegistry(algorithms=["ES256"])
    obj = jws.deserialize_compact(compact, key, algorithms=["ES256"], registry=registry)
    assert obj.protected["typ"] == "dc+sd-jwt" and obj.protected["alg"] == "ES256"
    payload = json.loads(obj.payload)
    assert payload["iss"] == "psb" and payload["_sd_alg"] == "sha-256"
    other = ECKey.import_key(_public_pem(pki, "amr"))
    with pytest.raises(Exception, match=r"(?i)signature"):
        jws.deserialize_compact(compact, other, algorithms=["ES256"], registry=registry)


def test_pyjwt_verifies_the_issuer_signed_jws_with_time_claims(pki: TestPki) -> None:
    sd_jwt = issue_test_licence(pki)
    payload = pyjwt.decode(
        sd_jwt.split("~")[0],
        _public_pem(pki, "psb"),
        algorithms=["ES256"],
        options={"require": ["iat", "iss", "exp", "nbf"]},
        issuer="psb",
    )
    assert payload["licence_type"] == "11100000000013338W001"


def _reference_issue(pki: TestPki, user_claims: dict[Any, Any]) -> str:
    dept = pki.departments["psb"]
    pem = dept.licence_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    x5c = base64.b64encode(dept.licence_cert.public_bytes(serialization.Encoding.DER)).decode()
    issuer = SDJWTIssuer(
        user_claims,
        JWK.from_pem(pem),
        sign_alg="ES256",
        add_decoy_claims=True,
        extra_header_parameters={"typ": "dc+sd-jwt", "x5c": [x5c]},
    )
    return str(issuer.sd_jwt_issuance)


def test_reference_issued_licence_verifies_in_ours(pki: TestPki) -> None:
    """A licence assembled by the reference issuer (its salts, JSON encoding, decoys) verifies in ours."""
    ours = verify_licence(issue_test_licence(pki, now=pki.now - timedelta(minutes=5)), pki.trust_list)
    clear = dict(ours.metadata)
    del clear["licence_no"]  # disclosable for an ID card
    user_claims: dict[Any, Any] = dict(clear)
    for name, value in ours.disclosed.items():
        user_claims[SDObj(name)] = value
    sd_jwt = _reference_issue(pki, user_claims)
    result = verify_licence(sd_jwt, pki.trust_list)
    assert result.valid, result.verdict
    assert dict(result.disclosed) == dict(ours.disclosed)
    assert dict(result.metadata) == dict(ours.metadata)


def test_reference_nested_and_array_disclosures_unpack_in_ours(pki: TestPki) -> None:
    user_claims: dict[Any, Any] = {
        "iss": "psb",
        "iat": 1700000000,
        SDObj("address"): {SDObj("street"): "五一大道1号", "city": "长沙"},
        "nationalities": [SDObj("CN"), "HK", SDObj("MO")],
        SDObj("photo"): None,
    }
    sd_jwt = _reference_issue(pki, user_claims)
    reference = SDJWTVerifier(sd_jwt, _x5c_public_jwk).get_verified_payload()
    unpacked = unpack(parse_sd_jwt(sd_jwt))
    assert unpacked.claims == reference
    assert unpacked.claims["address"] == {"street": "五一大道1号", "city": "长沙"}
    assert unpacked.claims["nationalities"] == ["CN", "HK", "MO"]
    assert not unpacked.unreferenced
    # keep only the address: its nested street disclosure comes along, the array elements do not
    presentation = select_disclosures(sd_jwt, {"address"})
    reduced = SDJWTVerifier(presentation, _x5c_public_jwk).get_verified_payload()
    assert reduced["address"] == {"street": "五一大道1号", "city": "长沙"}
    assert reduced["nationalities"] == ["HK"] and "photo" not in reduced
