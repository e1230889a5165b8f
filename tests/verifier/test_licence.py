"""verify_licence: one real artefact per reason code, plus the valid paths."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from issuers.sdjwt import encode_disclosure
from testkit.pki import TestPki, build_pki, issue_test_licence, shared_pki
from verifier.errors import StatusUnavailable
from verifier.licence import verify_licence
from verifier.result import Code, LicenceVerification
from verifier.sdjwt import select_disclosures
from verifier.trust import TrustedCertificate, TrustedDepartment


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return shared_pki()


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verify(pki: TestPki, sd_jwt: str, **kwargs: Any) -> LicenceVerification:
    kwargs.setdefault("now", pki.now)
    return verify_licence(sd_jwt, kwargs.pop("trust", pki.trust_list), **kwargs)


def _only(result: LicenceVerification, code: Code) -> None:
    assert not result.valid
    assert result.codes == (code,), result.verdict
    assert result.verdict.startswith(f"INVALID: {code}")


# ----------------------------------------------------------------------------- valid


@pytest.mark.parametrize("type_key", ["resident_id_card", "business_licence"])
def test_valid_licence(pki: TestPki, type_key: str) -> None:
    result = _verify(pki, issue_test_licence(pki, type_key))
    assert result.valid and result.codes == ()
    assert result.verdict.startswith("VALID: ") and "issued by 长沙市" in result.verdict
    assert result.subject is not None and result.subject.startswith("1.2.156.3005.2.")
    assert result.metadata["licence_id"] == result.subject
    assert "_sd" not in result.metadata and "holder_name" not in result.metadata
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.valid = False  # type: ignore[misc]


def test_valid_verdict_reads_well(pki: TestPki) -> None:
    result = _verify(pki, issue_test_licence(pki))
    assert result.verdict == f"VALID: 居民身份证 {result.subject} issued by 长沙市公安局"
    assert result.issuer == "长沙市公安局"
    assert result.disclosed["holder_code"] == "430102199003071234"
    assert result.metadata["licence_no"] == "430102199003071234"


def test_partial_disclosure_is_valid_and_shows_only_what_was_kept(pki: TestPki) -> None:
    presentation = select_disclosures(issue_test_licence(pki), {"name", "birth_date"})
    result = _verify(pki, presentation)
    assert result.valid, result.verdict
    assert dict(result.disclosed) == {"name": "张三", "birth_date": "1990-03-07"}
    assert "licence_no" not in result.metadata  # the ID number was not disclosed


def test_long_term_licence_has_no_expiry(pki: TestPki) -> None:
    sd_jwt = issue_test_licence(pki, "business_licence", valid_until=None)
    assert _verify(pki, sd_jwt, now=pki.now + timedelta(days=700)).valid


# ----------------------------------------------------------------------------- tampering


def test_tampered_disclosure(pki: TestPki) -> None:
    sd_jwt = issue_test_licence(pki)
    jws, *disclosures, _ = sd_jwt.split("~")
    for i, d in enumerate(disclosures):
        salt, name, _value = json.loads(_unb64u(d))
        if name == "birth_date":
            disclosures[i] = encode_disclosure(salt, name, "1980-03-07")
    result = _verify(pki, "~".join([jws, *disclosures]) + "~")
    _only(result, Code.DISCLOSURE_TAMPERED)
    assert "birth_date" not in result.disclosed
    assert result.details["tampered_disclosures"] == ("birth_date",)


def test_disclosure_from_another_licence(pki: TestPki) -> None:
    mine = issue_test_licence(pki)
    other = issue_test_licence(pki, field_updates={"name": "李四"})
    foreign = next(d for d in other.split("~")[1:-1] if json.loads(_unb64u(d))[1] == "name")
    mine_without_name = select_disclosures(mine, {"birth_date"})
    _only(_verify(pki, mine_without_name + foreign + "~"), Code.DISCLOSURE_TAMPERED)


def test_one_payload_byte_flipped(pki: TestPki) -> None:
    sd_jwt = issue_test_licence(pki)
    header, payload, _sig = sd_jwt.split("~")[0].split(".")
    raw = _unb64u(payload)
    assert raw.count(b'"jurisdiction":"430100"') == 1
    flipped = raw.replace(b'"jurisdiction":"430100"', b'"jurisdiction":"430101"')
    forged = sd_jwt.replace(f"{header}.{payload}.", f"{header}.{_b64u(flipped)}.", 1)
    _only(_verify(pki, forged), Code.BAD_SIGNATURE)


def test_signature_from_another_licence(pki: TestPki) -> None:
    a = issue_test_licence(pki).split("~")
    b = issue_test_licence(pki, serial="2024000999").split("~")
    a_jws = a[0].rsplit(".", 1)[0] + "." + b[0].rsplit(".", 1)[1]
    _only(_verify(pki, "~".join([a_jws, *a[1:]])), Code.BAD_SIGNATURE)


# ----------------------------------------------------------------------------- algorithm pinning


def _resign(
    sd_jwt: str, header: dict[str, Any], signature: bytes | None = None, hs_key: bytes | None = None
) -> str:
    _h, payload, _s = sd_jwt.split("~")[0].split(".")
    signing_input = f"{_b64u(json.dumps(header).encode())}.{payload}"
    if hs_key is not None:
        signature = hmac.new(hs_key, signing_input.encode(), hashlib.sha256).digest()
    rest = sd_jwt.split("~", 1)[1]
    return f"{signing_input}.{_b64u(signature or b'')}~{rest}"


def _header(sd_jwt: str) -> dict[str, Any]:
    header: dict[str, Any] = json.loads(_unb64u(sd_jwt.split(".")[0]))
    return header


def test_alg_none_is_rejected(pki: TestPki) -> None:
    sd_jwt = issue_test_licence(pki)
    forged = _resign(sd_jwt, {**_header(sd_jwt), "alg": "none"})
    _only(_verify(pki, forged), Code.BAD_SIGNATURE)


def test_hs256_key_confusion_is_rejected(pki: TestPki) -> None:
    """The classic attack: HMAC with the issuer's public key (from x5c) as the secret."""
    from cryptography.hazmat.primitives import serialization

    sd_jwt = issue_test_licence(pki)
    public_pem = (
        pki.departments["psb"]
        .licence_cert.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    forged = _resign(sd_jwt, {**_header(sd_jwt), "alg": "HS256"}, hs_key=public_pem)
    result = _verify(pki, forged)
    _only(result, Code.BAD_SIGNATURE)
    assert "ES256 only" in result.verdict


def test_wrong_typ_is_malformed(pki: TestPki) -> None:
    sd_jwt = issue_test_licence(pki)
    dept = pki.departments["psb"]
    from issuers.sdjwt import sign_es256_jws

    payload = json.loads(_unb64u(sd_jwt.split(".")[1]))
    jws = sign_es256_jws({**_header(sd_jwt), "typ": "JWT"}, payload, dept.licence_key)
    _only(_verify(pki, jws + "~" + sd_jwt.split("~", 1)[1]), Code.MALFORMED)


# ----------------------------------------------------------------------------- issuer and trust


def test_swapped_issuer(pki: TestPki) -> None:
    """Signed with the market regulator's key but claiming to be the police."""
    _only(_verify(pki, issue_test_licence(pki, issuer_id="psb", signer_id="amr")), Code.UNKNOWN_ISSUER)


def test_unknown_root(pki: TestPki) -> None:
    stranger = build_pki(root_cn="某市电子证照根CA", may_issue={"psb": ["11100000000013338W001"], "amr": []})
    _only(_verify(pki, issue_test_licence(stranger)), Code.UNKNOWN_ISSUER)


def test_seal_certificate_may_not_sign_licences(pki: TestPki) -> None:
    dept = pki.departments["psb"]
    from issuers.sdjwt import issue_licence

    sd_jwt = issue_licence(
        key=dept.seal_key,
        cert=dept.seal_cert,
        department_id="psb",
        issuer_name=dept.name,
        issuer_uscc=dept.uscc,
        licence_type_code="11100000000013338W001",
        licence_name="居民身份证",
        licence_id="1.2.156.3005.2.11100000000013338W001.11430100007501019L.2024000123.001.9",
        licence_no="x",
        fields={},
        holder_name="张三",
        holder_code="430102199003071234",
        holder_code_type="111",
        issued_on=date(2025, 1, 1),
        valid_from=date(2025, 1, 1),
        valid_until=None,
        jurisdiction="430100",
    )
    _only(_verify(pki, sd_jwt), Code.UNKNOWN_ISSUER)


def test_revoked_signing_key(pki: TestPki) -> None:
    trust = pki.trust_list_with(revoked=[pki.departments["psb"].licence_cert])
    result = _verify(pki, issue_test_licence(pki), trust=trust)
    _only(result, Code.REVOKED)
    assert "keyCompromise" in result.verdict


def test_issuer_not_authorised_for_type(pki: TestPki) -> None:
    """The police may not issue business licences."""
    _only(
        _verify(pki, issue_test_licence(pki, "business_licence", issuer_id="psb")), Code.ISSUER_NOT_AUTHORISED
    )


def test_signed_after_the_certificate_expired_is_chain_invalid(pki: TestPki) -> None:
    later = pki.now + timedelta(days=900)  # the department certificate lasts 825 days
    sd_jwt = issue_test_licence(pki, "business_licence", valid_until=None, now=later)
    _only(_verify(pki, sd_jwt, now=later + timedelta(minutes=1)), Code.CHAIN_INVALID)


def test_long_lived_licence_outlives_its_signing_certificate(pki: TestPki) -> None:
    """Chain model: what matters is the certificate's validity when the licence was signed."""
    sd_jwt = issue_test_licence(pki, "business_licence", valid_until=None)
    assert _verify(pki, sd_jwt, now=pki.now + timedelta(days=900)).valid


def test_listed_certificate_from_an_unlisted_root(pki: TestPki) -> None:
    """A trust list that lists a department certificate which no listed root issued."""
    stranger = build_pki(may_issue={"psb": ["11100000000013338W001"], "amr": []})
    listed = TrustedDepartment(
        id="psb",
        name="长沙市公安局",
        uscc="11430100007501019L",
        may_issue=frozenset({"11100000000013338W001"}),
        certificates=(TrustedCertificate(cert=stranger.departments["psb"].licence_cert, use="licence"),),
    )
    trust = pki.trust_list_with(departments=[listed])
    _only(_verify(pki, issue_test_licence(stranger), trust=trust), Code.CHAIN_INVALID)


def test_issuer_code_must_match_trust_list(pki: TestPki) -> None:
    dept = pki.departments["psb"]
    renamed = TrustedDepartment(
        id="psb",
        name=dept.name,
        uscc="11430100007501027F",
        may_issue=dept.may_issue,
        certificates=(TrustedCertificate(cert=dept.licence_cert, use="licence"),),
    )
    trust = pki.trust_list_with(departments=[renamed])
    _only(_verify(pki, issue_test_licence(pki), trust=trust), Code.UNKNOWN_ISSUER)


# ----------------------------------------------------------------------------- time


def test_expired(pki: TestPki) -> None:
    sd_jwt = issue_test_licence(
        pki,
        valid_from=(pki.now - timedelta(days=400)).date(),
        valid_until=(pki.now - timedelta(days=10)).date(),
    )
    _only(_verify(pki, sd_jwt), Code.EXPIRED)


def test_not_yet_valid(pki: TestPki) -> None:
    sd_jwt = issue_test_licence(pki, valid_from=(pki.now + timedelta(days=10)).date())
    _only(_verify(pki, sd_jwt), Code.NOT_YET_VALID)


def test_issued_in_the_future(pki: TestPki) -> None:
    sd_jwt = issue_test_licence(pki, now=pki.now + timedelta(hours=1))
    _only(_verify(pki, sd_jwt), Code.NOT_YET_VALID)


def test_expiry_leeway_is_sixty_seconds(pki: TestPki) -> None:
    sd_jwt = issue_test_licence(pki, valid_from=(pki.now - timedelta(days=40)).date())
    exp = json.loads(_unb64u(sd_jwt.split(".")[1]))["exp"]
    from datetime import UTC, datetime

    at_exp = datetime.fromtimestamp(exp, UTC)
    trust = pki.trust_list
    inside = verify_licence(sd_jwt, trust, now=at_exp - timedelta(days=1))
    assert Code.EXPIRED not in inside.codes
    assert Code.EXPIRED not in verify_licence(sd_jwt, trust, now=at_exp + timedelta(seconds=30)).codes
    assert Code.EXPIRED in verify_licence(sd_jwt, trust, now=at_exp + timedelta(seconds=61)).codes


# ----------------------------------------------------------------------------- status


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ("revoked", Code.REVOKED),
        ("suspended", Code.SUSPENDED),
        ("expired", Code.EXPIRED),
        ("not_found", Code.NOT_FOUND),
    ],
)
def test_status_source(pki: TestPki, state: str, code: Code) -> None:
    asked: list[str] = []

    def status(licence_id: str) -> str:
        asked.append(licence_id)
        return state

    result = _verify(pki, issue_test_licence(pki), status=status)
    _only(result, code)
    assert asked == [result.subject]


