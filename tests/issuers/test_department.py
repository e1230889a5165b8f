"""DepartmentSigner: key files, licence signing, RFC 7523 client assertions."""

from __future__ import annotations

import base64
import dataclasses
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from issuers.demo import PERSONAS, LicenceDraft, SystemOfRecord
from issuers.department import DepartmentSigner, SigningError
from issuers.pki import PkiError, cert_fingerprint, cert_to_der, create_root_ca
from issuers.sdjwt import deterministic_salts
from schemas.canonical import b64u_decode
from schemas.catalogue import load_catalogue
from schemas.identifiers import parse_licence_identifier

CAT = load_catalogue()


def _ec(cert: x509.Certificate) -> ec.EllipticCurvePublicKey:
    public = cert.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    return public


PASS = b"test passphrase"


@pytest.fixture(scope="module")
def root() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    return create_root_ca()


@pytest.fixture(scope="module")
def psb_dir(
    tmp_path_factory: pytest.TempPathFactory, root: tuple[ec.EllipticCurvePrivateKey, x509.Certificate]
) -> Path:
    d = tmp_path_factory.mktemp("depts") / "psb"
    DepartmentSigner.create(d, CAT.departments["psb"], root[0], root[1], PASS)
    return d


@pytest.fixture(scope="module")
def signer(psb_dir: Path) -> DepartmentSigner:
    return DepartmentSigner.load(psb_dir, CAT.departments["psb"], PASS)


@pytest.fixture(scope="module")
def id_card() -> LicenceDraft:
    sor = SystemOfRecord.generate(seed=2024)
    return next(
        d
        for d in sor.licences()
        if d.type_key == "resident_id_card" and d.holder_code == PERSONAS[0].id_number
    )


def _parts(sd_jwt: str) -> tuple[dict[str, object], dict[str, object], list[list[object]]]:
    jws, *disclosures = sd_jwt.split("~")
    assert disclosures[-1] == ""  # issuance form ends with "~"
    h, p, _ = jws.split(".")
    header = json.loads(b64u_decode(h))
    payload = json.loads(b64u_decode(p))
    return header, payload, [json.loads(b64u_decode(d)) for d in disclosures[:-1]]


# -- key files -------------------------------------------------------------------------------------------


def test_create_writes_encrypted_keys_0600(psb_dir: Path) -> None:
    for name in ("licence.key", "client.key"):
        path = psb_dir / name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    for name in ("licence.crt", "client.crt"):
        assert (psb_dir / name).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert stat.S_IMODE(psb_dir.stat().st_mode) == 0o700


def test_create_refuses_to_overwrite(
    psb_dir: Path, root: tuple[ec.EllipticCurvePrivateKey, x509.Certificate]
) -> None:
    with pytest.raises(SigningError) as exc:
        DepartmentSigner.create(psb_dir, CAT.departments["psb"], root[0], root[1], PASS)
    assert exc.value.code == "KEY_EXISTS"


def test_load_with_wrong_passphrase_fails(psb_dir: Path) -> None:
    with pytest.raises(PkiError):
        DepartmentSigner.load(psb_dir, CAT.departments["psb"], b"wrong")


def test_certificates_carry_the_department(signer: DepartmentSigner) -> None:
    for cert in (signer.licence_cert, signer.client_cert):
        assert CAT.departments["psb"].uscc in cert.subject.rfc4514_string()
    assert signer.client_kid == cert_fingerprint(signer.client_cert)
    assert "PRIVATE" not in repr(signer) and "psb" in repr(signer)


def test_load_detects_swapped_certificates(
    tmp_path: Path, root: tuple[ec.EllipticCurvePrivateKey, x509.Certificate]
) -> None:
    d = tmp_path / "x"
    DepartmentSigner.create(d, CAT.departments["psb"], root[0], root[1], "str passphrase")
    lic, cli = (d / "licence.crt").read_bytes(), (d / "client.crt").read_bytes()
    (d / "licence.crt").write_bytes(cli)
    (d / "client.crt").write_bytes(lic)
    with pytest.raises(SigningError) as exc:
        DepartmentSigner.load(d, CAT.departments["psb"], "str passphrase")
    assert exc.value.code == "CERT_MISMATCH"


# -- signing ---------------------------------------------------------------------------------------------


