"""PostgreSQL's import storage: binary COPY straight into ``licences``, with a fallback for a race."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from psycopg.errors import UniqueViolation
from sqlalchemy import event, func, select

from exchange.licences import bulk, importer
from exchange.licences.importer import file_digest, import_jsonl
from exchange.licences.models import LicenceSigner
from exchange.models import ImportRun, Licence
from tests.exchange.licences.test_import import _write_jsonl
from tests.fixtures.databases import database_url
from tests.fixtures.exchange import ExchangeEnv, make_env


def _sees_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The importer's look-up of the identifiers already registered sees none of them: the race made certain."""
    monkeypatch.setattr(importer.repository, "existing_ids", lambda _session, _ids: {})


@contextmanager
def _statements(env: ExchangeEnv) -> Iterator[list[str]]:
    """SQL sent through SQLAlchemy meanwhile (COPY goes through the driver and is not among them)."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(env.ctx.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(env.ctx.engine, "before_cursor_execute", record)


@pytest.fixture(scope="module")
def pg_exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExchangeEnv]:
    tmp = tmp_path_factory.mktemp("exchange-copy")
    with database_url("postgresql", tmp) as url:
        yield from make_env(tmp, url, "postgresql")


def test_a_licence_registered_between_look_up_and_copy_is_skipped_not_fatal(
        pg_exchange: ExchangeEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL: the batch's new rows go straight into ``licences`` by binary COPY after one look-up of the
    identifiers already there. A licence another transaction registers in between makes the COPY fail on the
    unique identifier; the batch then takes the staging path (ON CONFLICT DO NOTHING) in the same transaction.
    The race is made certain here by a look-up that sees nothing."""
    first, both = tmp_path / "first.jsonl", tmp_path / "both.jsonl"
    _write_jsonl(pg_exchange, both, 60, seed=51)
    lines = both.read_text().splitlines(keepends=True)
    first.write_text("".join(lines[10:20]))  # ten of them registered first
    assert import_jsonl(pg_exchange.ctx, first, batch_size=100, workers=1).imported == 10
    before = pg_exchange.count(Licence)
    _sees_nothing(monkeypatch)
    with _statements(pg_exchange) as seen:
        report = import_jsonl(pg_exchange.ctx, both, batch_size=25, workers=1)
    assert any(bulk._STAGE in sql for sql in seen)  # the fallback ran
    assert any(sql.startswith("ROLLBACK TO SAVEPOINT") for sql in seen)  # after the failed COPY, only it undone
    assert (report.imported, report.already_present, report.rejected) == (50, 10, 0)
    assert pg_exchange.count(Licence) == before + 50
    with pg_exchange.ctx.sessions() as s:
        run = s.get(ImportRun, report.file_digest)
        assert run is not None and run.lines_done == 60 and run.imported == 50
        assert s.scalar(select(func.count(func.distinct(Licence.licence_id)))) == pg_exchange.count(Licence)
        # the batch's other work in the same transaction (signed-by rows) was kept: one per licence of the file
        ids = [r.licence_id for r in s.scalars(select(Licence).order_by(Licence.id.desc()).limit(60))]
        assert s.scalar(select(func.count()).select_from(LicenceSigner)
                        .where(LicenceSigner.licence_id.in_(ids))) == 60



def test_new_licences_go_straight_into_the_table(pg_exchange: ExchangeEnv, tmp_path: Path) -> None:
    """No staging table when nothing conflicts; a re-import of the same file's lines stores nothing again."""
    path = tmp_path / "fresh.jsonl"
    _write_jsonl(pg_exchange, path, 40, seed=52)
    before = pg_exchange.count(Licence)
    with _statements(pg_exchange) as seen:
        report = import_jsonl(pg_exchange.ctx, path, batch_size=16, workers=1)
    assert report.imported == 40 and pg_exchange.count(Licence) == before + 40
    assert not any(bulk._STAGE in sql for sql in seen)
    assert sum("licences.content_digest" in sql for sql in seen) == 3  # one look-up per batch
    copy = tmp_path / "copy.jsonl"
    copy.write_text("\n" + path.read_text())  # another file (another digest), the same licences
    again = import_jsonl(pg_exchange.ctx, copy, batch_size=16, workers=1)
    assert (again.imported, again.already_present) == (0, 40)
    assert pg_exchange.count(Licence) == before + 40


def test_another_unique_violation_is_reported_and_nothing_is_committed(
        pg_exchange: ExchangeEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the identifier's unique constraint means "registered meanwhile"; any other is raised as it is, and the
    batch's transaction (rows and checkpoint) is rolled back."""
    first, both = tmp_path / "first.jsonl", tmp_path / "both.jsonl"
    _write_jsonl(pg_exchange, both, 20, seed=53)
    first.write_text("".join(both.read_text().splitlines(keepends=True)[:5]))
    assert import_jsonl(pg_exchange.ctx, first, batch_size=100, workers=1).imported == 5
    before = pg_exchange.count(Licence)
    _sees_nothing(monkeypatch)
    monkeypatch.setattr(bulk, "_UNIQUE_LICENCE_ID", "some_other_constraint")
    with pytest.raises(UniqueViolation):
        import_jsonl(pg_exchange.ctx, both, batch_size=100, workers=1)
    assert pg_exchange.count(Licence) == before
    with pg_exchange.ctx.sessions() as s:
        run = s.get(ImportRun, file_digest(both)[0])
        assert run is not None and run.lines_done == 0 and run.imported == 0