def test_status_valid_and_unavailable(pki: TestPki) -> None:
    sd_jwt = issue_test_licence(pki)
    assert _verify(pki, sd_jwt, status=lambda _id: "valid").details["status"] == "valid"

    def down(_id: str) -> str:
        raise StatusUnavailable("connection refused")

    # Fail closed: a status that cannot be learnt is not valid, and the verdict says INDETERMINATE.
    result = _verify(pki, sd_jwt, status=down)
    assert not result.valid and result.codes == (Code.STATUS_UNAVAILABLE,)
    assert result.outcome == "indeterminate" and result.verdict.startswith("INDETERMINATE: STATUS_UNAVAILABLE")
    assert result.details["status"] == "unavailable"
    # An unknown answer is not "valid" either.
    assert _verify(pki, sd_jwt, status=lambda _id: None).codes == (Code.STATUS_UNAVAILABLE,)
    # Another failure beside it makes the verdict INVALID, not INDETERMINATE.
    both = _verify(pki, sd_jwt, status=down, now=datetime(2099, 1, 1, tzinfo=UTC))
    assert both.outcome == "invalid" and Code.STATUS_UNAVAILABLE in both.codes


def test_status_required_and_explicitly_skipped(pki: TestPki) -> None:
    sd_jwt = issue_test_licence(pki)
    required = _verify(pki, sd_jwt, require_status=True)
    assert required.codes == (Code.STATUS_UNAVAILABLE,) and required.outcome == "indeterminate"
    skipped = _verify(pki, sd_jwt, require_status=False, status=lambda _id: "revoked")
    assert skipped.valid and skipped.details["status"] == "not_checked"
    assert "not checked" in skipped.details["status_note"]


