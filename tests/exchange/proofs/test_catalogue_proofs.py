"""Every proof type added for Changsha's breadth (issue 12) — instant and online-issued (reviewed) — is made from
its department's register in the demo system of record, laid out by its catalogue template, PAdES-sealed and
checked by poppler's pdfsig against the city root in an NSS database: "Signature is Valid" and
"Certificate is Trusted"."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from exchange.kit.db import unit_of_work
from exchange.proofs import service
from exchange.proofs.datasource import data_source
from exchange.usage.service import Actor
from issuers.pki import cert_to_pem
from schemas.catalogue import load_catalogue
from tests.fixtures.exchange import ExchangeEnv

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("pdfsig", "pdftotext", "certutil")),
    reason="poppler-utils and libnss3-tools are needed",
)

#: Proof types the original tests (test_service.py, e2e review tests) already seal.
EARLIER = {"realty_query", "hpf_deposit", "household_registration", "blood_donation_proof", "gov_data_query_sheet",
           "no_criminal_record", "lawyer_no_penalty"}
NEW_TYPES = sorted(set(load_catalogue().proof_types) - EARLIER)


@pytest.fixture(scope="module")
def nss_db(exchange: ExchangeEnv, tmp_path_factory: pytest.TempPathFactory) -> str:
    d = tmp_path_factory.mktemp("nss")
    (d / "root.pem").write_text(cert_to_pem(exchange.ctx.keyring.root))
    subprocess.run(["certutil", "-N", "--empty-password", "-d", f"sql:{d}"], check=True, capture_output=True)
    subprocess.run(["certutil", "-d", f"sql:{d}", "-A", "-t", "CT,C,C", "-n", "root", "-i", str(d / "root.pem")],
                   check=True, capture_output=True)
    return f"sql:{d}"


def test_new_types_are_many() -> None:
    assert len(NEW_TYPES) >= 18


@pytest.mark.parametrize("type_key", NEW_TYPES)
def test_new_proof_type_seals_valid_and_trusted(exchange: ExchangeEnv, nss_db: str, tmp_path: Path,
                                                type_key: str) -> None:
    pt = exchange.ctx.catalogue.proof_types[type_key]
    source = data_source(exchange.ctx)
    holder = next(p.id_number for p in (exchange.records.persona(i) for i in range(8))
                  if source.holder_data(type_key, p.id_number, context={}) is not None)
    data = service.read_holder_data(exchange.ctx, pt, holder, {})
    assert pt.template is not None
    with unit_of_work(exchange.ctx.sessions) as s:
        issued = service.seal_and_store(exchange.ctx, s, pt, data, requester=Actor("department", "审核员"))
    path = tmp_path / f"{type_key}.pdf"
    path.write_bytes(issued.pdf)
    out = subprocess.run(["pdfsig", "-nssdir", nss_db, str(path)], capture_output=True, text=True).stdout
    assert "Signature is Valid." in out, out
    assert "Certificate is Trusted." in out, out
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "".join(pt.name.split()) in "".join(text.split())
    assert exchange.ctx.catalogue.departments[data.department_id].name in "".join(text.split())
