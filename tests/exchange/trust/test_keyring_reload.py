"""The keyring re-reads a certificate whose file changed on the shared data volume (``licex exchange
install-cert`` run on another machine) and keeps what it holds while a file is unreadable."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes

from exchange.keyring import Keyring
from issuers import pki

LEAF: dict[str, Any] = {"subject_cn": "exchange trust list", "org": "licex test", "department_id": "exchange",
                        "uscc": "11430100MB1234567X", "use": "exchange"}


def test_a_changed_certificate_is_read_again(tmp_path: Path) -> None:
    pki_dir = tmp_path / "pki"
    pki_dir.mkdir()
    passphrase = b"keyring-test-passphrase"
    root_key, root = pki.create_root_ca(common_name="Test Root")
    key, first = pki.issue_certificate(root_key, root, **LEAF)
    pki.save_private_key(key, pki_dir / "exchange.key", passphrase)
    (pki_dir / "exchange.crt").write_text(pki.cert_to_pem(first))
    (pki_dir / "root.crt").write_text(pki.cert_to_pem(root))
    ring = Keyring(tmp_path, passphrase)
    assert ring.exchange[1] == first and ring.exchange is ring.exchange  # held between uses
    first_fp = ring.exchange_fingerprint
    # the CA certifies the same key again (renewal); the operator installs it: the next use signs with it
    renewed = pki.issue_certificate(root_key, root, key=key, **LEAF)[1]
    tmp = pki_dir / "exchange.crt.new"
    tmp.write_text(pki.cert_to_pem(renewed))
    os.replace(tmp, pki_dir / "exchange.crt")
    assert ring.exchange[1] == renewed != first
    assert ring.exchange_fingerprint == renewed.fingerprint(hashes.SHA256()) != first_fp
    # an unreadable file does not take the key away
    shutil.move(pki_dir / "exchange.crt", tmp_path / "aside.crt")
    assert ring.exchange[1] == renewed
