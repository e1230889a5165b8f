"""The bulk importer's worker pool and COPY path give exactly what the in-process path gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from exchange.licences.importer import import_jsonl
from exchange.licences.models import LicenceSigner
from exchange.licences.service import signed_by
from exchange.models import ImportRun, Licence
from tests.exchange.licences.test_import import _write_jsonl
from tests.fixtures.exchange import ExchangeEnv


def test_worker_pool_import_is_verified_counted_and_idempotent(exchange: ExchangeEnv, tmp_path: Path) -> None:
    path = tmp_path / "pool.jsonl"
    good = _write_jsonl(exchange, path, 400, seed=31, bad_every=40)
    before = exchange.count(Licence)
    report = import_jsonl(exchange.ctx, path, batch_size=50, workers=2)
    assert report.imported == good and report.rejected == 400 - good and report.already_present == 0
    assert exchange.count(Licence) == before + good
    rejects = (exchange.settings.data_dir / "imports" / f"{report.file_digest[:16]}.rejects.jsonl").read_text()
    assert [json.loads(line)["line"] for line in rejects.splitlines()][-10:] == list(range(40, 401, 40))
    with exchange.ctx.sessions() as s:
        run = s.get(ImportRun, report.file_digest)
        assert run is not None and run.lines_done == 400 and run.imported == good
        rows = s.scalars(select(Licence).order_by(Licence.id.desc()).limit(good)).all()
    # rows written by the workers decrypt with the exchange's key and index under the same holder hash
    for row in rows[:20]:
        credential = exchange.ctx.protector.decrypt(row.payload_enc, row.licence_id).decode()
        assert credential.count("~") >= 2 and row.status == "valid" and len(row.holder_hash) == 64
        assert row.created_at.tzinfo is not None
    # signed-by: each stored licence names its department and the certificate that signed it
    ids = {r.licence_id: r.department_id for r in rows}
    with exchange.ctx.sessions() as s:
        signers = s.scalars(select(LicenceSigner).where(LicenceSigner.licence_id.in_(list(ids)))).all()
        assert {x.licence_id: x.department_id for x in signers} == ids
        fingerprint = signers[0].cert_fingerprint
        assert len(fingerprint) == 64 and signers[0].licence_id in signed_by(s, fingerprint)
    # the same licences in another file: nothing new, all counted as already present
    copy = tmp_path / "again.jsonl"
    copy.write_text("\n" + path.read_text())
    signers_before = exchange.count(LicenceSigner)
    again = import_jsonl(exchange.ctx, copy, batch_size=64, workers=2)
    assert again.imported == 0 and again.already_present == good and again.rejected == 400 - good
    assert exchange.count(Licence) == before + good
    assert exchange.count(LicenceSigner) == signers_before  # first registration wins, nothing duplicated


def test_in_process_and_pool_store_the_same_rows(exchange: ExchangeEnv, tmp_path: Path) -> None:
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    _write_jsonl(exchange, one, 120, seed=41)
    _write_jsonl(exchange, two, 120, seed=42)
    a = import_jsonl(exchange.ctx, one, batch_size=32, workers=1)
    b = import_jsonl(exchange.ctx, two, batch_size=32, workers=2)
    assert a.imported == b.imported == 120
    with exchange.ctx.sessions() as s:
        newest = s.scalars(select(Licence).order_by(Licence.id.desc()).limit(240)).all()
    assert {r.type_key for r in newest[:120]} and {r.type_key for r in newest[120:]}
    for row in newest:
        assert exchange.ctx.protector.decrypt(row.payload_enc, row.licence_id)


def test_copied_rows_read_back_field_for_field(exchange: ExchangeEnv, tmp_path: Path) -> None:
    """What the importer stores (binary COPY on PostgreSQL, ORM rows on SQLite) equals what intake prepared."""
    from exchange.licences import intake

    path = tmp_path / "fields.jsonl"
    _write_jsonl(exchange, path, 30, seed=61)
    started = datetime.now(UTC)
    report = import_jsonl(exchange.ctx, path, batch_size=8, workers=1)
    finished = datetime.now(UTC)
    assert report.imported == 30
    with exchange.ctx.sessions() as s:
        from exchange.trust.service import current_trust_list

        trust = current_trust_list(exchange.ctx, s)
        for line in path.read_text().splitlines():
            prepared = intake.prepare(json.loads(line)["credential"], trust=trust, catalogue=exchange.ctx.catalogue,
                                      pushing_department=None)
            row = s.scalars(select(Licence).where(Licence.licence_id == prepared.licence_id)).one()
            assert (row.type_code, row.type_key, row.department_id, row.holder_code_type, row.content_digest,
                    row.issued_on, row.valid_from, row.valid_until, row.status) == (
                prepared.licence_type.code, prepared.licence_type.key, prepared.department_id,
                prepared.holder_code_type, prepared.digest, prepared.issued_on, prepared.valid_from,
                prepared.valid_until, "valid")
            assert row.holder_hash == exchange.ctx.protector.holder_hash(prepared.holder_code)
            assert exchange.ctx.protector.decrypt(row.payload_enc, row.licence_id).decode() == prepared.credential
            assert row.created_at.tzinfo is not None and started <= row.created_at <= finished
