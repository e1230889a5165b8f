"""Key material the exchange itself holds, from the data directory.

Layout of ``<data_dir>/pki``: ``root.crt`` (the city root; its key is never here — offline in production, in
the demo's separate ``<data_dir>/ca``), ``exchange.crt``/``exchange.key`` (signs the trust list), and
``seals/<department>.crt``/``.key`` (the departments' seal keys held by the sealing service). Every private key
is PKCS#8 encrypted with ``LICEX_KEY_PASSPHRASE``; none is ever committed or logged.

With ``LICEX_PKCS11_MODULE`` / ``LICEX_PKCS11_TOKEN`` / ``LICEX_PKCS11_PIN`` set (see ``schemas.hsm``) the
exchange's keys live in that token instead — ``licex-exchange`` and ``licex-seal-<department>`` — and the files
hold only the certificates; the private keys cannot be read out of the token.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .kit.errors import ExchangeError


class KeyMaterialMissing(ExchangeError):
    code = "KEY_MATERIAL_MISSING"


@dataclass(frozen=True)
class SealKey:
    department_id: str
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


EXCHANGE_KEY_LABEL = "licex-exchange"
_Stamp = tuple[tuple[int, int, int] | None, ...]


def seal_key_label(department_id: str) -> str:
    return f"licex-seal-{department_id}"


def _changed(held: _Stamp, now: _Stamp) -> bool:
    return held != now and None not in now


class Keyring:
    """The exchange's keys and certificates, read from ``<data_dir>/pki`` on first use and again whenever a file
    changes: each use costs one ``stat`` per file, so a certificate installed by ``licex exchange install-cert``
    (or a key replaced) on the shared data volume is picked up by every replica at its next signature."""

    def __init__(self, data_dir: Path, passphrase: bytes) -> None:
        self.pki_dir = data_dir / "pki"
        self._passphrase = passphrase
        self._token: Any = None
        from schemas.hsm import HsmConfig  # the PKCS#11 binding; loaded only when a token is configured

        self.hsm = HsmConfig.from_env()
        self._lock = threading.Lock()
        self._root: tuple[_Stamp, x509.Certificate] | None = None
        self._exchange: tuple[_Stamp, tuple[ec.EllipticCurvePrivateKey, x509.Certificate]] | None = None
        self._seals: dict[str, tuple[_Stamp, SealKey]] = {}
        self._exchange_fp: tuple[x509.Certificate, bytes] | None = None

    def _stamp(self, *names: str) -> _Stamp:
        """(inode, size, mtime) of each file, None for one that cannot be read: what tells a cached copy is stale.
        A copy is kept while a file is unreadable (a volume hiccup, a file mid-replacement): a removed certificate
        does not revoke a key — revocation goes through the root's CRL."""
        out: list[tuple[int, int, int] | None] = []
        for name in names:
            try:
                st = (self.pki_dir / name).stat()
            except OSError:
                out.append(None)
            else:
                out.append((st.st_ino, st.st_size, st.st_mtime_ns))
        return tuple(out)

    def _read(self, name: str) -> bytes:
        path = self.pki_dir / name
        if not path.exists():
            raise KeyMaterialMissing(f"{name} not found in the data directory; run `licex init` first")
        return path.read_bytes()

    def token_key(self, label: str) -> ec.EllipticCurvePrivateKey:
        """The key labelled ``label`` in the configured PKCS#11 token."""
        from schemas.hsm import Token

        if self.hsm is None:
            raise KeyMaterialMissing("no PKCS#11 token is configured")
        if self._token is None:
            self._token = Token(self.hsm)
        key: ec.EllipticCurvePrivateKey = self._token.key(label)
        return key

    def _load_key(self, name: str, label: str | None = None) -> ec.EllipticCurvePrivateKey:
        if self.hsm is not None and label is not None:
            return self.token_key(label)
        key = serialization.load_pem_private_key(self._read(name), password=self._passphrase)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyMaterialMissing(f"{name} is not an EC private key")
        return key

    @property
    def root(self) -> x509.Certificate:
        stamp = self._stamp("root.crt")
        with self._lock:
            if self._root is None or _changed(self._root[0], stamp):
                self._root = (stamp, x509.load_pem_x509_certificate(self._read("root.crt")))
            return self._root[1]

    @property
    def exchange(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        stamp = self._stamp("exchange.crt", "exchange.key")
        with self._lock:
            if self._exchange is None or _changed(self._exchange[0], stamp):
                cert = x509.load_pem_x509_certificate(self._read("exchange.crt"))
                self._exchange = (stamp, (self._load_key("exchange.key", EXCHANGE_KEY_LABEL), cert))
            return self._exchange[1]

    @property
    def exchange_fingerprint(self) -> bytes:
        """SHA-256 of the trust-list signer's certificate as currently installed (what a signed-output cache
        compares to know it was made with the current certificate); computed once per certificate file."""
        cert = self.exchange[1]
        held = self._exchange_fp
        if held is None or held[0] is not cert:
            held = self._exchange_fp = (cert, cert.fingerprint(hashes.SHA256()))
        return held[1]

    def seal(self, department_id: str) -> SealKey:
        crt, key_file = f"seals/{department_id}.crt", f"seals/{department_id}.key"
        stamp = self._stamp(crt, key_file)
        with self._lock:
            held = self._seals.get(department_id)
            if held is None or _changed(held[0], stamp):
                cert = x509.load_pem_x509_certificate(self._read(crt))
                key = self._load_key(key_file, seal_key_label(department_id))
                held = self._seals[department_id] = (stamp, SealKey(department_id, key, cert))
            return held[1]

    def has_seal(self, department_id: str) -> bool:
        return (self.pki_dir / "seals" / f"{department_id}.crt").exists()
