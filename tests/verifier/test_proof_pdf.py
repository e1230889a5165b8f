"""Sealed proof PDFs checked three ways: poppler's pdfsig (with the root in an NSS db), pyHanko, and
verifier.proof.verify_proof_pdf — on real PDFs, tampered ones and ones sealed outside the city's PKI."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from exchange.proofs.render import render_proof_pdf
from exchange.proofs.sealing import PdfSealer, to_asn1_cert
from issuers.pki import cert_to_pem
from testkit.pki import build_pki
from testkit.proof_samples import SAMPLES, proof_pki, real_estate_none, sealed, with_qr
from verifier.proof import MAX_PDF_BYTES, verify_proof_pdf
from verifier.result import Code

needs_pdfsig = pytest.mark.skipif(
    shutil.which("pdfsig") is None or shutil.which("certutil") is None,
    reason="pdfsig (poppler-utils) or certutil (libnss3-tools) is not installed",
)


@pytest.fixture(scope="module")
def nss_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    if shutil.which("certutil") is None:
        pytest.skip("certutil (libnss3-tools) is not installed")
    d = tmp_path_factory.mktemp("nss")
    (d / "root.pem").write_text(cert_to_pem(proof_pki().root_cert))
    subprocess.run(["certutil", "-N", "--empty-password", "-d", f"sql:{d}"], check=True, capture_output=True)
    subprocess.run(
        ["certutil", "-d", f"sql:{d}", "-A", "-t", "CT,C,C", "-n", "root", "-i", str(d / "root.pem")],
        check=True,
        capture_output=True,
    )
    return f"sql:{d}"


def _pdfsig(pdf: bytes, tmp_path: Path, nssdir: str | None = None) -> str:
    path = tmp_path / "proof.pdf"
    path.write_bytes(pdf)
    cmd = ["pdfsig", *(["-nssdir", nssdir] if nssdir else []), str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # pdfsig exits 0 regardless
    return proc.stdout + proc.stderr


@needs_pdfsig
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_pdfsig_valid_and_trusted(name: str, tmp_path: Path, nss_db: str) -> None:
    pdf = sealed(name).pdf
    without_root = _pdfsig(pdf, tmp_path)
    assert "Signature is Valid." in without_root
    assert "Certificate is Trusted." not in without_root
    out = _pdfsig(pdf, tmp_path, nss_db)
    assert "Signature is Valid." in out, out
    assert "Certificate is Trusted." in out, out
    assert "ETSI.CAdES.detached" in out
    assert "Total document signed" in out
    assert "Signature Field Name: Seal1" in out


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_pyhanko_and_verifier_agree(name: str) -> None:
    proof = sealed(name)
    pki = proof_pki()
    reader = PdfFileReader(io.BytesIO(proof.pdf))
    (sig,) = reader.embedded_signatures
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[to_asn1_cert(pki.root_cert)]))
    assert status.bottom_line, status.summary()
    assert status.md_algorithm == "sha256"
    assert status.pkcs7_signature_mechanism == "sha256_ecdsa"

    result = verify_proof_pdf(proof.pdf, pki.trust_list)
    assert result.valid, result.verdict
    assert result.codes == ()
    assert result.issuer == proof.department.name
    assert result.details["department"]["id"] == proof.department.id
    assert result.details["coverage"] == "ENTIRE_FILE"
    signer = x509.load_der_x509_certificate(status.signing_cert.dump())
    assert result.details["cert_fingerprint"] == signer.fingerprint(hashes.SHA256()).hex()
    assert result.details["qr_claims"]["proof_id"] == proof.doc.number
    assert result.subject == proof.doc.number


@needs_pdfsig
def test_one_byte_changed_is_tampered(tmp_path: Path) -> None:
    pdf = sealed("real_estate_none").pdf
    i = pdf.index(b"(licex)")  # /Creator in the signed revision's /Info
    tampered = pdf[: i + 1] + b"L" + pdf[i + 2 :]
    assert len(tampered) == len(pdf)
    result = verify_proof_pdf(tampered, proof_pki().trust_list)
    assert result.codes == (Code.TAMPERED,), result.verdict
    assert "Digest Mismatch." in _pdfsig(tampered, tmp_path)


def test_byte_changed_in_page_content_is_tampered() -> None:
    pdf = sealed("housing_fund").pdf
    i = pdf.index(b"stream", len(pdf) // 4) + 40  # inside a compressed stream of the signed revision
    tampered = pdf[:i] + bytes([pdf[i] ^ 0x01]) + pdf[i + 1 :]
    result = verify_proof_pdf(tampered, proof_pki().trust_list)
    assert not result.valid
    assert Code.TAMPERED in result.codes


def test_annotation_added_after_sealing_is_tampered() -> None:
    from pyhanko.pdf_utils import generic

    pdf = sealed("real_estate_none").pdf
    w = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref = w.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    annot = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Annot"),
            generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
            generic.NameObject("/Rect"): generic.ArrayObject(
                [generic.FloatObject(v) for v in (60, 400, 400, 430)]
            ),
            generic.NameObject("/Contents"): generic.TextStringObject("张三名下有不动产登记记录"),
            generic.NameObject("/DA"): generic.TextStringObject("/Helv 12 Tf 0 g"),
        }
    )
    annots = page.get("/Annots", generic.ArrayObject())
    annots.append(w.add_object(annot))
    page[generic.NameObject("/Annots")] = annots
    w.update_container(page)
    out = io.BytesIO()
    w.write(out)
    result = verify_proof_pdf(out.getvalue(), proof_pki().trust_list)
    assert result.codes == (Code.TAMPERED,), result.verdict
    assert result.details["coverage"] == "ENTIRE_REVISION"


def test_sealed_under_an_unrelated_root_is_unknown_issuer() -> None:
    other = build_pki(
        departments=[("cs-bdc", "长沙市不动产登记中心", "12430100MB1234567X")], may_issue={"cs-bdc": ()}
    )
    dept = other.departments["cs-bdc"]
    doc = with_qr(real_estate_none(), dept, "X-1")
    pdf = PdfSealer(dept.seal_key, dept.seal_cert, [other.root_cert]).seal(render_proof_pdf(doc))
    result = verify_proof_pdf(pdf, proof_pki().trust_list)
    assert result.codes == (Code.UNKNOWN_ISSUER,), result.verdict


def test_seal_certificate_not_in_the_trust_list_is_unknown_issuer() -> None:
    from issuers.pki import issue_certificate

    pki = proof_pki()
    dept = pki.departments["cs-bdc"]
    # Chains to the city root, but the trust list does not list it for the department's seal.
    key, cert = issue_certificate(
        pki.root_key, pki.root_cert, subject_cn="不动产 非印章", org=dept.name, department_id=dept.id,
        uscc=dept.uscc, use="seal", days=30, now=pki.now - timedelta(hours=1),
    )  # fmt: skip
    pdf = PdfSealer(key, cert, [pki.root_cert]).seal(render_proof_pdf(real_estate_none()))
    result = verify_proof_pdf(pdf, pki.trust_list)
    assert result.codes == (Code.UNKNOWN_ISSUER,), result.verdict


def test_revoked_seal_certificate() -> None:
    pki = proof_pki()
    proof = sealed("real_estate_none")
    trust = pki.trust_list_with(revoked=[proof.department.seal_cert])
    result = verify_proof_pdf(proof.pdf, trust)
    assert result.codes == (Code.REVOKED,), result.verdict


def test_expired_seal_certificate() -> None:
    pki = proof_pki()
    proof = sealed("housing_fund")
    later = proof.department.seal_cert.not_valid_after_utc + timedelta(days=1)
    result = verify_proof_pdf(proof.pdf, pki.trust_list, now=later)
    assert result.codes == (Code.EXPIRED,), result.verdict


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, not a pdf", b"%PDF-1.7\n%broken\n", b"\x89PNG\r\n\x1a\n" + bytes(100)],
)
def test_not_a_pdf_is_malformed(data: bytes) -> None:
    result = verify_proof_pdf(data, proof_pki().trust_list)
    assert result.codes == (Code.MALFORMED,), result.verdict


def test_unsealed_pdf_is_malformed() -> None:
    result = verify_proof_pdf(render_proof_pdf(real_estate_none()), proof_pki().trust_list)
    assert result.codes == (Code.MALFORMED,)
    assert "no seal" in result.verdict


def test_oversized_input_is_malformed() -> None:
    result = verify_proof_pdf(b"%PDF-1.7\n" + bytes(MAX_PDF_BYTES), proof_pki().trust_list)
    assert result.codes == (Code.MALFORMED,)
