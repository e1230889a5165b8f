"""TrustList: signed loading, pinning, staleness, signer authorisation, queries."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from issuers.pki import cert_fingerprint
from testkit.pki import TestPki, build_pki, shared_pki
from verifier.errors import TrustListError, VerifierError
from verifier.trust import TrustList, TrustListDocument


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return shared_pki()


def _load(pki: TestPki, data: bytes, **kwargs: object) -> TrustList:
    kwargs.setdefault("now", pki.now)
    return TrustList.load(data, **kwargs)  # type: ignore[arg-type]


def _code(pki: TestPki, data: bytes, **kwargs: object) -> str:
    with pytest.raises(TrustListError) as err:
        _load(pki, data, **kwargs)
    assert isinstance(err.value, VerifierError)
    return err.value.code


def test_load_roundtrip(pki: TestPki) -> None:
    trust = _load(pki, pki.trust_bytes, pinned_root_fingerprints=[pki.root_fingerprint.upper()])
    assert trust.roots == (pki.root_cert,)
    assert set(trust.departments) == {"psb", "amr"}
    psb = trust.departments["psb"]
    assert psb.name == "长沙市公安局" and psb.uscc == "11430100007501019L"
    assert "11100000000013338W001" in psb.may_issue and isinstance(psb.may_issue, frozenset)
    assert trust.issued_at == pki.now.replace(microsecond=0)
    assert trust.next_update - trust.issued_at == timedelta(days=7)
    assert trust.to_bytes() == pki.trust_bytes
    assert _load(pki, trust.to_bytes()).departments.keys() == trust.departments.keys()
    assert trust.signer == pki.exchange_cert and trust.issuer == "licex-changsha"


def test_wire_shape(pki: TestPki) -> None:
    header_b64, payload_b64, _ = pki.trust_bytes.decode().split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=="))
    assert header["alg"] == "ES256" and header["typ"] == "licex-trust-list+jwt" and len(header["x5c"]) == 1
    doc = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
    assert set(doc) == {"v", "issuer", "issued_at", "next_update", "roots", "departments", "revoked"}
    assert doc["v"] == 1 and doc["issued_at"].endswith("Z")
    dept = doc["departments"][0]
    assert set(dept) == {"id", "name", "uscc", "may_issue", "certificates"}
    assert {c["use"] for c in dept["certificates"]} == {"licence", "seal"}
    assert all(set(c) == {"pem", "use", "fingerprint"} for c in dept["certificates"])
    assert TrustListDocument.from_json(doc).to_json() == doc


def test_department_for_certificate_respects_use(pki: TestPki) -> None:
    trust, psb = pki.trust_list, pki.departments["psb"]
    assert trust.department_for_certificate(psb.licence_cert, "licence") == trust.departments["psb"]
    assert trust.department_for_certificate(psb.seal_cert, "seal") == trust.departments["psb"]
    assert trust.department_for_certificate(psb.seal_cert, "licence") is None
    assert trust.department_for_certificate(pki.exchange_cert, "licence") is None


def test_chains_to_root(pki: TestPki) -> None:
    trust = pki.trust_list
    assert trust.chains_to_root(pki.departments["amr"].seal_cert, at=pki.now)
    assert trust.chains_to_root(pki.root_cert, at=pki.now)
    assert not trust.chains_to_root(pki.departments["amr"].seal_cert, at=pki.now + timedelta(days=900))
    assert not trust.chains_to_root(build_pki().departments["amr"].seal_cert, at=pki.now)


def test_revocation(pki: TestPki) -> None:
    seal = pki.departments["amr"].seal_cert
    trust = pki.trust_list_with(revoked=[seal])
    assert trust.is_revoked(seal) and not trust.is_revoked(pki.departments["amr"].licence_cert)
    entry = trust.revocation(seal)
    assert (
        entry is not None and entry.fingerprint == cert_fingerprint(seal) and entry.reason == "keyCompromise"
    )


def test_bad_signature(pki: TestPki) -> None:
    header, payload, sig = pki.trust_bytes.decode().split(".")
    doc = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    doc["departments"][0]["may_issue"].append("11100000000018016P001")  # the police grant themselves a type
    forged = base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()
    assert _code(pki, f"{header}.{forged}.{sig}".encode()) == "BAD_SIGNATURE"


def test_signature_by_an_unrelated_root(pki: TestPki) -> None:
    stranger = build_pki()
    data = stranger.sign(pki.document())  # lists our root, but signed by a stranger's exchange key
    assert _code(pki, data) == "CHAIN_INVALID"


def test_pinning(pki: TestPki) -> None:
    stranger = build_pki()
    assert (
        _code(pki, stranger.trust_bytes, pinned_root_fingerprints=[pki.root_fingerprint]) == "ROOT_NOT_PINNED"
    )
    assert _load(pki, stranger.trust_bytes, now=stranger.now).roots == (stranger.root_cert,)


def test_department_key_cannot_sign_a_trust_list(pki: TestPki) -> None:
    psb = pki.departments["psb"]
    data = pki.sign(pki.document(), key=psb.licence_key, cert=psb.licence_cert)
    assert _code(pki, data) == "SIGNER_NOT_AUTHORISED"


def test_revoked_signer(pki: TestPki) -> None:
    data = pki.sign(pki.document(revoked=[pki.exchange_cert]))
    assert _code(pki, data) == "SIGNER_NOT_AUTHORISED"


def test_stale_list(pki: TestPki) -> None:
    later = pki.now + timedelta(days=8)
    assert _code(pki, pki.trust_bytes, now=later) == "STALE"
    assert _load(pki, pki.trust_bytes, now=later, allow_stale=True).departments


@pytest.mark.parametrize(
    "data", [b"", b"not a jws", b"a.b.c", "ä".encode(), b"e30.e30", b"x" * (9 * 1024 * 1024)]
)
def test_malformed(pki: TestPki, data: bytes) -> None:
    assert _code(pki, data) == "MALFORMED"


def test_header_without_es256_is_a_bad_signature(pki: TestPki) -> None:
    assert _code(pki, b"e30.e30.AAAA") == "BAD_SIGNATURE"  # header {}: no alg


def test_fingerprint_must_match_pem(pki: TestPki) -> None:
    doc = pki.document().to_json()
    doc["departments"][0]["certificates"][0]["fingerprint"] = "00" * 32
    with pytest.raises(TrustListError) as err:
        TrustListDocument.from_json(doc)
    assert err.value.code == "MALFORMED"
