"""A department's own key directory (``licex department``): its keys are made here and never leave it.

Layout: ``department.json`` (id), ``licence.key`` / ``client.key`` (encrypted PKCS#8, 0600), ``licence.csr`` /
``client.csr`` (to send to the city CA), ``licence.crt`` / ``client.crt`` (installed from the CA's answer) and
``retired/<fingerprint>/`` (rotated licence keys' certificates; the retired private key is destroyed — licences
it signed stay valid under the chain model, see verifier.licence).
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from issuers import pki
from issuers.ca import make_csr
from issuers.department import CLIENT_CERT, CLIENT_KEY, LICENCE_CERT, LICENCE_KEY, DepartmentSigner
from schemas.catalogue import Department, load_catalogue
from schemas.hsm import HsmConfig, Token

__all__ = ["DepartmentDir", "DepartmentDirError"]

INFO: Final = "department.json"
KEYS: Final = {"licence": (LICENCE_KEY, LICENCE_CERT, "licence.csr", "电子证照签发"),
               "client": (CLIENT_KEY, CLIENT_CERT, "client.csr", "接口客户端")}


class DepartmentDirError(ValueError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class DepartmentDir:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def department(self) -> Department:
        info = self.path / INFO
        if not info.exists():
            raise DepartmentDirError("NOT_INITIALISED", f"{self.path}: run `licex department init` first")
        dept_id = json.loads(info.read_text())["department"]
        dept = load_catalogue().departments.get(dept_id)
        if dept is None:
            raise DepartmentDirError("UNKNOWN_DEPARTMENT", f"{dept_id!r} is not in the catalogue")
        return dept

    def _info(self) -> dict[str, str]:
        data: dict[str, str] = json.loads((self.path / INFO).read_text())
        return data

    def _token(self) -> Token:
        config = HsmConfig.from_env()
        if config is None:
            raise DepartmentDirError("NO_TOKEN", "the licence key is in a PKCS#11 token: set LICEX_PKCS11_*")
        return Token(config)

    def _new_key(self, use: str, passphrase: bytes) -> Path:
        key_name, _crt, csr_name, cn = KEYS[use]
        dept = self.department
        label = self._info().get("licence_key_label") if use == "licence" else None
        key: ec.EllipticCurvePrivateKey
        if label:  # a department HSM: the licence key is generated in the token, under a fresh label
            label = f"licex-licence-{dept.id}-{secrets.token_hex(4)}"
            key = self._token().generate(label)
            self._save_info(licence_key_label=label)
        else:
            key = pki.generate_key()
            pki.save_private_key(key, self.path / key_name, passphrase)
        csr = self.path / csr_name
        csr.write_bytes(make_csr(key, org=dept.name, department_id=dept.id, uscc=dept.uscc,
                                 common_name=f"{dept.name} {cn}"))
        return csr

    def _save_info(self, **changes: str) -> None:
        (self.path / INFO).write_text(json.dumps({**self._info(), **changes}))

    def init(self, department_id: str, passphrase: bytes, *, hsm: bool = False) -> list[Path]:
        """Make the licence-signing and API-client keys and their CSRs (``hsm``: the licence key in the PKCS#11
        token configured by LICEX_PKCS11_*)."""
        if load_catalogue().departments.get(department_id) is None:
            raise DepartmentDirError("UNKNOWN_DEPARTMENT", f"{department_id!r} is not in the catalogue")
        if (self.path / LICENCE_KEY).exists() or (self.path / CLIENT_KEY).exists():
            raise DepartmentDirError("EXISTS", f"{self.path} already holds keys")
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        (self.path / INFO).write_text(json.dumps({"department": department_id,
                                                  **({"licence_key_label": "pending"} if hsm else {})}))
        return [self._new_key("licence", passphrase), self._new_key("client", passphrase)]

    def install_cert(self, cert: x509.Certificate, passphrase: bytes) -> str:
        """Put the CA's certificate beside the key it certifies; returns ``licence`` or ``client``."""
        dept = self.department
        if pki.certificate_department_id(cert) != dept.id:
            raise DepartmentDirError("WRONG_DEPARTMENT", "the certificate names another department")
        public = cert.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
        for use, (_key_name, crt_name, _csr, _cn) in KEYS.items():
            key = self._key(use, passphrase)
            mine = key.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
            if mine == public:
                (self.path / crt_name).write_text(pki.cert_to_pem(cert))
                return use
        raise DepartmentDirError("NO_MATCHING_KEY", "the certificate is for none of this department's keys")

    def rotate(self, passphrase: bytes) -> Path:
        """Retire the licence key (its certificate is kept under ``retired/``; the private key is deleted)
        and make a new key and CSR. Until the new certificate is installed and enrolled the old one signs."""
        crt = self.path / LICENCE_CERT
        if not crt.exists():
            raise DepartmentDirError("NO_CERT", "install the current licence certificate before rotating")
        old = pki.cert_from_pem(crt.read_bytes())
        retired = self.path / "retired" / pki.cert_fingerprint(old)
        retired.mkdir(parents=True, exist_ok=True)
        shutil.copy2(crt, retired / LICENCE_CERT)
        label = self._info().get("licence_key_label")
        if label:
            self._token().destroy(label)  # the retired key is destroyed in the token
        else:
            key_file = self.path / LICENCE_KEY
            key_file.write_bytes(b"\0" * key_file.stat().st_size)  # overwrite, then remove: the key is destroyed
            key_file.unlink()
        crt.unlink()
        return self._new_key("licence", passphrase)

    def _key(self, use: str, passphrase: bytes) -> ec.EllipticCurvePrivateKey:
        label = self._info().get("licence_key_label") if use == "licence" else None
        if label:
            return self._token().key(label)
        return pki.load_private_key(self.path / KEYS[use][0], passphrase)

    def signer(self, passphrase: bytes) -> DepartmentSigner:
        if not self._info().get("licence_key_label"):
            return DepartmentSigner.load(self.path, self.department, passphrase)
        for name in (LICENCE_CERT, CLIENT_CERT):
            if not (self.path / name).exists():
                raise DepartmentDirError("NO_CERT", f"{name} is not installed yet")
        return DepartmentSigner(self.department, self._key("licence", passphrase),
                                pki.cert_from_pem((self.path / LICENCE_CERT).read_bytes()),
                                self._key("client", passphrase),
                                pki.cert_from_pem((self.path / CLIENT_CERT).read_bytes()), load_catalogue())
