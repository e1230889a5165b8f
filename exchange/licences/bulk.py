"""The bulk importer's storage fast path (``COPY``); verification runs in :mod:`exchange.licences.pool`.

Batches stay in file order: the checkpoint (``import_runs.lines_done``) still advances
in the same transaction as the rows it covers, so a ``kill -9`` loses nothing and duplicates nothing.

The caller looks up which of the batch's identifiers are already registered (it needs them to bind status
entries too) and passes them in. On PostgreSQL the new rows go straight into ``licences`` with one binary
``COPY`` inside a savepoint. Should another transaction register one of them in between (a department's push,
a second import), the ``COPY`` fails on the unique identifier, the savepoint is rolled back, and the batch takes
the slower path that cannot conflict: binary ``COPY`` into a temporary staging table, then
``INSERT … SELECT … ON CONFLICT (licence_id) DO NOTHING``.
Measured on PostgreSQL 15, server CPU per licence: 69–89 µs through the text-format staging table, 54–59 µs with
text ``COPY`` straight into ``licences`` (no second write), 37–47 µs with binary ``COPY`` (the encrypted payload
goes as raw bytes, not as hex text for the server to decode).
Elsewhere (SQLite) it is an ordinary bulk insert.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from ..models import Licence
from .models import LicenceSigner

__all__ = ["COLUMNS", "batches", "store_batch", "store_signers"]

#: Column order of the staging table and of the rows :func:`exchange.licences.pool.prepare_lines` returns.
COLUMNS = ("licence_id", "type_code", "type_key", "department_id", "holder_hash", "holder_code_type",
           "content_digest", "payload_enc", "issued_on", "valid_from", "valid_until", "status")
#: PostgreSQL types of :data:`COLUMNS` (then ``created_at``) for binary ``COPY``, which carries no type names.
_TYPES = ("varchar", "varchar", "varchar", "varchar", "varchar", "varchar", "varchar", "bytea", "date", "date",
          "date", "varchar")
_COLS = ", ".join(COLUMNS)
_UNIQUE_LICENCE_ID = "uq_licences_licence_id"
_COPY_DIRECT = f"COPY licences ({_COLS}, created_at) FROM STDIN (FORMAT BINARY)"
_STAGE = "licex_import_stage"
_CREATE_STAGE = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (licence_id varchar(128), type_code varchar(32), "
    "type_key varchar(64), department_id varchar(32), holder_hash varchar(64), holder_code_type varchar(3), "
    "content_digest varchar(64), payload_enc bytea, issued_on date, valid_from date, valid_until date, "
    "status varchar(16)) ON COMMIT DELETE ROWS")
_COPY_STAGE = f"COPY {_STAGE} ({_COLS}) FROM STDIN (FORMAT BINARY)"
_FROM_STAGE = (f"INSERT INTO licences ({_COLS}, created_at) SELECT {_COLS}, :now "  # noqa: S608 - constants only
               f"FROM {_STAGE} ON CONFLICT (licence_id) DO NOTHING")
_EMPTY_STAGE = f"DELETE FROM {_STAGE}"  # noqa: S608 - constant identifiers only
#: ``signed-by`` rows (licence id, department id, certificate fingerprint) take the staging path.
_SIGNER_STAGE = "licex_import_signer_stage"
_CREATE_SIGNER_STAGE = (f"CREATE TEMP TABLE IF NOT EXISTS {_SIGNER_STAGE} (licence_id varchar(128), "
                        "department_id varchar(32), cert_fingerprint varchar(64)) ON COMMIT DELETE ROWS")
_COPY_SIGNER_STAGE = (f"COPY {_SIGNER_STAGE} (licence_id, department_id, cert_fingerprint) "
                      "FROM STDIN (FORMAT BINARY)")
_SIGNER_TYPES = ("varchar", "varchar", "varchar")
_SIGNERS_FROM_STAGE = ("INSERT INTO licence_signers (licence_id, department_id, cert_fingerprint) "  # noqa: S608
                       f"SELECT licence_id, department_id, cert_fingerprint FROM {_SIGNER_STAGE} "
                       "ON CONFLICT (licence_id) DO NOTHING")
_EMPTY_SIGNER_STAGE = f"DELETE FROM {_SIGNER_STAGE}"  # noqa: S608 - constant identifiers only


def store_batch(session: Session, rows: list[tuple[Any, ...]], now: datetime, *, registered: Collection[str]) -> int:
    """Insert the rows whose licence id is not among ``registered`` (looked up by the caller in this
    transaction) nor registered meanwhile by another; returns how many were inserted. Same transaction as the
    caller's checkpoint update."""
    new = [r for r in rows if r[0] not in registered]
    if not new:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        return _copy(session, new, now)
    session.add_all([Licence(**dict(zip(COLUMNS, r, strict=True)), created_at=now) for r in new])
    return len(new)


