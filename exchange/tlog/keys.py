"""The log's Ed25519 note key: ``<data_dir>/pki/log.key`` (PKCS#8, encrypted with ``LICEX_KEY_PASSPHRASE``).

It is the exchange's own key (no CA involved), created by ``licex init`` (:func:`ensure_log_key`). Outside demo
mode a missing key is an error rather than a fresh key: replicas must all sign with the same key. Concurrent
creations race on an atomic link and the loser reads the winner's file.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.tlog.note import NoteSigner

from ..config import Settings
from ..context import AppContext
from ..keyring import KeyMaterialMissing

KEY_FILE = "log.key"


def _path(ctx: AppContext) -> Path:
    return ctx.settings.data_dir / "pki" / KEY_FILE


def _load_or_create(path: Path, passphrase: bytes) -> Ed25519PrivateKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(passphrase))
        tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.{os.urandom(4).hex()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        try:
            os.link(tmp, path)  # atomic: a complete file or none
        except FileExistsError:
            pass
        else:
            return key
        finally:
            tmp.unlink()
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=passphrase)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    return loaded


def ensure_log_key(settings: Settings) -> None:
    """Create the log key if the data directory has none (``licex init``)."""
    _load_or_create(settings.data_dir / "pki" / KEY_FILE, settings.key_passphrase_bytes())


def log_signer(ctx: AppContext) -> NoteSigner:
    cached = ctx.tlog_signer
    if cached is not None:
        return cached
    path = _path(ctx)
    if not path.exists() and not ctx.settings.demo:
        raise KeyMaterialMissing(f"{KEY_FILE} not found in the data directory; run `licex init` first")
    signer = NoteSigner(ctx.settings.log_origin, _load_or_create(path, ctx.settings.key_passphrase_bytes()))
    ctx.tlog_signer = signer
    return signer
