"""PAdES sealing of rendered proofs with a department's seal certificate (pyHanko).

:class:`PdfSealer` is built once per department and kept: it holds the private key already parsed (pyHanko's
``SimpleSigner`` re-parses the DER key on every signature) and a fixed ``bytes_reserved`` so pyHanko skips the
dry-run signature it otherwise makes to size the /Contents hole. Signatures are PAdES B-B
(``/ETSI.CAdES.detached``, ecdsa-with-SHA256 over P-256); with a pyHanko ``TimeStamper`` they are B-T.

Without a time-stamper the signature is written by :class:`~exchange.proofs.pades.IncrementalSealer` (the
same update and signed attributes as pyHanko's, without re-parsing the PDF or re-encoding the certificates);
PDFs it does not handle (more than one revision, a form already there, cross-reference streams) and B-T
signatures go through pyHanko.

The seal's look is drawn in the page content by :mod:`exchange.proofs.seal_art`; the signature field
here is invisible. PDF work is CPU-bound: call :meth:`PdfSealer.seal` from a worker process or thread,
not an event loop (it runs pyHanko's coroutine with ``asyncio.run``); inside a loop use
:meth:`PdfSealer.seal_async`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
from collections.abc import Sequence

from asn1crypto import algos
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .pades import IncrementalSealer, NotSimplePdf

DEFAULT_FIELD = "Seal1"
DEFAULT_REASON = "电子证明专用章"
DEFAULT_LOCATION = "长沙市"

_HASHES: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


class SealingError(RuntimeError):
    code = "SEALING_FAILED"


def to_asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class LoadedKeySigner(signers.SimpleSigner):
    """A ``SimpleSigner`` whose ECDSA key stays parsed between signatures."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        cert: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
    ) -> None:
        der = key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        super().__init__(
            signing_cert=to_asn1_cert(cert),
            signing_key=asn1_keys.PrivateKeyInfo.load(der),
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [to_asn1_cert(c) for c in chain]
            ),
        )
        self._key = key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        algo = _HASHES.get(digest_algorithm.lower())
        if algo is None:
            raise SealingError(f"unsupported digest {digest_algorithm}")
        return self._key.sign(data, ec.ECDSA(algo))

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        return self.sign_raw(data, digest_algorithm)


def estimate_bytes_reserved(
    cert: x509.Certificate, chain: Sequence[x509.Certificate], *, timestamped: bool
) -> int:
    """Bytes for the CMS blob: certificates + signed attributes + ECDSA signature, with headroom.

    An ECDSA P-256 signature is at most 72 bytes DER; PAdES signed attributes (content type, message digest,
    signing-certificate-v2, CMS algorithm protection) are < 400 bytes; a time-stamp token carries the TSA's
    own certificate chain and signature (< 6 KB for ours). Unused space is zero-padded, so headroom is cheap.
    """
    certs = sum(len(c.public_bytes(serialization.Encoding.DER)) for c in (cert, *chain))
    size = certs + 2048
    if timestamped:
        size += 6144
    return (size + 1023) // 1024 * 1024