# ----------------------------------------------------------------------------- schema


@pytest.mark.parametrize(
    "updates",
    [
        {"sex": "X"},  # not in the enum
        {"birth_date": "1990-02-30"},  # not a date
        {"id_number": "430102199003071235"},  # bad check digit (and differs from holder_code)
        {"favourite_colour": "red"},  # not a field of this type
    ],
)
def test_schema_mismatch(pki: TestPki, updates: dict[str, Any]) -> None:
    result = _verify(pki, issue_test_licence(pki, field_updates=updates))
    _only(result, Code.SCHEMA_MISMATCH)
    assert result.details["schema_problems"]


def test_schema_check_can_be_skipped(pki: TestPki) -> None:
    assert _verify(pki, issue_test_licence(pki, field_updates={"sex": "X"}), check_schema=False).valid


# ----------------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "a.b.c~",
        "eyJhbGciOiJFUzI1NiJ9.e30.AAAA",  # no '~': a plain JWT, not an SD-JWT
        "eyJhbGciOiJFUzI1NiJ9.e30.AAAA~~",  # empty disclosure
        "ünïcode~",
        "A" * 400_000 + "~",
    ],
)
def test_malformed(pki: TestPki, text: str) -> None:
    _only(_verify(pki, text), Code.MALFORMED)


def test_missing_x5c_is_malformed(pki: TestPki) -> None:
    sd_jwt = issue_test_licence(pki)
    header = {k: v for k, v in _header(sd_jwt).items() if k != "x5c"}
    _only(_verify(pki, _resign(sd_jwt, header, signature=b"\0" * 64)), Code.MALFORMED)
