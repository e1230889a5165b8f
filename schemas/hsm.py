"""P-256 signing keys in a PKCS#11 token (an HSM; SoftHSM2 in tests and CI), via python-pkcs11 — a primitive
both signing sides use (the exchange's keyring, a department's key directory), hence here at the bottom layer.

Configuration from the environment: ``LICEX_PKCS11_MODULE`` (the vendor library, e.g.
``/usr/lib/softhsm/libsofthsm2.so``), ``LICEX_PKCS11_TOKEN`` (token label) and ``LICEX_PKCS11_PIN`` (user PIN;
never logged, never stored). Keys are generated **in** the token with ``CKA_SENSITIVE`` and
``CKA_EXTRACTABLE = false``: the private value never leaves it. :class:`TokenKey` is a ``cryptography``
``EllipticCurvePrivateKey`` whose ``sign`` hashes with SHA-256 and runs ``CKM_ECDSA`` on the digest in the token,
so every signer in licex (SD-JWT licences, the QR, trust and status lists, PAdES seals through
:class:`exchange.proofs.sealing.PdfSealer`) works unchanged; ``private_bytes`` / ``private_numbers`` raise.
Certificate requests for token keys are built with :func:`token_csr` (cryptography's builder needs a software
key).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any, NoReturn

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

__all__ = ["HsmConfig", "HsmError", "Token", "TokenKey", "token_csr"]


class HsmError(RuntimeError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class HsmConfig:
    module: str
    token_label: str
    pin: str

    def __repr__(self) -> str:  # the PIN is a secret
        return f"HsmConfig(module={self.module!r}, token_label={self.token_label!r})"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> HsmConfig | None:
        env = os.environ if environ is None else environ
        module = env.get("LICEX_PKCS11_MODULE")
        if not module:
            return None
        label, pin = env.get("LICEX_PKCS11_TOKEN", ""), env.get("LICEX_PKCS11_PIN", "")
        if not label or not pin:
            raise HsmError("HSM_CONFIG", "LICEX_PKCS11_MODULE needs LICEX_PKCS11_TOKEN and LICEX_PKCS11_PIN")
        return cls(module, label, pin)


_LIBS: dict[str, Any] = {}
_LIBS_LOCK = threading.Lock()


class Token:
    """An open read-write user session on the configured token (one per process)."""

    def __init__(self, config: HsmConfig) -> None:
        import pkcs11

        with _LIBS_LOCK:
            lib = _LIBS.get(config.module)
            if lib is None:
                try:
                    lib = _LIBS[config.module] = pkcs11.lib(config.module)
                except RuntimeError as exc:
                    raise HsmError("HSM_MODULE", f"cannot load {config.module}") from exc
        try:
            self._token = lib.get_token(token_label=config.token_label)
            try:
                self._session = self._token.open(user_pin=config.pin, rw=True)
            except pkcs11.exceptions.UserAlreadyLoggedIn:  # PKCS#11 login is per process: another session did
                self._session = self._token.open(rw=True)
        except pkcs11.PKCS11Error as exc:
            raise HsmError("HSM_LOGIN", f"cannot open token {config.token_label!r}: {type(exc).__name__}") from exc
        self._lock = threading.Lock()

    def close(self) -> None:
        self._session.close()

    def generate(self, label: str) -> TokenKey:
        """A new P-256 key pair in the token (private part sensitive, not extractable)."""
        from pkcs11 import Attribute, KeyType
        from pkcs11.util.ec import encode_named_curve_parameters

        if self._find(label) is not None:
            raise HsmError("KEY_EXISTS", f"the token already holds a key labelled {label!r}")
        with self._lock:
            params = self._session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True)
            params.generate_keypair(
                store=True, label=label,
                public_template={Attribute.VERIFY: True},
                private_template={Attribute.SIGN: True, Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False,
                                  Attribute.PRIVATE: True})
        key = self._find(label)
        if key is None:  # pragma: no cover - the token just stored it
            raise HsmError("HSM_FAILED", "the generated key is not in the token")
        return key

    def destroy(self, label: str) -> None:
        """Destroy both halves of the key pair labelled ``label`` (a retired key)."""
        from pkcs11 import KeyType, ObjectClass
        from pkcs11.exceptions import NoSuchKey

        with self._lock:
            for object_class in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY):
                try:
                    self._session.get_key(object_class=object_class, key_type=KeyType.EC, label=label).destroy()
                except NoSuchKey:
                    continue

    def key(self, label: str) -> TokenKey:
        key = self._find(label)
        if key is None:
            raise HsmError("KEY_NOT_FOUND", f"no key labelled {label!r} in the token")
        return key

    def _find(self, label: str) -> TokenKey | None:
        from pkcs11 import KeyType, ObjectClass
        from pkcs11.exceptions import NoSuchKey
        from pkcs11.util.ec import encode_ec_public_key

        with self._lock:
            try:
                private = self._session.get_key(object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.EC,
                                                label=label)
                public = self._session.get_key(object_class=ObjectClass.PUBLIC_KEY, key_type=KeyType.EC,
                                               label=label)
            except NoSuchKey:
                return None
            spki = encode_ec_public_key(public)  # type: ignore[arg-type]
        loaded = serialization.load_der_public_key(spki)
        if not isinstance(loaded, ec.EllipticCurvePublicKey) or not isinstance(loaded.curve, ec.SECP256R1):
            raise HsmError("BAD_KEY", f"{label!r} is not a P-256 key")
        return TokenKey(private, loaded, self._lock, label)


class TokenKey(ec.EllipticCurvePrivateKey):
    """A P-256 private key that lives in a PKCS#11 token: it signs there and cannot be exported."""

    def __init__(self, handle: Any, public: ec.EllipticCurvePublicKey, lock: threading.Lock, label: str) -> None:
        self._handle = handle
        self._public = public
        self._lock = lock
        self.label = label

    def __repr__(self) -> str:
        return f"TokenKey(label={self.label!r})"

    @property
    def curve(self) -> ec.EllipticCurve:
        return ec.SECP256R1()

    @property
    def key_size(self) -> int:
        return 256

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    def sign(self, data: Any, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        """DER ECDSA signature (as cryptography returns it): SHA-256 here, CKM_ECDSA over the digest in the token."""
        from pkcs11 import Mechanism

        algorithm = getattr(signature_algorithm, "algorithm", None)
        if not isinstance(signature_algorithm, ec.ECDSA) or not isinstance(algorithm, hashes.SHA256):
            raise HsmError("UNSUPPORTED", "token keys sign ECDSA with SHA-256 only")
        digest = hashes.Hash(hashes.SHA256())
        digest.update(bytes(data))
        with self._lock:  # CKM_ECDSA on the SHA-256 digest: every token has it (SoftHSM2 lacks CKM_ECDSA_SHA256)
            raw = self._handle.sign(digest.finalize(), mechanism=Mechanism.ECDSA)
        if len(raw) != 64:
            raise HsmError("HSM_FAILED", "the token returned a malformed signature")
        return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))

    def _not_extractable(self) -> NoReturn:
        raise HsmError("NOT_EXTRACTABLE", "the private key stays in the token")

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        self._not_extractable()

    def private_bytes(self, encoding: Any, format: Any, encryption_algorithm: Any) -> bytes:
        self._not_extractable()

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        raise HsmError("UNSUPPORTED", "token keys only sign")

    def __copy__(self) -> TokenKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> TokenKey:
        return self


def token_csr(key: TokenKey, subject: x509.Name) -> bytes:
    """A PEM PKCS#10 request signed in the token (asn1crypto builds the structure)."""
    from asn1crypto import csr as asn1_csr
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509

    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    info = asn1_csr.CertificationRequestInfo({
        "version": "v1",
        "subject": asn1_x509.Name.load(subject.public_bytes()),
        "subject_pk_info": asn1_keys.PublicKeyInfo.load(spki),
        "attributes": [],
    })
    signature = key.sign(info.dump(), ec.ECDSA(hashes.SHA256()))
    request = asn1_csr.CertificationRequest({
        "certification_request_info": info,
        "signature_algorithm": {"algorithm": "sha256_ecdsa"},
        "signature": signature,
    })
    der = request.dump()
    return x509.load_der_x509_csr(der).public_bytes(serialization.Encoding.PEM)