class ExternalKeySigner(signers.Signer):
    """A pyHanko signer for a key that cannot be exported (a PKCS#11 token key): only ``key.sign`` is used."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate,
                 chain: Sequence[x509.Certificate] = ()) -> None:
        super().__init__(
            signing_cert=to_asn1_cert(cert),
            cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                [to_asn1_cert(c) for c in chain]
            ),
            signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
        )
        self._key = key

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm.lower() != "sha256":
            raise SealingError(f"token keys sign with SHA-256 only, not {digest_algorithm}")
        return self._key.sign(data, ec.ECDSA(hashes.SHA256()))


def _exportable(key: ec.EllipticCurvePrivateKey) -> bool:
    try:
        key.private_numbers()
    except Exception:  # a hardware key refuses (schemas.hsm.TokenKey raises HsmError NOT_EXTRACTABLE)
        return False
    return True


class PdfSealer:
    """Seals PDFs for one department. Build once (per process) and reuse."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        cert: x509.Certificate,
        chain: Sequence[x509.Certificate] = (),
        *,
        field_name: str = DEFAULT_FIELD,
        timestamper: TimeStamper | None = None,
        bytes_reserved: int | None = None,
    ) -> None:
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise SealingError("seal keys are ES256 (P-256)")
        if key.public_key().public_numbers() != _public_numbers(cert):
            raise SealingError("the private key does not belong to the seal certificate")
        self.cert = cert
        self.chain = tuple(chain)
        self.field_name = field_name
        self.timestamper = timestamper
        self.signer: signers.Signer = (LoadedKeySigner(key, cert, self.chain) if _exportable(key)
                                       else ExternalKeySigner(key, cert, self.chain))
        self.bytes_reserved = bytes_reserved or estimate_bytes_reserved(
            cert, self.chain, timestamped=timestamper is not None
        )
        self._incremental = (None if timestamper is not None else IncrementalSealer(
            key, cert, self.chain, field_name=field_name, bytes_reserved=self.bytes_reserved))

    @classmethod
    def from_pem(
        cls,
        key_pem: bytes,
        passphrase: bytes | None,
        cert_pem: bytes,
        chain_pem: bytes = b"",
        **kwargs: object,
    ) -> PdfSealer:
        key = serialization.load_pem_private_key(key_pem, passphrase)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise SealingError("seal keys are ES256 (P-256)")
        cert = x509.load_pem_x509_certificate(cert_pem)
        chain = x509.load_pem_x509_certificates(chain_pem) if chain_pem.strip() else []
        return cls(key, cert, chain, **kwargs)  # type: ignore[arg-type]

    def _pdf_signer(self, reason: str, location: str, contact: str | None) -> signers.PdfSigner:
        meta = signers.PdfSignatureMetadata(
            field_name=self.field_name,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
            contact_info=contact,
        )
        return signers.PdfSigner(
            meta,
            self.signer,
            timestamper=self.timestamper,
            new_field_spec=fields.SigFieldSpec(sig_field_name=self.field_name),
        )

    def _writer(self, pdf_bytes: bytes) -> IncrementalPdfFileWriter:
        try:
            return IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
        except (PdfReadError, ValueError) as exc:
            raise SealingError("input is not a readable PDF") from exc

    def seal(
        self,
        pdf_bytes: bytes,
        *,
        reason: str = DEFAULT_REASON,
        location: str = DEFAULT_LOCATION,
        contact: str | None = None,
    ) -> bytes:
        """Return ``pdf_bytes`` with a PAdES signature appended as an incremental update.

        Safe to call from a thread that already runs an event loop (the coroutine then runs on a helper thread)."""
        if self._incremental is not None:
            try:
                return self._incremental.seal(pdf_bytes, reason=reason, location=location, contact=contact)
            except NotSimplePdf:
                pass  # pyHanko reads anything

        def run() -> bytes:
            return asyncio.run(self.seal_async(pdf_bytes, reason=reason, location=location, contact=contact))

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return run()
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(run).result()

    async def seal_async(
        self,
        pdf_bytes: bytes,
        *,
        reason: str = DEFAULT_REASON,
        location: str = DEFAULT_LOCATION,
        contact: str | None = None,
    ) -> bytes:
        """Seal with pyHanko (the only path for time-stamped seals and for PDFs the fast writer refuses)."""
        out = io.BytesIO()
        await self._pdf_signer(reason, location, contact).async_sign_pdf(
            self._writer(pdf_bytes), bytes_reserved=self.bytes_reserved, output=out
        )
        return out.getvalue()


def _public_numbers(cert: x509.Certificate) -> ec.EllipticCurvePublicNumbers:
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise SealingError("the seal certificate does not hold an EC key")
    return public.public_numbers()
