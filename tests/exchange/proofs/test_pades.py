"""The direct PAdES writer (exchange.proofs.pades) against pyHanko: same signed attributes and CMS layout, a
single appended revision that pyHanko validates as covering the whole file, and a pyHanko fallback for PDFs
it does not handle (a second seal on an already sealed PDF)."""

from __future__ import annotations

import asyncio
import io
import re

import pytest
from asn1crypto import cms
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from exchange.proofs.pades import IncrementalSealer, NotSimplePdf, SimplePdf, der
from exchange.proofs.render import render_proof_pdf
from exchange.proofs.sealing import PdfSealer, to_asn1_cert
from testkit.proof_samples import proof_pki, real_estate_with_property, sealed


def _sealer() -> PdfSealer:
    pki = proof_pki()
    dept = pki.departments["cs-bdc"]
    return PdfSealer(dept.seal_key, dept.seal_cert, [pki.root_cert])


def _cms(pdf: bytes) -> cms.SignedData:
    contents = re.findall(rb"/Contents <([0-9A-Fa-f]+)>", pdf)[-1]
    # the DER length says where the CMS ends; the zero padding after it is ignored (a CMS may itself end in 0x00)
    info = cms.ContentInfo.load(bytes.fromhex(contents.decode()), strict=False)
    assert info["content_type"].native == "signed_data"
    return info["content"]


def _validate(pdf: bytes) -> list[object]:
    roots = [to_asn1_cert(proof_pki().root_cert)]
    reader = PdfFileReader(io.BytesIO(pdf), strict=True)
    return [validate_pdf_signature(s, ValidationContext(trust_roots=roots, allow_fetching=False))
            for s in reader.embedded_signatures]


def test_der_lengths() -> None:
    assert der(0x04, b"x" * 5) == b"\x04\x05" + b"x" * 5
    assert der(0x04, b"x" * 200)[:3] == b"\x04\x81\xc8"
    assert der(0x04, b"x" * 300)[:4] == b"\x04\x82\x01\x2c"


def test_same_cms_as_pyhanko_and_valid_over_the_whole_file() -> None:
    sealer = _sealer()
    unsigned = render_proof_pdf(real_estate_with_property())
    fast = sealer.seal(unsigned, reason="电子证明专用章", location="长沙市")
    reference = asyncio.run(sealer.seal_async(unsigned, reason="电子证明专用章", location="长沙市"))
    assert fast.startswith(unsigned) and reference.startswith(unsigned)
    assert b"pyHanko" not in fast[len(unsigned):] and b"pyHanko" in reference[len(unsigned):]

    ours, theirs = _cms(fast), _cms(reference)
    assert ours["version"].native == theirs["version"].native
    assert ours["digest_algorithms"].dump() == theirs["digest_algorithms"].dump()
    assert ours["encap_content_info"].dump() == theirs["encap_content_info"].dump()
    assert {c.dump() for c in ours["certificates"]} == {c.dump() for c in theirs["certificates"]}
    (mine,), (ref,) = ours["signer_infos"], theirs["signer_infos"]
    for part in ("version", "sid", "digest_algorithm", "signature_algorithm", "unsigned_attrs"):
        assert mine[part].dump() == ref[part].dump(), part
    # pyHanko's own signed attributes for OUR message digest are byte for byte ours
    digest = next(a["values"][0].native for a in mine["signed_attrs"] if a["type"].native == "message_digest")
    expected = asyncio.run(sealer.signer.signed_attrs(digest, "sha256", use_pades=True))
    assert mine["signed_attrs"].contents == expected.contents  # (ours carries the [0] IMPLICIT tag)

    (status,) = _validate(fast)
    assert status.intact and status.valid and status.trusted  # type: ignore[attr-defined]
    assert status.coverage.name == "ENTIRE_FILE"  # type: ignore[attr-defined]
    assert status.signer_reported_dt is not None  # type: ignore[attr-defined]


def test_a_second_seal_goes_through_pyhanko() -> None:
    sealer = _sealer()
    once = sealed("real_estate_none").pdf
    with pytest.raises(NotSimplePdf):
        SimplePdf(once)  # an updated file: /Prev in the trailer
    assert sealer._incremental is not None
    with pytest.raises(NotSimplePdf):
        sealer._incremental.seal(once, reason="r", location="l")
    sealer2 = PdfSealer(proof_pki().departments["cs-bdc"].seal_key, proof_pki().departments["cs-bdc"].seal_cert,
                        [proof_pki().root_cert], field_name="Seal2")
    twice = sealer2.seal(once)
    statuses = _validate(twice)
    assert len(statuses) == 2 and all(s.intact and s.valid for s in statuses)  # type: ignore[attr-defined]


def test_refuses_what_it_cannot_write() -> None:
    unsigned = render_proof_pdf(real_estate_with_property())
    dept = proof_pki().departments["cs-bdc"]
    writer = IncrementalSealer(dept.seal_key, dept.seal_cert, [], field_name="Seal1", bytes_reserved=256)
    with pytest.raises(ValueError, match="reserved"):  # the CMS does not fit: never a truncated signature
        writer.seal(unsigned, reason="r", location="l")
    for broken in (unsigned[:-40], unsigned.replace(b"startxref", b"startxref\n0\n%%EOF\n", 1)[:200],
                   b"%PDF-1.7\n%%EOF\n"):
        with pytest.raises(NotSimplePdf):
            SimplePdf(broken)
