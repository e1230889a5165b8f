"""The city root CA as an offline tool (``licex ca``), and the certificate requests the other parties make.

A CA directory holds ``root.key`` (encrypted PKCS#8, mode 0600 — it never leaves this directory), ``root.crt``,
``issued/<fingerprint>.crt`` (every certificate it signed), ``revoked.json`` and ``root.crl`` (an X.509 CRL
signed by the root, re-made on every revocation). Requests (PKCS#10 CSRs) carry the subject layout of
:mod:`issuers.pki`: ``O`` organisation, ``OU`` department id, ``organizationIdentifier`` USCC, ``CN``.
Profiles fix key usage, EKU and validity: the requester chooses none of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, get_args

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from issuers import pki
from schemas.identifiers import IdentifierError, validate_uscc

__all__ = ["PROFILE_DAYS", "CaDir", "CaError", "make_csr", "read_csr"]

ROOT_KEY: Final = "root.key"
ROOT_CERT: Final = "root.crt"
ROOT_CRL: Final = "root.crl"
#: validity per profile (days): licence keys 2 years, seals 3, API clients 1, the exchange's signer 2
PROFILE_DAYS: Final = {"licence": 730, "seal": 1095, "client": 365, "exchange": 730}
_REASONS: Final = {
    "keyCompromise": x509.ReasonFlags.key_compromise,
    "superseded": x509.ReasonFlags.superseded,
    "cessationOfOperation": x509.ReasonFlags.cessation_of_operation,
    "unspecified": x509.ReasonFlags.unspecified,
}


class CaError(ValueError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def make_csr(key: ec.EllipticCurvePrivateKey, *, org: str, department_id: str, uscc: str, common_name: str) -> bytes:
    """A PEM PKCS#10 request in the licex subject layout, signed by ``key`` (proof of possession; a PKCS#11 token
    key signs it in the token)."""
    subject = csr_subject(org=org, department_id=department_id, uscc=uscc, common_name=common_name)
    from schemas.hsm import TokenKey, token_csr

    if isinstance(key, TokenKey):
        return token_csr(key, subject)
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def csr_subject(*, org: str, department_id: str, uscc: str, common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, department_id),
        x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, uscc),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


@dataclass(frozen=True)
class Request:
    public_key: ec.EllipticCurvePublicKey
    org: str
    department_id: str
    uscc: str
    common_name: str


def _one(name: x509.Name, oid: x509.ObjectIdentifier, what: str) -> str:
    values = name.get_attributes_for_oid(oid)
    if len(values) != 1 or not str(values[0].value).strip():
        raise CaError("BAD_SUBJECT", f"the request needs exactly one {what}")
    return str(values[0].value).strip()


def read_csr(pem: bytes) -> Request:
    """Parse and check a request: PEM, self-signature valid (the requester holds the key), P-256, subject
    fields present and the USCC's check digit right."""
    if len(pem) > 16_384:
        raise CaError("TOO_LARGE", "a request is at most 16 KiB")
    try:
        csr = x509.load_pem_x509_csr(pem)
    except ValueError as exc:
        raise CaError("MALFORMED", "not a PEM certificate request") from exc
    if not csr.is_signature_valid:
        raise CaError("BAD_SIGNATURE", "the request's signature does not verify")
    public = csr.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(public.curve, ec.SECP256R1):
        raise CaError("BAD_KEY", "only P-256 keys are certified")
    department_id = _one(csr.subject, NameOID.ORGANIZATIONAL_UNIT_NAME, "OU (department id)")
    uscc = _one(csr.subject, NameOID.ORGANIZATION_IDENTIFIER, "organizationIdentifier (USCC)")
    try:
        uscc = validate_uscc(uscc)
    except IdentifierError as exc:
        raise CaError("BAD_USCC", str(exc)) from exc
    if not department_id.replace("-", "").replace("_", "").isalnum() or len(department_id) > 32:
        raise CaError("BAD_SUBJECT", "the department id is 1..32 letters, digits, - or _")
    return Request(public, _one(csr.subject, NameOID.ORGANIZATION_NAME, "O"), department_id, uscc,
                   _one(csr.subject, NameOID.COMMON_NAME, "CN"))


