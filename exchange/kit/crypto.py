"""Data-at-rest protection: per-purpose keys derived from the master key, keyed hashes for lookup columns,
AES-256-GCM for stored payloads. Never log inputs to these functions."""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE = 12
_VERSION = b"\x01"


def derive_key(master: bytes, label: str, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label.encode()).derive(master)


class DataProtector:
    """Keyed hashing (HMAC-SHA256) and authenticated encryption bound to a context string."""

    def __init__(self, master_key: bytes) -> None:
        self._hash_key = derive_key(master_key, "licex/hmac/holder")
        self._aead = AESGCM(derive_key(master_key, "licex/aead/payload"))

    def holder_hash(self, code: str) -> str:
        """Lookup key for a holder's ID number / USCC: stable, not reversible without the master key."""
        return hmac.new(self._hash_key, code.strip().upper().encode(), hashlib.sha256).hexdigest()

    def encrypt(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def decrypt(self, blob: bytes, context: str) -> bytes:
        if not blob or blob[:1] != _VERSION:
            raise ValueError("unknown ciphertext version")
        nonce, body = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
        return self._aead.decrypt(nonce, body, context.encode())


def constant_time_equal(a: str | bytes, b: str | bytes) -> bool:
    ab = a.encode() if isinstance(a, str) else a
    bb = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(ab, bb)
