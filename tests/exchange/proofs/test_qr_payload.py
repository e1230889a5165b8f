"""The LXP1 verification QR: round trip, size, and every failure a relying party must see."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

import pytest

from exchange.proofs.qr_art import qr_matrix
from exchange.proofs.qr_payload import ProofQrError, key_id, make_proof_qr, parse_proof_qr
from testkit.pki import build_pki
from testkit.proof_samples import ISSUED_AT, proof_pki, real_estate_none, with_qr
from verifier.proof import verify_proof_qr
from verifier.result import Code


def _qr(dept_id: str = "cs-bdc", **kw: object) -> str:
    dept = proof_pki().departments[dept_id]
    return with_qr(real_estate_none(), dept, str(kw.get("proof_id", "BDC-2024-1121-000124"))).qr_text


def test_round_trip_claims() -> None:
    dept = proof_pki().departments["cs-bdc"]
    doc = real_estate_none()
    claims = parse_proof_qr(_qr())
    assert claims.proof_id == "BDC-2024-1121-000124"
    assert claims.proof_type == "real_estate_record"
    assert claims.department_id == "cs-bdc"
    assert claims.issued_at == ISSUED_AT
    assert claims.kid == key_id(dept.seal_cert)
    assert claims.matches_data(doc.canonical_data())


def test_valid_qr_verifies_offline() -> None:
    doc = real_estate_none()
    result = verify_proof_qr(_qr(), proof_pki().trust_list, canonical_data=doc.canonical_data())
    assert result.valid, result.verdict
    assert result.details["department"]["name"] == "长沙市不动产登记中心"


def test_qr_is_alphanumeric_and_small() -> None:
    text = _qr()
    m = qr_matrix(text)
    assert m.mode == "alphanumeric"
    assert m.version <= 10, (len(text), m.version)


def test_url_form_verifies() -> None:
    dept = proof_pki().departments["cs-bdc"]
    doc = real_estate_none()
    url = make_proof_qr(
        proof_id="P1", proof_type="real_estate_record", department_id=dept.id, issued_at=ISSUED_AT,
        canonical_data=doc.canonical_data(), key=dept.seal_key, cert=dept.seal_cert,
        base_url="https://licex.example/",
    )  # fmt: skip
    assert url.startswith("https://licex.example/v/P1#LXP1.")
    assert verify_proof_qr(url, proof_pki().trust_list).valid


def test_changed_data_is_tampered() -> None:
    other = real_estate_none().canonical_data().replace("张三".encode(), "李四".encode())
    result = verify_proof_qr(_qr(), proof_pki().trust_list, canonical_data=other)
    assert result.codes == (Code.TAMPERED,)


def test_changed_claims_break_the_signature() -> None:
    prefix, claims, binary, sig = _qr().split(".")
    raw = base64.b32decode(claims + "=" * (-len(claims) % 8)).replace(b"000124", b"000999")
    forged = ".".join([prefix, base64.b32encode(raw).decode().rstrip("="), binary, sig])
    result = verify_proof_qr(forged, proof_pki().trust_list)
    assert result.codes == (Code.BAD_SIGNATURE,)


def test_signed_by_another_departments_key_is_unknown_issuer() -> None:
    pki = proof_pki()
    gjj = pki.departments["cs-gjj"]
    # Claims department cs-bdc but signed (and key-id'd) by cs-gjj's seal.
    text = make_proof_qr(
        proof_id="P2", proof_type="real_estate_record", department_id="cs-bdc", issued_at=ISSUED_AT,
        canonical_data=b"{}", key=gjj.seal_key, cert=gjj.seal_cert,
    )  # fmt: skip
    assert verify_proof_qr(text, pki.trust_list).codes == (Code.UNKNOWN_ISSUER,)


def test_unrelated_pki_is_unknown_issuer() -> None:
    other = build_pki(
        departments=[("cs-bdc", "长沙市不动产登记中心", "12430100MB1234567X")], may_issue={"cs-bdc": ()}
    )
    dept = other.departments["cs-bdc"]
    text = make_proof_qr(
        proof_id="P3", proof_type="real_estate_record", department_id="cs-bdc", issued_at=ISSUED_AT,
        canonical_data=b"{}", key=dept.seal_key, cert=dept.seal_cert,
    )  # fmt: skip
    assert verify_proof_qr(text, proof_pki().trust_list).codes == (Code.UNKNOWN_ISSUER,)


def test_revoked_and_expired() -> None:
    pki = proof_pki()
    seal = pki.departments["cs-bdc"].seal_cert
    assert verify_proof_qr(_qr(), pki.trust_list_with(revoked=[seal])).codes == (Code.REVOKED,)
    later = seal.not_valid_after_utc + timedelta(days=1)
    assert verify_proof_qr(_qr(), pki.trust_list, now=later).codes == (Code.EXPIRED,)


@pytest.mark.parametrize(
    "text",
    ["", "hello", "LXP1.AAAA.BBBB", "LXP1.a.b.c", "LXP2.AAAA.AAAA.AAAA", "LXP1." + "A" * 2000],
)
def test_malformed(text: str) -> None:
    with pytest.raises(ProofQrError):
        parse_proof_qr(text)
    assert verify_proof_qr(text, proof_pki().trust_list).codes == (Code.MALFORMED,)


def test_naive_datetime_is_refused() -> None:
    dept = proof_pki().departments["cs-bdc"]
    with pytest.raises(ValueError, match="timezone"):
        make_proof_qr(
            proof_id="P", proof_type="t", department_id=dept.id, issued_at=datetime(2024, 1, 1),
            canonical_data=b"", key=dept.seal_key, cert=dept.seal_cert,
        )  # fmt: skip


def test_url_form_puts_the_token_in_an_alphanumeric_segment() -> None:
    import segno
    import zxingcpp
    from PIL import Image

    from exchange.proofs.qr_art import segments

    token = _qr()
    url = f"http://127.0.0.1:8000/v/CS-BDC-20261121-K7M2Q9XF4-8#{token}"
    m = qr_matrix(url)
    assert m.mode == "byte+alphanumeric"
    assert m.version < int(segno.make_qr(url, error="m", boost_error=False).version)  # smaller than byte alone
    assert segments(token) == token  # the bare token stays one alphanumeric segment
    assert segments("http://x/v/ab#short") == "http://x/v/ab#short"
    # the runs are the symbol's dark modules and the symbol reads back as the URL
    scale, border = 4, 4
    side = (m.size + 2 * border) * scale
    image = Image.new("L", (side, side), 255)
    for r, c, n in m.runs:
        image.paste(0, ((c + border) * scale, (r + border) * scale, (c + n + border) * scale, (r + 1 + border) * scale))
    assert [b.text for b in zxingcpp.read_barcodes(image)] == [url]