class CaDir:
    """The offline root in a directory. Every operation needs the passphrase of ``root.key``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def root_cert(self) -> x509.Certificate:
        crt = self.path / ROOT_CERT
        if not crt.exists():
            raise CaError("NOT_INITIALISED", f"{self.path} has no {ROOT_CERT}: run `licex ca init` first")
        return pki.cert_from_pem(crt.read_bytes())

    def _root_key(self, passphrase: bytes) -> ec.EllipticCurvePrivateKey:
        try:
            return pki.load_private_key(self.path / ROOT_KEY, passphrase)
        except (ValueError, TypeError) as exc:
            raise CaError("BAD_PASSPHRASE", "cannot open root.key with this passphrase") from exc

    def init(self, passphrase: bytes, *, common_name: str, org: str, years: int = 20) -> x509.Certificate:
        if (self.path / ROOT_KEY).exists():
            raise CaError("EXISTS", f"{self.path} already holds a root key")
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        key, cert = pki.create_root_ca(common_name, org, years=years)
        pki.save_private_key(key, self.path / ROOT_KEY, passphrase)
        (self.path / ROOT_CERT).write_text(pki.cert_to_pem(cert))
        (self.path / "issued").mkdir(exist_ok=True)
        return cert

    def sign(self, csr_pem: bytes, profile: str, passphrase: bytes, *, now: datetime | None = None
             ) -> x509.Certificate:
        if profile not in get_args(pki.CertificateUse):
            raise CaError("BAD_PROFILE", f"profile must be one of {sorted(get_args(pki.CertificateUse))}")
        request = read_csr(csr_pem)
        if (profile == "exchange") != (request.department_id == "exchange"):
            raise CaError("BAD_PROFILE", "the exchange profile is for the request with OU=exchange only")
        key = self._root_key(passphrase)
        cert = pki.certify_public_key(key, self.root_cert, request.public_key, subject_cn=request.common_name,
                                      org=request.org, department_id=request.department_id, uscc=request.uscc,
                                      use=profile, days=PROFILE_DAYS[profile], now=now)  # type: ignore[arg-type]
        issued = self.path / "issued"
        issued.mkdir(exist_ok=True)
        (issued / f"{pki.cert_fingerprint(cert)}.crt").write_text(pki.cert_to_pem(cert))
        return cert

    def revoked(self) -> list[dict[str, str]]:
        path = self.path / "revoked.json"
        entries: list[dict[str, str]] = json.loads(path.read_text()) if path.exists() else []
        return entries

    def revoke(self, cert: x509.Certificate, reason: str, passphrase: bytes, *, now: datetime | None = None) -> bytes:
        """Record the revocation and re-make ``root.crl``; returns the CRL (PEM)."""
        if reason not in _REASONS:
            raise CaError("BAD_REASON", f"reason must be one of {sorted(_REASONS)}")
        root = self.root_cert
        try:
            cert.verify_directly_issued_by(root)
        except Exception as exc:
            raise CaError("NOT_OURS", "this certificate was not issued by this CA") from exc
        key = self._root_key(passphrase)
        moment = (now or datetime.now(UTC)).replace(microsecond=0)
        entries = [e for e in self.revoked() if e["fingerprint"] != pki.cert_fingerprint(cert)]
        entries.append({"fingerprint": pki.cert_fingerprint(cert), "serial": str(cert.serial_number),
                        "revoked_at": moment.isoformat(), "reason": reason})
        builder = (x509.CertificateRevocationListBuilder().issuer_name(root.subject)
                   .last_update(moment).next_update(moment + timedelta(days=7)))
        for entry in entries:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(int(entry["serial"]))
                .revocation_date(datetime.fromisoformat(entry["revoked_at"]))
                .add_extension(x509.CRLReason(_REASONS[entry["reason"]]), critical=False).build())
        crl = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
        (self.path / "revoked.json").write_text(json.dumps(entries, indent=1))
        (self.path / ROOT_CRL).write_bytes(crl)
        return crl
