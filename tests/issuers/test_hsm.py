"""PKCS#11 with a real SoftHSM2 token initialised in a temp dir: keys are generated in the token and cannot be
read out; a proof sealed through the token passes pdfsig ("Signature is Valid", "Certificate is Trusted"); a
licence signed through the token verifies; the exchange's keyring and a production init use the token."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from issuers import pki
from schemas.hsm import HsmConfig, HsmError, Token, token_csr
from testkit.pki import issue_test_licence, shared_pki
from verifier.licence import verify_licence

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
pytestmark = pytest.mark.skipif(
    not Path(MODULE).exists() or any(shutil.which(t) is None for t in ("softhsm2-util", "pdfsig", "certutil")),
    reason="softhsm2, poppler-utils and libnss3-tools are needed (scripts/bootstrap.sh installs them)",
)
PIN = "4711-licex"


@pytest.fixture(scope="module")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HsmConfig]:
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "licex-test", "--pin", PIN,
                    "--so-pin", "so-" + PIN], check=True, capture_output=True)
    yield HsmConfig(MODULE, "licex-test", PIN)
    if old is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = old


def test_key_is_generated_in_the_token_and_not_extractable(hsm: HsmConfig) -> None:
    import pkcs11
    from pkcs11 import Attribute, KeyType, ObjectClass

    token = Token(hsm)
    key = token.generate("licex-test-extract")
    with pytest.raises(HsmError, match="NOT_EXTRACTABLE"):
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption())
    with pytest.raises(HsmError):
        key.private_numbers()
    # straight at the token, bypassing licex: the value attribute cannot be read
    lib = pkcs11.lib(hsm.module)
    with lib.get_token(token_label=hsm.token_label).open() as session:  # the process is logged in already
        handle = session.get_key(object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.EC,
                                 label="licex-test-extract")
        assert handle[Attribute.SENSITIVE] is True and handle[Attribute.EXTRACTABLE] is False
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            handle[Attribute.VALUE]
    with pytest.raises(HsmError, match="KEY_EXISTS"):
        token.generate("licex-test-extract")


def test_licence_signed_in_the_token_verifies(hsm: HsmConfig) -> None:
    test_pki = shared_pki()
    token = Token(hsm)
    key = token.generate("licex-test-licence")
    dept = test_pki.departments["psb"]
    cert = pki.certify_public_key(test_pki.root_key, test_pki.root_cert, key.public_key(),
                                  subject_cn="psb licence (HSM)", org="长沙市公安局", department_id="psb",
                                  uscc=pki.certificate_uscc(dept.licence_cert) or "", use="licence",
                                  now=test_pki.now)
    hsm_dept = dataclasses.replace(dept, licence_key=key, licence_cert=cert)
    trust_pki = dataclasses.replace(test_pki, departments={**test_pki.departments, "psb": hsm_dept})
    trust = trust_pki.trust_list_with(departments=[d.trusted() for d in trust_pki.departments.values()])
    sd_jwt = issue_test_licence(trust_pki, now=test_pki.now)
    result = verify_licence(sd_jwt, trust, now=test_pki.now)
    assert result.valid, result.verdict
    assert result.details["certificate_fingerprint"] == pki.cert_fingerprint(cert)
    # a CSR for a token key, signed in the token, is accepted by the CA's checks
    from cryptography import x509

    from issuers.ca import read_csr

    subject = x509.load_pem_x509_certificate(pki.cert_to_pem(cert).encode()).subject
    request = read_csr(token_csr(key, subject))
    assert request.department_id == "psb"


def test_proof_sealed_in_the_token_passes_pdfsig(hsm: HsmConfig, tmp_path: Path) -> None:
    from exchange.proofs.render import render_proof_pdf
    from exchange.proofs.sealing import ExternalKeySigner, PdfSealer
    from testkit.proof_samples import real_estate_with_property

    test_pki = shared_pki()
    token = Token(hsm)
    key = token.generate("licex-test-seal")
    cert = pki.certify_public_key(test_pki.root_key, test_pki.root_cert, key.public_key(),
                                  subject_cn="长沙市不动产登记中心电子印章", org="长沙市不动产登记中心",
                                  department_id="cs-bdc", uscc="12430100MB1234567X", use="seal")
    sealer = PdfSealer(key, cert, [test_pki.root_cert])
    assert isinstance(sealer.signer, ExternalKeySigner)
    pdf = sealer.seal(render_proof_pdf(real_estate_with_property()))
    path = tmp_path / "hsm-sealed.pdf"
    path.write_bytes(pdf)
    nss = tmp_path / "nss"
    nss.mkdir()
    (nss / "root.pem").write_text(pki.cert_to_pem(test_pki.root_cert))
    subprocess.run(["certutil", "-N", "--empty-password", "-d", f"sql:{nss}"], check=True, capture_output=True)
    subprocess.run(["certutil", "-d", f"sql:{nss}", "-A", "-t", "CT,C,C", "-n", "root", "-i", str(nss / "root.pem")],
                   check=True, capture_output=True)
    out = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(path)], capture_output=True, text=True).stdout
    assert "Signature is Valid." in out, out
    assert "Certificate is Trusted." in out, out


def test_production_exchange_keeps_its_keys_in_the_token(hsm: HsmConfig, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from exchange.config import Settings
    from exchange.context import AppContext
    from exchange.proofs.render import render_proof_pdf
    from exchange.proofs.sealing import PdfSealer
    from exchange.provision import provision
    from exchange.trust.service import current_trust_list
    from issuers.ca import CaDir
    from schemas.hsm import TokenKey
    from testkit.proof_samples import real_estate_none
    from verifier.trust import TrustList

    env = {"LICEX_PKCS11_MODULE": hsm.module, "LICEX_PKCS11_TOKEN": hsm.token_label, "LICEX_PKCS11_PIN": hsm.pin,
           "LICEX_MASTER_KEY": os.urandom(32).hex(), "LICEX_KEY_PASSPHRASE": "exchange-passphrase"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    ca = CaDir(tmp_path / "ca")
    ca.init(b"ca-passphrase", common_name="root", org="长沙市数据资源管理局")
    (tmp_path / "root.crt").write_text(pki.cert_to_pem(ca.root_cert))
    data = tmp_path / "exchange"
    settings = Settings(data_dir=data, demo=False)
    report = provision(settings, root_cert=tmp_path / "root.crt")
    # no P-256 key file: the signing and seal keys are in the token (the transparency log's Ed25519 note key
    # stays a file: the token path covers P-256 only)
    assert report.csrs and {p.name for p in data.rglob("*.key")} == {"log.key"}
    answers: list[str] = []
    for csr in report.csrs:
        out = csr.with_suffix(".crt.answer")
        out.write_text(pki.cert_to_pem(ca.sign(csr.read_bytes(), "exchange" if csr.stem == "exchange" else "seal",
                                               b"ca-passphrase")))
        answers += ["--cert", str(out)]
    res = subprocess.run([str(Path(sys.executable).parent / "licex"), "exchange", "install-cert", "--data-dir",
                          str(data), *answers], capture_output=True, text=True, env=dict(os.environ), check=False)
    assert res.returncode == 0, res.stderr
    ctx = AppContext.build(settings)
    try:
        seal = ctx.keyring.seal("blood")
        assert isinstance(seal.key, TokenKey) and isinstance(ctx.keyring.exchange[0], TokenKey)
        with ctx.sessions() as session:  # the trust list, signed in the token, loads and verifies
            trust = TrustList.load(current_trust_list(ctx, session).to_bytes())
        assert trust.department_for_certificate(seal.cert, "seal") is not None
        pdf = PdfSealer(seal.key, seal.cert, [ca.root_cert]).seal(render_proof_pdf(real_estate_none()))
    finally:
        ctx.close()
    path = tmp_path / "exchange-sealed.pdf"
    path.write_bytes(pdf)
    nss = tmp_path / "nss"
    nss.mkdir()
    (nss / "root.pem").write_text(pki.cert_to_pem(ca.root_cert))
    subprocess.run(["certutil", "-N", "--empty-password", "-d", f"sql:{nss}"], check=True, capture_output=True)
    subprocess.run(["certutil", "-d", f"sql:{nss}", "-A", "-t", "CT,C,C", "-n", "root", "-i", str(nss / "root.pem")],
                   check=True, capture_output=True)
    out = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(path)], capture_output=True, text=True).stdout
    assert "Signature is Valid." in out and "Certificate is Trusted." in out, out


def test_department_licence_key_in_the_token(hsm: HsmConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from issuers.ca import read_csr
    from issuers.demo import SystemOfRecord
    from issuers.department_dir import DepartmentDir
    from schemas.hsm import TokenKey
    from verifier.trust import TrustedCertificate, TrustedDepartment

    for name, value in {"LICEX_PKCS11_MODULE": hsm.module, "LICEX_PKCS11_TOKEN": hsm.token_label,
                        "LICEX_PKCS11_PIN": hsm.pin}.items():
        monkeypatch.setenv(name, value)
    test_pki = shared_pki()
    d = DepartmentDir(tmp_path / "psb")
    d.init("psb", b"department-passphrase", hsm=True)
    assert not (tmp_path / "psb" / "licence.key").exists()  # in the token, not on disk

    def certify(csr: str, use: str) -> object:
        request = read_csr((tmp_path / "psb" / csr).read_bytes())
        return pki.certify_public_key(test_pki.root_key, test_pki.root_cert, request.public_key,
                                      subject_cn=request.common_name, org=request.org,
                                      department_id=request.department_id, uscc=request.uscc, use=use,  # type: ignore[arg-type]
                                      now=test_pki.now)

    licence_cert, client_cert = certify("licence.csr", "licence"), certify("client.csr", "client")
    assert d.install_cert(licence_cert, b"department-passphrase") == "licence"  # type: ignore[arg-type]
    assert d.install_cert(client_cert, b"department-passphrase") == "client"  # type: ignore[arg-type]
    signer = d.signer(b"department-passphrase")
    assert isinstance(signer.licence_key, TokenKey)
    draft = next(x for x in SystemOfRecord.generate(seed=7, citizens=16).licences() if x.department_id == "psb")
    sd_jwt = signer.sign(draft, now=test_pki.now)
    dept = test_pki.departments["psb"]
    listed = TrustedDepartment(dept.id, dept.name, dept.uscc, frozenset(dept.may_issue),
                               (TrustedCertificate(licence_cert, "licence"),))  # type: ignore[arg-type]
    trust = test_pki.trust_list_with(departments=[listed])
    result = verify_licence(sd_jwt, trust, now=test_pki.now)
    assert result.valid, result.verdict
    info = tmp_path / "psb" / "department.json"
    old_label = json.loads(info.read_text())["licence_key_label"]
    d.rotate(b"department-passphrase")  # the retired key is destroyed in the token
    with pytest.raises(HsmError, match="KEY_NOT_FOUND"):
        Token(hsm).key(old_label)
    assert json.loads(info.read_text())["licence_key_label"] != old_label
