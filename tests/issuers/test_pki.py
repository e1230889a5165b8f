"""issuers.pki: certificate profile, key encryption at rest, encodings; the seal certificate signs a PDF
that pyHanko validates against the city root."""

from __future__ import annotations

import hashlib
import io
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from issuers.pki import (
    EKU_LICENCE_SIGNING,
    EKU_TRUST_LIST_SIGNING,
    PkiError,
    cert_fingerprint,
    cert_from_der,
    cert_from_pem,
    cert_to_der,
    cert_to_pem,
    certificate_department_id,
    certificate_uscc,
    certs_from_pem,
    create_root_ca,
    generate_key,
    issue_certificate,
    load_private_key,
    private_key_from_pem,
    private_key_to_pem,
    save_private_key,
)
from verifier import trust as verifier_trust

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def root() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    return create_root_ca(now=NOW)


def _leaf(
    root: tuple[ec.EllipticCurvePrivateKey, x509.Certificate], use: str, days: int = 825
) -> x509.Certificate:
    return issue_certificate(
        root[0],
        root[1],
        subject_cn="长沙市公安局 电子证照签发",
        org="长沙市公安局",
        department_id="psb",
        uscc="11430100007501019L",
        use=use,  # type: ignore[arg-type]
        days=days,
        now=NOW,
    )[1]


def test_root_is_a_p256_ca_with_path_length_zero(
    root: tuple[ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    _, cert = root
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign
    assert cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert cert.subject == cert.issuer
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "长沙市电子证照根CA"
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc >= timedelta(days=365 * 20)
    cert.verify_directly_issued_by(cert)


@pytest.mark.parametrize(
    ("use", "non_repudiation", "eku"),
    [
        ("licence", False, [EKU_LICENCE_SIGNING]),
        ("seal", True, None),
        ("exchange", False, [EKU_TRUST_LIST_SIGNING]),
        ("client", False, [ExtendedKeyUsageOID.CLIENT_AUTH]),
    ],
)
def test_leaf_profile(
    root: tuple[ec.EllipticCurvePrivateKey, x509.Certificate],
    use: str,
    non_repudiation: bool,
    eku: list[x509.ObjectIdentifier] | None,
) -> None:
    cert = _leaf(root, use)
    cert.verify_directly_issued_by(root[1])
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and not bc.value.ca
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature
    assert ku.value.content_commitment is non_repudiation
    assert not ku.value.key_cert_sign and not ku.value.key_encipherment
    if eku is None:
        with pytest.raises(x509.ExtensionNotFound):
            cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    else:
        assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == eku
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    root_ski = root[1].extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == root_ski.digest
    assert cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert certificate_department_id(cert) == "psb"
    assert certificate_uscc(cert) == "11430100007501019L"
    assert cert.issuer == root[1].subject


def test_verifier_knows_the_trust_list_eku() -> None:
    assert verifier_trust.EKU_TRUST_LIST_SIGNING == EKU_TRUST_LIST_SIGNING


def test_leaf_validity_is_clipped_to_the_root(
    root: tuple[ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    cert = _leaf(root, "licence", days=365 * 50)
    assert cert.not_valid_after_utc == root[1].not_valid_after_utc


def test_issue_rejects_bad_input(root: tuple[ec.EllipticCurvePrivateKey, x509.Certificate]) -> None:
    with pytest.raises(PkiError) as err:
        _leaf(root, "tls")
    assert err.value.code == "BAD_USE"
    other_key, _ = create_root_ca(now=NOW)
    with pytest.raises(PkiError) as err:
        issue_certificate(
            other_key, root[1], subject_cn="x", org="x", department_id="x", uscc="x", use="seal", now=NOW
        )
    assert err.value.code == "KEY_MISMATCH"
    with pytest.raises(PkiError):
        create_root_ca(key=ec.generate_private_key(ec.SECP384R1()))  # type: ignore[arg-type]


def test_private_key_encrypted_at_rest(tmp_path: Path) -> None:
    key = generate_key()
    path = tmp_path / "licence.key"
    save_private_key(key, path, b"correct horse")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_bytes()
    assert b"ENCRYPTED PRIVATE KEY" in text
    with pytest.raises(TypeError):  # cryptography itself refuses to read it without the passphrase
        serialization.load_pem_private_key(text, password=None)
    loaded = load_private_key(path, b"correct horse")
    assert loaded.private_numbers() == key.private_numbers()
    with pytest.raises(PkiError) as err:
        load_private_key(path, b"wrong")
    assert err.value.code == "BAD_KEY_FILE"
    assert isinstance(err.value.__cause__, ValueError)
    with pytest.raises(PkiError):
        save_private_key(key, tmp_path / "plain.key", b"")


def test_save_tightens_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    path.write_bytes(b"old")
    path.chmod(0o644)
    save_private_key(generate_key(), path, b"pw")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_pem_der_roundtrips_and_fingerprint(
    root: tuple[ec.EllipticCurvePrivateKey, x509.Certificate],
) -> None:
    cert = _leaf(root, "seal")
    assert cert_from_pem(cert_to_pem(cert)) == cert
    assert cert_from_der(cert_to_der(cert)) == cert
    assert certs_from_pem(cert_to_pem(cert) + cert_to_pem(root[1])) == [cert, root[1]]
    assert cert_fingerprint(cert) == hashlib.sha256(cert_to_der(cert)).hexdigest()
    key = generate_key()
    assert (
        private_key_from_pem(private_key_to_pem(key, b"pw"), b"pw").private_numbers() == key.private_numbers()
    )
    with pytest.raises(PkiError):
        cert_from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


def _tiny_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    page = canvas.Canvas(buf)
    page.drawString(72, 720, "licex seal test")
    page.save()
    return buf.getvalue()


def test_seal_certificate_signs_a_pdf_that_pyhanko_validates() -> None:
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import signers
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    root_key, root_cert = create_root_ca()
    seal_key, seal_cert = issue_certificate(
        root_key,
        root_cert,
        subject_cn="长沙市不动产登记中心 电子印章",
        org="长沙市不动产登记中心",
        department_id="housing",
        uscc="12430100448701032Y",
        use="seal",
        days=30,
    )
    der = seal_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert_to_der(seal_cert)),
        signing_key=asn1_keys.PrivateKeyInfo.load(der),
        cert_registry=SimpleCertificateStore.from_certs([asn1_x509.Certificate.load(cert_to_der(root_cert))]),
    )
    out = signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(_tiny_pdf())),
        signers.PdfSignatureMetadata(field_name="Seal"),
        signer=signer,
    )
    reader = PdfFileReader(out)
    vc = ValidationContext(trust_roots=[asn1_x509.Certificate.load(cert_to_der(root_cert))])
    status = validate_pdf_signature(reader.embedded_signatures[0], vc)
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.bottom_line
