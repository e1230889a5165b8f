"""issuers.sdjwt: wire format of issued licences (RFC 9901 compact SD-JWT VC)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from issuers.sdjwt import (
    IssuanceError,
    deterministic_salts,
    disclosure_digest,
    encode_disclosure,
    issue_licence,
)
from testkit.pki import SAMPLE_FIELDS, TestPki, issue_test_licence, shared_pki

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "sdjwt"
FIXED_NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def _b64u_json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _split(sd_jwt: str) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    jws, *disclosures, kb = sd_jwt.split("~")
    assert kb == ""
    header, payload, _sig = jws.split(".")
    return _b64u_json(header), _b64u_json(payload), disclosures


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return shared_pki()


def test_rfc9901_disclosure_vectors() -> None:
    cases = json.loads((VECTORS / "rfc9901_disclosures.json").read_text(encoding="utf-8"))["cases"]
    for case in cases:
        assert disclosure_digest(case["disclosure"]) == case["digest"]
        assert _b64u_json(case["disclosure"]) == case["decoded"]


def test_header_and_clear_claims(pki: TestPki) -> None:
    sd_jwt = issue_test_licence(pki, "resident_id_card", now=FIXED_NOW, valid_from=date(2025, 1, 1))
    header, payload, disclosures = _split(sd_jwt)
    assert set(header) == {"alg", "typ", "x5c"}
    assert header["alg"] == "ES256" and header["typ"] == "dc+sd-jwt"
    assert len(header["x5c"]) == 1  # the leaf only, never the root
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    assert leaf == pki.departments["psb"].licence_cert
    assert payload["iss"] == "psb"
    assert payload["iat"] == int(FIXED_NOW.timestamp())
    assert payload["nbf"] == int(
        datetime(2024, 12, 31, 16, 0, tzinfo=UTC).timestamp()
    )  # 2025-01-01 00:00 CST
    assert payload["exp"] == int(datetime(2035, 1, 1, 16, 0, tzinfo=UTC).timestamp())  # end of 2035-01-01 CST
    assert payload["vct"] == "urn:licex:licence-type:11100000000013338W001"
    assert payload["licence_type"] == "11100000000013338W001"
    assert payload["licence_id"].startswith("1.2.156.3005.2.11100000000013338W001.11430100007501019L.")
    assert payload["licence_name"] == "居民身份证"
    assert payload["version"] == "001"
    assert payload["issuer"] == {"name": "长沙市公安局", "code": "11430100007501019L"}
    assert payload["issued_on"] == payload["valid_from"] == "2025-01-01"
    assert payload["valid_until"] == "2035-01-01"
    assert payload["jurisdiction"] == "430100"
    assert payload["holder_code_type"] == "111"
    assert payload["status"] == {"uri": "https://licex.example/api/v1/status/2024000123"}
    assert payload["_sd_alg"] == "sha-256"
    assert payload["_sd"] == sorted(payload["_sd"])
    assert len(disclosures) == 3 + len(SAMPLE_FIELDS["resident_id_card"])


def test_every_face_field_and_the_holder_is_a_top_level_disclosure(pki: TestPki) -> None:
    _, payload, disclosures = _split(issue_test_licence(pki, "resident_id_card"))
    names = []
    for d in disclosures:
        salt, name, _value = _b64u_json(d)
        assert len(base64.urlsafe_b64decode(salt + "==")) == 16  # 128-bit salts
        assert disclosure_digest(d) in payload["_sd"]
        names.append(name)
    # an ID card's number is the holder's ID number: it is disclosable, never clear
    assert "licence_no" not in payload
    assert sorted(names) == sorted(
        ["holder_name", "holder_code", "licence_no", *SAMPLE_FIELDS["resident_id_card"]]
    )
    clear = json.dumps(payload, ensure_ascii=False)
    assert "张三" not in clear and "430102199003071234" not in clear and "五一大道" not in clear


def test_long_term_licence_has_no_exp(pki: TestPki) -> None:
    _, payload, _ = _split(issue_test_licence(pki, "business_licence", valid_until=None))
    assert "exp" not in payload and payload["valid_until"] is None
    assert payload["holder_code_type"] == "001"
    assert payload["licence_no"] == "91350200776049653A"  # a company's USCC is public: clear


def test_decoys_add_digests_only(pki: TestPki) -> None:
    _, payload, disclosures = _split(issue_test_licence(pki, decoys=5))
    assert len(payload["_sd"]) == len(disclosures) + 5


def test_salts_are_fresh_by_default_and_reproducible_on_request(pki: TestPki) -> None:
    a = _split(issue_test_licence(pki))[2]
    b = _split(issue_test_licence(pki))[2]
    assert not set(a) & set(b)
    c = _split(issue_test_licence(pki, now=FIXED_NOW, salt_source=deterministic_salts(b"seed")))
    d = _split(issue_test_licence(pki, now=FIXED_NOW, salt_source=deterministic_salts(b"seed")))
    assert c[2] == d[2] and c[1] == d[1]


def test_deterministic_licence_vector(pki: TestPki) -> None:
    """Pins the wire format: payload and disclosures of a fixed licence (the signature and x5c vary)."""
    vector = json.loads((VECTORS / "licence_resident_id_card.json").read_text(encoding="utf-8"))
    sd_jwt = issue_test_licence(
        pki,
        "resident_id_card",
        now=datetime.fromisoformat(vector["now"]),
        valid_from=date.fromisoformat(vector["valid_from"]),
        salt_source=deterministic_salts(vector["salt_seed"].encode()),
    )
    _, payload, disclosures = _split(sd_jwt)
    assert payload == vector["payload"]
    assert disclosures == vector["disclosures"]
    assert [_b64u_json(d) for d in disclosures] == vector["decoded_disclosures"]


def test_disclosure_encoding_keeps_utf8() -> None:
    raw = encode_disclosure("c2FsdA", "name", "𠇔䶮")
    assert _b64u_json(raw) == ["c2FsdA", "name", "𠇔䶮"]
    assert (
        disclosure_digest(raw)
        == base64.urlsafe_b64encode(hashlib.sha256(raw.encode()).digest()).rstrip(b"=").decode()
    )


def _issue(pki: TestPki, **overrides: Any) -> str:
    dept = pki.departments["psb"]
    args: dict[str, Any] = {
        "key": dept.licence_key,
        "cert": dept.licence_cert,
        "department_id": "psb",
        "issuer_name": dept.name,
        "issuer_uscc": dept.uscc,
        "licence_type_code": "11100000000013338W001",
        "licence_name": "居民身份证",
        "licence_id": "1.2.156.3005.2.11100000000013338W001.11430100007501019L.2024000123.001.9",
        "licence_no": "430102199003071234",
        "fields": dict(SAMPLE_FIELDS["resident_id_card"]),
        "holder_name": "张三",
        "holder_code": "430102199003071234",
        "holder_code_type": "111",
        "issued_on": date(2025, 1, 1),
        "valid_from": date(2025, 1, 1),
        "valid_until": date(2035, 1, 1),
        "jurisdiction": "430100",
    }
    args.update(overrides)
    return issue_licence(**args)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"fields": {"iss": "x"}}, "RESERVED_FIELD"),
        ({"fields": {"holder_name": "x"}}, "RESERVED_FIELD"),
        ({"fields": {"_sd": "x"}}, "RESERVED_FIELD"),
        ({"holder_code_type": "999"}, "BAD_HOLDER_CODE_TYPE"),
        ({"valid_until": date(2024, 1, 1)}, "BAD_VALIDITY"),
        ({"salt_source": lambda: b"short"}, "SHORT_SALT"),
        ({"now": datetime(2025, 1, 1)}, "NAIVE_DATETIME"),
        ({"decoys": -1}, "BAD_DECOYS"),
    ],
)
def test_bad_input_is_refused(pki: TestPki, overrides: dict[str, Any], code: str) -> None:
    with pytest.raises(IssuanceError) as err:
        _issue(pki, **overrides)
    assert err.value.code == code


def test_key_must_match_certificate(pki: TestPki) -> None:
    with pytest.raises(IssuanceError) as err:
        _issue(pki, key=pki.departments["amr"].licence_key)
    assert err.value.code == "KEY_MISMATCH"