def test_signed_draft_parses(signer: DepartmentSigner, id_card: LicenceDraft) -> None:
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    sd = signer.sign(id_card, status_base_url="https://exchange.test/api/v1/status/", now=now)
    header, payload, disclosures = _parts(sd)
    assert header["alg"] == "ES256" and header["typ"] == "dc+sd-jwt"
    assert header["x5c"] == [base64.b64encode(cert_to_der(signer.licence_cert)).decode()]
    lid = parse_licence_identifier(str(payload["licence_id"]))
    assert lid.type_code == CAT.licence_types["resident_id_card"].code
    assert lid.issuer_uscc == CAT.departments["psb"].uscc
    assert lid.serial == id_card.serial and lid.version == 1
    assert payload["licence_id"] == signer.licence_id(id_card)
    assert payload["status"] == {"uri": f"https://exchange.test/api/v1/status/{payload['licence_id']}"}
    assert payload["iss"] == "psb" and payload["jurisdiction"] == "430100"
    assert payload["holder_code_type"] == "111" and payload["iat"] == int(now.timestamp())
    assert payload["valid_until"] == (id_card.valid_until.isoformat() if id_card.valid_until else None)
    claims = {d[1]: d[2] for d in disclosures}
    assert claims["holder_name"] == "李建华" and claims["holder_code"] == PERSONAS[0].id_number
    assert base64.b64decode(str(claims["photo"])).startswith(b"\xff\xd8\xff")
    # the signature verifies with the licence certificate
    jws = sd.split("~")[0]
    jwt.PyJWS().decode_complete(jws, _ec(signer.licence_cert), algorithms=["ES256"])


def test_signing_is_reproducible_with_fixed_salts(signer: DepartmentSigner, id_card: LicenceDraft) -> None:
    now = datetime(2026, 11, 2, tzinfo=UTC)
    a = signer.sign(id_card, now=now, salt_source=deterministic_salts(b"s"))
    b = signer.sign(id_card, now=now, salt_source=deterministic_salts(b"s"))
    assert a.split(".")[:2] == b.split(".")[:2]
    assert a.split("~")[1:] == b.split("~")[1:]


def test_sign_rejects_other_departments_drafts(signer: DepartmentSigner, id_card: LicenceDraft) -> None:
    with pytest.raises(SigningError) as exc:
        signer.sign(dataclasses.replace(id_card, department_id="traffic"))
    assert exc.value.code == "WRONG_DEPARTMENT"
    sor = SystemOfRecord.generate(seed=2024)
    donation = next(d for d in sor.licences() if d.type_key == "blood_donation")
    with pytest.raises(SigningError) as exc:
        signer.sign(dataclasses.replace(donation, department_id="psb"))
    assert exc.value.code == "NOT_AUTHORISED"
    with pytest.raises(SigningError) as exc:
        signer.sign(dataclasses.replace(id_card, type_key="no_such_type"))
    assert exc.value.code == "UNKNOWN_TYPE"


def test_sign_validates_fields(signer: DepartmentSigner, id_card: LicenceDraft) -> None:
    bad = dataclasses.replace(id_card, fields={**id_card.fields, "id_number": "430102197805120620"})
    with pytest.raises(SigningError) as exc:
        signer.sign(bad)
    assert exc.value.code == "INVALID_FIELDS" and "BAD_CHECK_DIGIT" in exc.value.detail
    assert signer.sign(bad, validate=False).count("~") > 2


# -- client assertions -----------------------------------------------------------------------------------


def test_client_assertion_verifies_with_the_client_cert(signer: DepartmentSigner) -> None:
    aud = "https://exchange.test/api/v1/oauth/token"
    token = signer.client_assertion("psb-system", aud)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["kid"] == cert_fingerprint(signer.client_cert)
    claims = jwt.decode(
        token,
        _ec(signer.client_cert),
        algorithms=["ES256"],
        audience=aud,
        issuer="psb-system",
        options={"require": ["exp", "iat", "iss", "sub", "aud", "jti"]},
    )
    assert claims["sub"] == "psb-system" and claims["exp"] - claims["iat"] == 120
    assert signer.client_assertion("psb-system", aud).split(".")[1] != token.split(".")[1]  # fresh jti
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, _ec(signer.licence_cert), algorithms=["ES256"], audience=aud)


def test_client_assertion_expiry_and_ttl_bounds(signer: DepartmentSigner) -> None:
    aud = "https://exchange.test/api/v1/oauth/token"
    old = signer.client_assertion("c", aud, ttl_s=60, now=datetime.now(UTC) - timedelta(minutes=5))
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(old, _ec(signer.client_cert), algorithms=["ES256"], audience=aud)
    for ttl in (0, 301):
        with pytest.raises(SigningError):
            signer.client_assertion("c", aud, ttl_s=ttl)
