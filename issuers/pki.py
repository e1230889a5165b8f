"""The city's X.509 hierarchy: one root CA, per-department leaf certificates (ES256 / P-256 everywhere).

Layout of a leaf certificate's subject (stable, parsed by :func:`certificate_department_id` and
:func:`certificate_uscc`)::

    C=CN, O=<organisation name>, OU=<department id>, 2.5.4.97 organizationIdentifier=<USCC>, CN=<common name>

Uses and their extensions:

============  ===========================================  ==========================================
use           keyUsage (critical)                          extendedKeyUsage
============  ===========================================  ==========================================
``licence``   digitalSignature                             licex licence signing (private OID)
``seal``      digitalSignature, nonRepudiation             none (PDF readers reject surprises)
``exchange``  digitalSignature                             licex trust-list signing (private OID)
``client``    digitalSignature                             TLS client authentication
============  ===========================================  ==========================================

The two private EKU OIDs live under the UUID arc ``2.25`` (ITU-T X.667) so no registration is needed.
The trust-list verifier requires :data:`EKU_TRUST_LIST_SIGNING` on the trust list's signer, so a
department's licence key (which also chains to the root) cannot sign a forged trust list.

Private keys are encrypted at rest with PKCS#8 ``BestAvailableEncryption`` and written with mode 0600.
In production the root key is kept offline and department keys may live in an HSM (PKCS#11); this module
is the software path.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal, get_args

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "EKU_LICENCE_SIGNING",
    "EKU_TRUST_LIST_SIGNING",
    "CertificateUse",
    "PkiError",
    "cert_fingerprint",
    "cert_from_der",
    "cert_from_pem",
    "cert_to_der",
    "cert_to_pem",
    "certificate_department_id",
    "certificate_uscc",
    "certs_from_pem",
    "create_root_ca",
    "generate_key",
    "issue_certificate",
    "load_private_key",
    "private_key_from_pem",
    "private_key_to_pem",
    "save_private_key",
]

CertificateUse = Literal["licence", "seal", "exchange", "client"]
_USES: frozenset[str] = frozenset(get_args(CertificateUse))

#: Extended key usage for licence-signing certificates (``2.25`` + UUID 3f1d2c0e-8b7a-4c55-9e61-0a6d9b1c7e42).
EKU_LICENCE_SIGNING = x509.ObjectIdentifier("2.25.83892833921730311661764917246891425346")
#: Extended key usage for the exchange's trust-list signing certificate
#: (``2.25`` + UUID 7a9e4b12-5c3d-4f8e-a1b2-6c7d8e9f0a1b).
EKU_TRUST_LIST_SIGNING = x509.ObjectIdentifier("2.25.162987721024782179468213690845401909787")

_CURVE = ec.SECP256R1()
_DEFAULT_ROOT_ORG = "长沙市数据资源管理局"


class PkiError(ValueError):
    """Bad input to a PKI helper (wrong key type, bad use, undecodable PEM, wrong passphrase)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


# --------------------------------------------------------------------------- keys


def generate_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 private key."""
    return ec.generate_private_key(_CURVE)


def _require_p256(key: object) -> ec.EllipticCurvePrivateKey:
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise PkiError("BAD_KEY", "expected a P-256 (secp256r1) private key")
    return key


def save_private_key(
    key: ec.EllipticCurvePrivateKey, path: str | os.PathLike[str], passphrase: bytes
) -> None:
    """Write ``key`` as passphrase-encrypted PKCS#8 PEM; the file is created (or truncated) with mode 0600."""
    _require_p256(key)
    if not passphrase:
        raise PkiError("NO_PASSPHRASE", "refusing to write a private key without a passphrase")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )
    target = Path(path)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to an existing file
        os.write(fd, pem)
    finally:
        os.close(fd)


def load_private_key(path: str | os.PathLike[str], passphrase: bytes) -> ec.EllipticCurvePrivateKey:
    """Read a key written by :func:`save_private_key`."""
    return private_key_from_pem(Path(path).read_bytes(), passphrase)


def private_key_to_pem(key: ec.EllipticCurvePrivateKey, passphrase: bytes) -> bytes:
    """Encrypted PKCS#8 PEM of ``key`` (for keystores that are not plain files)."""
    _require_p256(key)
    if not passphrase:
        raise PkiError("NO_PASSPHRASE", "refusing to export a private key without a passphrase")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


def private_key_from_pem(pem: bytes, passphrase: bytes | None) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except (ValueError, TypeError) as exc:
        raise PkiError("BAD_KEY_FILE", "cannot decrypt or decode the private key") from exc
    return _require_p256(key)


# --------------------------------------------------------------------------- certificates


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise PkiError("NAIVE_DATETIME", "pass a timezone-aware datetime")
    return now.astimezone(UTC)