def store_signers(session: Session, signers: list[tuple[str, str, str]]) -> None:
    """Record which certificate signed each licence, ``(licence id, department id, fingerprint)``; a licence
    already recorded keeps its first entry. Same transaction as the caller's rows and checkpoint."""
    if not signers:
        return
    if session.get_bind().dialect.name == "postgresql":
        _copy_through_stage(session, _CREATE_SIGNER_STAGE, _COPY_SIGNER_STAGE, _SIGNER_TYPES, signers)
        session.connection().execute(text(_SIGNERS_FROM_STAGE))
        session.connection().execute(text(_EMPTY_SIGNER_STAGE))
        return
    known = set(session.scalars(select(LicenceSigner.licence_id).where(
        LicenceSigner.licence_id.in_([s[0] for s in signers]))))
    new = [{"licence_id": i, "department_id": d, "cert_fingerprint": f} for i, d, f in signers if i not in known]
    if new:
        session.execute(insert(LicenceSigner), new)


def _raw(session: Session) -> psycopg.Connection[Any]:
    raw = session.connection().connection.dbapi_connection
    if not isinstance(raw, psycopg.Connection):
        raise RuntimeError("COPY needs the psycopg driver")
    return raw


def _copy_rows(session: Session, copy_sql: str, types: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    with _raw(session).cursor() as cursor, cursor.copy(copy_sql) as copy:
        copy.set_types(list(types))
        for row in rows:
            copy.write_row(row)


def _copy_through_stage(session: Session, create: str, copy_sql: str, types: tuple[str, ...],
                        rows: list[tuple[Any, ...]]) -> None:
    session.connection().execute(text(create))
    _copy_rows(session, copy_sql, types, rows)


def _copy(session: Session, rows: list[tuple[Any, ...]], now: datetime) -> int:
    """``rows`` were not registered when the caller looked."""
    connection = session.connection()
    try:
        with session.begin_nested():  # a savepoint: a failed COPY leaves the batch's transaction usable
            _copy_rows(session, _COPY_DIRECT, (*_TYPES, "timestamptz"), [(*r, now) for r in rows])
    except pg_errors.UniqueViolation as exc:
        if exc.diag.constraint_name != _UNIQUE_LICENCE_ID:
            raise  # not the race this path is for: report it as it is
        # registered meanwhile by another transaction: take the path that skips what is already there
    else:
        return len(rows)
    _copy_through_stage(session, _CREATE_STAGE, _COPY_STAGE, _TYPES, rows)
    result = connection.execute(text(_FROM_STAGE), {"now": now})
    connection.execute(text(_EMPTY_STAGE))  # the next batch may run in this connection's same transaction
    return int(result.rowcount or 0)


def batches(lines: Iterator[tuple[int, bytes]], size: int) -> Iterator[list[tuple[int, bytes]]]:
    batch: list[tuple[int, bytes]] = []
    for item in lines:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
