"""The proof service on the provisioned demo exchange (SQLite and PostgreSQL): every instant type made from the
departments' records, sealed, checked with the real tools (pdfsig with the city root in an NSS db, pyHanko,
pdftotext, pdftoppm + zxing-cpp), then verified through the service: valid, TAMPERED, REVOKED, UNKNOWN_ISSUER,
NOT_FOUND, EXPIRED — and every step in the holder's usage log."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import update

from exchange.departments.admin import revoke_certificate
from exchange.kit.db import unit_of_work
from exchange.models import DepartmentCertificate, Proof
from exchange.proofs import builders, service
from exchange.proofs.pipeline import SealJob, pipeline_for
from exchange.proofs.render import render_proof_pdf
from exchange.proofs.sealing import PdfSealer, to_asn1_cert
from exchange.trust.service import current_trust_list
from exchange.usage import service as usage
from exchange.usage.service import Actor
from issuers.pki import cert_to_pem, create_root_ca, issue_certificate
from tests.fixtures.exchange import ExchangeEnv
from verifier.proof import verify_proof_qr
from verifier.result import Code

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("pdfsig", "pdftotext", "pdftoppm", "certutil")),
    reason="poppler-utils and libnss3-tools are needed",
)

CITIZEN = Actor("citizen", "本人")
VERIFIER = Actor("department", "长沙市市场监督管理局", "amr")

#: (proof type, persona index): every instant type; the rare-name personas 2 (王𠇔), 3 (刘䶮), 4 (张𬱖).
CASES = [
    ("realty_query", 0),  # a mortgaged flat: the table of holdings
    ("realty_query", 2),  # 名下无不动产登记记录, non-BMP name
    ("realty_query", 3),  # 䶮, one flat held jointly
    ("hpf_deposit", 0),
    ("hpf_deposit", 2),
    ("household_registration", 4),
    ("blood_donation_proof", 2),
    ("gov_data_query_sheet", 3),
]


@pytest.fixture(scope="module")
def nss_db(exchange: ExchangeEnv, tmp_path_factory: pytest.TempPathFactory) -> str:
    d = tmp_path_factory.mktemp("nss")
    (d / "root.pem").write_text(cert_to_pem(exchange.ctx.keyring.root))
    subprocess.run(["certutil", "-N", "--empty-password", "-d", f"sql:{d}"], check=True, capture_output=True)
    subprocess.run(["certutil", "-d", f"sql:{d}", "-A", "-t", "CT,C,C", "-n", "root", "-i", str(d / "root.pem")],
                   check=True, capture_output=True)
    return f"sql:{d}"


@pytest.fixture(scope="module")
def issued(exchange: ExchangeEnv) -> dict[tuple[str, int], service.IssuedProof]:
    out = {}
    for type_key, persona in CASES:
        with unit_of_work(exchange.ctx.sessions) as s:
            out[(type_key, persona)] = service.create_instant(
                exchange.ctx, s, type_key=type_key, id_number=exchange.records.persona(persona).id_number,
                requester=CITIZEN)
    return out


def _printed_values(record: dict[str, Any]) -> Iterator[str]:
    for f in record["fields"]:
        yield str(f["value"])
    for table in record["tables"].values():
        if table["rows"]:
            yield from (str(col["title"]) for col in table["columns"])
        for row in table["rows"]:
            yield from (str(c) for c in row)
    yield str(record["result"])
    yield str(record["type_name"])
    yield str(record["issuer"]["name"])


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize(("type_key", "persona"), CASES)
def test_sealed_proof_passes_pdfsig_pyhanko_and_pdftotext(
    exchange: ExchangeEnv, issued: dict[tuple[str, int], service.IssuedProof], nss_db: str, tmp_path: Path,
    type_key: str, persona: int,
) -> None:
    proof = issued[(type_key, persona)]
    path = tmp_path / f"{type_key}.pdf"
    path.write_bytes(proof.pdf)

    out = subprocess.run(["pdfsig", "-nssdir", nss_db, str(path)], capture_output=True, text=True).stdout
    assert "Signature is Valid." in out, out
    assert "Certificate is Trusted." in out, out
    assert "Total document signed" in out, out

    (sig,) = PdfFileReader(io.BytesIO(proof.pdf)).embedded_signatures
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[to_asn1_cert(exchange.ctx.keyring.root)],
                                                           allow_fetching=False))
    assert status.bottom_line, status.summary()

    text = _flat(subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True,
                                check=True).stdout)
    for value in _printed_values(proof.record):
        assert _flat(value) in text, value
    assert exchange.records.persona(persona).name in text  # 𠇔, 䶮, 𬱖 come out as themselves
    assert proof.proof.id in text


def test_realty_with_and_without_holdings(issued: dict[tuple[str, int], service.IssuedProof]) -> None:
    with_holdings = issued[("realty_query", 0)].record
    assert with_holdings["tables"]["records"]["rows"], "persona 0 holds a mortgaged flat"
    assert any("抵押" in row for row in with_holdings["tables"]["records"]["rows"])
    none = issued[("realty_query", 2)].record
    assert none["tables"]["records"]["rows"] == []
    assert none["result"] == "王\U000201d4名下无不动产登记记录。"


def test_record_stores_digests_expiry_and_encrypted_pdf(
    exchange: ExchangeEnv, issued: dict[tuple[str, int], service.IssuedProof]
) -> None:
    proof = issued[("hpf_deposit", 0)]
    with exchange.session() as s:
        row = s.get(Proof, proof.proof.id)
        assert row is not None
        assert row.pdf_digest == hashlib.sha256(proof.pdf).hexdigest()
        assert proof.pdf not in row.pdf_enc and b"%PDF" not in row.pdf_enc
        assert exchange.ctx.protector.decrypt(row.pdf_enc, service.PDF_CONTEXT) == proof.pdf
        assert row.expires_at - row.issued_at == timedelta(days=30)  # catalogue validity_days of hpf_deposit
        assert row.seal_fingerprint == exchange.ctx.keyring.seal("hpf").cert.fingerprint(hashes.SHA256()).hex()
        assert row.holder_hash == exchange.ctx.protector.holder_hash(exchange.records.persona(0).id_number)


def test_proof_numbers_are_readable_checked_and_unique(issued: dict[tuple[str, int], service.IssuedProof]) -> None:
    ids = [p.proof.id for p in issued.values()]
    assert len(set(ids)) == len(ids)
    for pid in ids:
        assert re.fullmatch(r"CS-[A-Z]{2,4}-\d{8}-[0-9A-Y]{9}-[0-9A-Z]", pid), pid
        assert service.check_proof_number(pid)
        typo = pid[:-3] + ("1" if pid[-3] != "1" else "2") + pid[-2:]
        assert not service.check_proof_number(typo)


def test_qr_from_rendered_page_verifies_offline_and_leads_to_the_record(
    exchange: ExchangeEnv, issued: dict[tuple[str, int], service.IssuedProof], tmp_path: Path
) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    proof = issued[("realty_query", 3)]
    path = tmp_path / "p.pdf"
    path.write_bytes(proof.pdf)
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-singlefile", str(path), str(tmp_path / "page")], check=True)
    barcodes = zxingcpp.read_barcodes(Image.open(tmp_path / "page.png").convert("L"))
    texts = [b.text for b in barcodes if b.format == zxingcpp.BarcodeFormat.QRCode]
    assert texts == [proof.qr_text]
    url, _, _token = texts[0].partition("#")
    assert url == f"{exchange.settings.public_base_url}/v/{proof.proof.id}"

    with exchange.session() as s:
        trust = current_trust_list(exchange.ctx, s)
    offline = verify_proof_qr(texts[0], trust, require_status=False)  # no database, no status: signature, issuer
    assert offline.valid, offline.verdict
    assert verify_proof_qr(texts[0], trust).codes == (Code.STATUS_UNAVAILABLE,)  # ... unless asked: fail closed
    assert offline.details["claims"]["proof_id"] == proof.proof.id

    resp = exchange.client.get(url.removeprefix(exchange.settings.public_base_url),
                               headers={"Accept": "application/json"})
    assert resp.status_code == 200, resp.text
    record = resp.json()
    assert record["proof_id"] == proof.proof.id
    assert record["status"] == "valid"
    assert record["data_digest"] == hashlib.sha256(_canonical_of(exchange, proof.proof.id)).hexdigest()
    person = exchange.records.persona(3)
    assert person.id_number not in resp.text and person.name not in resp.text  # masked only


def _canonical_of(exchange: ExchangeEnv, proof_id: str) -> bytes:
    with exchange.session() as s:
        row = s.get(Proof, proof_id)
        assert row is not None
        return str(service.stored_data(exchange.ctx, row)["canonical"]).encode()


def _verify(exchange: ExchangeEnv, pdf: bytes) -> service.ProofVerdict:
    with unit_of_work(exchange.ctx.sessions) as s:
        return service.verify_pdf(exchange.ctx, s, pdf, department_id="amr", actor=VERIFIER)


def test_verify_valid_pdf_and_qr(exchange: ExchangeEnv, issued: dict[tuple[str, int], service.IssuedProof]) -> None:
    proof = issued[("household_registration", 4)]
    verdict = _verify(exchange, proof.pdf)
    assert verdict.valid and verdict.codes == (), verdict.verdict
    assert verdict.proof is not None and verdict.proof["proof_id"] == proof.proof.id
    assert verdict.proof["data_masked"] is False  # the caller holds the document
    with unit_of_work(exchange.ctx.sessions) as s:
        qr = service.verify_qr(exchange.ctx, s, proof.qr_text, department_id="amr", actor=VERIFIER)
    assert qr.valid, qr.verdict
    assert qr.proof is not None and qr.proof["data_masked"] is True
    shown = {f["name"]: f["value"] for f in qr.proof["data"]["fields"]}
    assert shown["id_number"] == builders.mask_citizen_id(exchange.records.persona(4).id_number)


def test_one_byte_changed_is_tampered(exchange: ExchangeEnv,
                                      issued: dict[tuple[str, int], service.IssuedProof]) -> None:
    pdf = issued[("hpf_deposit", 2)].pdf
    i = pdf.index(b"(licex)")  # /Creator in the sealed revision
    tampered = pdf[: i + 1] + b"L" + pdf[i + 2:]
    verdict = _verify(exchange, tampered)
    assert verdict.codes == (Code.TAMPERED,), verdict.verdict
    assert verdict.proof is None


def test_tampered_qr_data_is_caught(exchange: ExchangeEnv, issued: dict[tuple[str, int], service.IssuedProof]
                                    ) -> None:
    proof = issued[("hpf_deposit", 2)]
    with unit_of_work(exchange.ctx.sessions) as s:
        row = s.get(Proof, proof.proof.id)
        assert row is not None
        stored = service.stored_data(exchange.ctx, row)
        forged = {**stored, "canonical": stored["canonical"].replace("正常", "封存")}
        assert forged != stored
        canonical = forged["canonical"].encode()
        with exchange.session() as s2:
            trust = current_trust_list(exchange.ctx, s2)
        assert verify_proof_qr(proof.qr_text, trust, canonical_data=canonical,
                               require_status=False).codes == (Code.TAMPERED,)


def test_revoked_seal_certificate_is_revoked(exchange: ExchangeEnv,
                                             issued: dict[tuple[str, int], service.IssuedProof]) -> None:
    proof = issued[("blood_donation_proof", 2)]
    fingerprint = proof.proof.seal_fingerprint
    with unit_of_work(exchange.ctx.sessions) as s:
        revoke_certificate(s, fingerprint, "keyCompromise")
    try:
        verdict = _verify(exchange, proof.pdf)
        assert Code.REVOKED in verdict.codes, verdict.verdict
        with unit_of_work(exchange.ctx.sessions) as s:
            qr = service.verify_qr(exchange.ctx, s, proof.qr_text, department_id="amr", actor=VERIFIER)
        assert Code.REVOKED in qr.codes
    finally:  # reinstate for the other tests of this module (the fixture is module-scoped)
        with unit_of_work(exchange.ctx.sessions) as s:
            s.execute(update(DepartmentCertificate).where(DepartmentCertificate.fingerprint == fingerprint)
                      .values(revoked_at=None, revoke_reason=None))
    assert _verify(exchange, proof.pdf).valid


def test_withdrawn_proof_is_revoked(exchange: ExchangeEnv) -> None:
    with unit_of_work(exchange.ctx.sessions) as s:
        proof = service.create_instant(exchange.ctx, s, type_key="hpf_deposit",
                                       id_number=exchange.records.persona(3).id_number, requester=CITIZEN)
    with unit_of_work(exchange.ctx.sessions) as s:
        service.revoke(s, proof.proof.id)
    verdict = _verify(exchange, proof.pdf)
    assert verdict.codes == (Code.REVOKED,)
    assert verdict.proof is not None and "data" not in verdict.proof  # status only, no personal data


def test_sealed_outside_the_trust_list_is_unknown_issuer(
    exchange: ExchangeEnv, issued: dict[tuple[str, int], service.IssuedProof]
) -> None:
    rogue_key, rogue_root = create_root_ca(common_name="冒充的根CA")
    key, cert = issue_certificate(rogue_key, rogue_root, subject_cn="长沙市不动产登记中心电子印章",
                                  org="长沙市不动产登记中心", department_id="housing", uscc="12430100448701032Y",
                                  use="seal")
    doc = builders.build(
        exchange.ctx.catalogue, exchange.ctx.catalogue.proof_types["realty_query"],
        _holder_data(exchange, "realty_query", 2), number="CS-BDC-20260101-000000000-0",
        issued_at=datetime.now(UTC), produced_by="x").doc
    pdf = PdfSealer(key, cert, [rogue_root]).seal(render_proof_pdf(doc))
    verdict = _verify(exchange, pdf)
    assert verdict.codes == (Code.UNKNOWN_ISSUER,), verdict.verdict


def _holder_data(exchange: ExchangeEnv, type_key: str, persona: int) -> Any:
    from exchange.proofs.datasource import data_source

    data = data_source(exchange.ctx).holder_data(type_key, exchange.records.persona(persona).id_number,
                                                 context={})
    assert data is not None
    return data


def test_sealed_by_the_department_but_never_recorded_is_not_found(exchange: ExchangeEnv) -> None:
    pt = exchange.ctx.catalogue.proof_types["realty_query"]
    now = datetime.now(UTC).replace(microsecond=0)
    built = builders.build(exchange.ctx.catalogue, pt, _holder_data(exchange, "realty_query", 0),
                           number=service.new_proof_number(exchange.ctx, pt.key, now), issued_at=now,
                           produced_by="x")
    sealed = pipeline_for(exchange.ctx).seal(SealJob(built.doc, built.doc.number, "housing", now, None, "r", "l"))
    verdict = _verify(exchange, sealed.pdf)
    assert verdict.codes == (Code.NOT_FOUND,), verdict.verdict


def test_expired_proof_is_expired(exchange: ExchangeEnv) -> None:
    past = datetime.now(UTC) - timedelta(days=40)  # hpf_deposit is valid for 30 days
    with unit_of_work(exchange.ctx.sessions) as s:
        proof = service.create_instant(exchange.ctx, s, type_key="hpf_deposit",
                                       id_number=exchange.records.persona(0).id_number, requester=CITIZEN,
                                       now=past)
    verdict = _verify(exchange, proof.pdf)
    assert verdict.codes == (Code.EXPIRED,), verdict.verdict


def test_id_masked_on_print_when_asked(exchange: ExchangeEnv, tmp_path: Path) -> None:
    person = exchange.records.persona(0)
    with unit_of_work(exchange.ctx.sessions) as s:
        proof = service.create_instant(exchange.ctx, s, type_key="household_registration",
                                       id_number=person.id_number, requester=CITIZEN, mask_id=True)
    path = tmp_path / "m.pdf"
    path.write_bytes(proof.pdf)
    text = _flat(subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True,
                                check=True).stdout)
    assert person.id_number not in text
    assert builders.mask_citizen_id(person.id_number) in text


def test_unknown_type_reviewed_type_and_missing_records(exchange: ExchangeEnv) -> None:
    from exchange.kit.errors import InvalidInput, NotFound

    pid = exchange.records.persona(4).id_number  # 张𬱖 has no HPF account
    with unit_of_work(exchange.ctx.sessions) as s:
        with pytest.raises(NotFound) as e1:
            service.create_instant(exchange.ctx, s, type_key="nope", id_number=pid, requester=CITIZEN)
        assert e1.value.code == "PROOF_TYPE_NOT_FOUND"
        with pytest.raises(InvalidInput) as e2:
            service.create_instant(exchange.ctx, s, type_key="no_criminal_record", id_number=pid,
                                   requester=CITIZEN)
        assert e2.value.code == "PROOF_TYPE_REVIEWED"
        with pytest.raises(NotFound) as e3:
            service.create_instant(exchange.ctx, s, type_key="hpf_deposit", id_number=pid, requester=CITIZEN)
        assert e3.value.code == "NO_RECORD"
        with pytest.raises(InvalidInput):
            service.create_instant(exchange.ctx, s, type_key="hpf_deposit", id_number="430102199003071235",
                                   requester=CITIZEN)  # bad check digit


def test_every_step_is_in_the_usage_log(exchange: ExchangeEnv,
                                        issued: dict[tuple[str, int], service.IssuedProof]) -> None:
    proof = issued[("gov_data_query_sheet", 3)]
    _verify(exchange, proof.pdf)
    holder = proof.proof.holder_hash
    with unit_of_work(exchange.ctx.sessions) as s:
        service.pdf_for_holder(exchange.ctx, s, proof.proof.id, holder_hash=holder, actor=CITIZEN,
                               disposition="print")
    with exchange.session() as s:
        entries = [e for e in usage.list_for_holder(s, holder, limit=500)
                   if e.subject.get("proof_id") == proof.proof.id]
        actions = {e.action for e in entries}
        assert {"proof_created", "proof_verified", "proof_printed"} <= actions, actions
        assert usage.verify_holder(s, holder) == (True, None)