def create_root_ca(
    common_name: str = "长沙市电子证照根CA",
    org: str = _DEFAULT_ROOT_ORG,
    *,
    years: int = 20,
    key: ec.EllipticCurvePrivateKey | None = None,
    now: datetime | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed city root: CA, pathLen 0 (it signs leaves only), keyCertSign + cRLSign."""
    if years < 1:
        raise PkiError("BAD_VALIDITY", "years must be >= 1")
    key = _require_p256(key) if key is not None else generate_key()
    start = _now(now) - timedelta(minutes=5)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue_certificate(
    root_key: ec.EllipticCurvePrivateKey,
    root_cert: x509.Certificate,
    *,
    subject_cn: str,
    org: str,
    department_id: str,
    uscc: str,
    use: CertificateUse,
    days: int = 825,
    key: ec.EllipticCurvePrivateKey | None = None,
    now: datetime | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """Issue a department (or exchange) leaf certificate under the root. Validity is clipped to the root's."""
    if use not in _USES:
        raise PkiError("BAD_USE", f"use must be one of {sorted(_USES)}, not {use!r}")
    if days < 1:
        raise PkiError("BAD_VALIDITY", "days must be >= 1")
    if not department_id or not uscc:
        raise PkiError("BAD_SUBJECT", "department_id and uscc are required")
    _require_p256(root_key)
    if root_key.public_key().public_numbers() != _root_public_numbers(root_cert):
        raise PkiError("KEY_MISMATCH", "root_key does not belong to root_cert")
    key = _require_p256(key) if key is not None else generate_key()
    cert = certify_public_key(root_key, root_cert, key.public_key(), subject_cn=subject_cn, org=org,
                              department_id=department_id, uscc=uscc, use=use, days=days, now=now)
    return key, cert


def certify_public_key(
    root_key: ec.EllipticCurvePrivateKey,
    root_cert: x509.Certificate,
    public: ec.EllipticCurvePublicKey,
    *,
    subject_cn: str,
    org: str,
    department_id: str,
    uscc: str,
    use: CertificateUse,
    days: int = 825,
    now: datetime | None = None,
) -> x509.Certificate:
    """The leaf certificate of profile ``use`` for a public key (e.g. from a CSR: the private key stays with
    its owner). Validity is clipped to the root's."""
    if use not in _USES:
        raise PkiError("BAD_USE", f"use must be one of {sorted(_USES)}, not {use!r}")
    if days < 1:
        raise PkiError("BAD_VALIDITY", "days must be >= 1")
    if not department_id or not uscc:
        raise PkiError("BAD_SUBJECT", "department_id and uscc are required")
    if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(public.curve, ec.SECP256R1):
        raise PkiError("BAD_KEY", "only P-256 keys are certified")
    _require_p256(root_key)
    if root_key.public_key().public_numbers() != _root_public_numbers(root_cert):
        raise PkiError("KEY_MISMATCH", "root_key does not belong to root_cert")
    start = max(_now(now) - timedelta(minutes=5), root_cert.not_valid_before_utc)
    end = min(start + timedelta(days=days), root_cert.not_valid_after_utc)
    if end <= start:
        raise PkiError("BAD_VALIDITY", "the root certificate has expired")

    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, department_id),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, uscc),
            x509.NameAttribute(NameOID.COMMON_NAME, subject_cn),
        ]
    )
    root_ski = root_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=use == "seal",
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), critical=False
        )
    )
    eku = {
        "licence": [EKU_LICENCE_SIGNING],
        "exchange": [EKU_TRUST_LIST_SIGNING],
        "client": [ExtendedKeyUsageOID.CLIENT_AUTH],
        "seal": [],
    }[use]
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return builder.sign(root_key, hashes.SHA256())


def _root_public_numbers(cert: x509.Certificate) -> ec.EllipticCurvePublicNumbers:
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise PkiError("BAD_KEY", "root certificate does not hold an EC key")
    return public.public_numbers()


def certificate_department_id(cert: x509.Certificate) -> str | None:
    """The department id carried in the subject's OU, or ``None``."""
    values = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    return str(values[0].value) if values else None


def certificate_uscc(cert: x509.Certificate) -> str | None:
    """The USCC carried in the subject's organizationIdentifier, or ``None``."""
    values = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)
    return str(values[0].value) if values else None


# --------------------------------------------------------------------------- encodings


def cert_fingerprint(cert: x509.Certificate) -> str:
    """Lower-case hex SHA-256 of the certificate's DER encoding."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def cert_to_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def cert_to_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def cert_from_pem(pem: str | bytes) -> x509.Certificate:
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise PkiError("BAD_CERTIFICATE", "cannot decode PEM certificate") from exc


def cert_from_der(der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise PkiError("BAD_CERTIFICATE", "cannot decode DER certificate") from exc


def certs_from_pem(pem: str | bytes) -> list[x509.Certificate]:
    """All certificates of a PEM bundle, in order."""
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise PkiError("BAD_CERTIFICATE", "cannot decode PEM bundle") from exc
