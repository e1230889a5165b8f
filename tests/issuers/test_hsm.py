"""PKCS#11 with a real SoftHSM2 token initialised in a temp dir: keys are generated in the token and cannot be
read out; a proof sealed through the token passes pdfsig ("Signature is Valid", "Certificate is Trusted"); a
licence signed through the token verifies; the exchange's keyring and a production init use the token."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from issuers import pki
from issuers.hsm import HsmConfig, HsmError, Token, token_csr
from tests.fixtures.pki import issue_test_licence, shared_pki
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
    from tests.exchange.proofs.samples import real_estate_with_property

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
