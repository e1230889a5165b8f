"""The bulk importer's two fast paths: verification in a pool of worker processes, storage with ``COPY``.

Verification is CPU-bound Python (signature, chain, disclosures, identifiers, schema), so it runs in
``workers`` processes (spawned, not forked: a forked child would share the parent's database sockets). Each
worker gets the master key once, through its initializer (a pipe between the exchange's own processes; never
written anywhere), so it can compute the holder index hash and encrypt the payload too; the parent only reads
lines and stores rows. Batches stay in file order: the checkpoint (``import_runs.lines_done``) still advances
in the same transaction as the rows it covers, so a ``kill -9`` loses nothing and duplicates nothing.

On PostgreSQL each batch goes through ``COPY`` into a temporary staging table and one
``INSERT … SELECT … ON CONFLICT (licence_id) DO NOTHING``; elsewhere (SQLite) it is an ordinary bulk insert.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from schemas.catalogue import Catalogue, load_catalogue
from verifier.trust import TrustList

from ..kit.crypto import DataProtector
from ..kit.errors import ExchangeError, InvalidInput
from ..models import Licence
from . import repository, service

__all__ = ["MAX_LINE_BYTES", "PreparedBatch", "init_worker", "prepare_batch", "store_batch"]

MAX_LINE_BYTES = 512 * 1024
#: Column order of the staging table and of the rows :func:`prepare_batch` returns.
COLUMNS = ("licence_id", "type_code", "type_key", "department_id", "holder_hash", "holder_code_type",
           "content_digest", "payload_enc", "issued_on", "valid_from", "valid_until", "status")
_STAGE = "licex_import_stage"
_CREATE_STAGE = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} (licence_id varchar(128), type_code varchar(32), "
    "type_key varchar(64), department_id varchar(64), holder_hash varchar(64), holder_code_type varchar(3), "
    "content_digest varchar(64), payload_enc bytea, issued_on date, valid_from date, valid_until date, "
    "status varchar(16)) ON COMMIT DELETE ROWS")
_COPY_STAGE = f"COPY {_STAGE} ({', '.join(COLUMNS)}) FROM STDIN"
_COLS = ", ".join(COLUMNS)
_FROM_STAGE = (f"INSERT INTO licences ({_COLS}, created_at) SELECT {_COLS}, :now "  # noqa: S608 - constants only
               f"FROM {_STAGE} ON CONFLICT (licence_id) DO NOTHING")
_EMPTY_STAGE = f"DELETE FROM {_STAGE}"  # noqa: S608 - constant identifiers only


@dataclass
class PreparedBatch:
    last_line: int
    rows: list[tuple[Any, ...]]  # one per distinct licence id in the batch, first occurrence wins
    rejects: list[dict[str, object]]


_WORKER: dict[str, Any] = {}


def init_worker(master_key: bytes) -> None:
    """Pool initializer: the catalogue and the data protector, once per worker process."""
    _WORKER["catalogue"] = load_catalogue()
    _WORKER["protector"] = DataProtector(master_key)
    _WORKER["trust"] = {}


def _trust(raw: bytes) -> TrustList:
    cache: dict[str, TrustList] = _WORKER["trust"]
    key = hashlib.sha256(raw).hexdigest()
    if key not in cache:
        cache.clear()
        cache[key] = TrustList.load(raw, allow_stale=True)  # the parent checked it is current
    return cache[key]


def credential_of(line: bytes) -> str:
    if len(line) > MAX_LINE_BYTES:
        raise InvalidInput("line too long", code="LINE_TOO_LONG", field="line")
    text_line = line.decode("utf-8", errors="strict").strip()
    if text_line.startswith("{"):
        doc = json.loads(text_line)
        if not isinstance(doc, dict) or not isinstance(doc.get("credential"), str):
            raise InvalidInput('expected {"credential": ...}', field="credential")
        return str(doc["credential"])
    return text_line


def prepare_lines(batch: list[tuple[int, bytes]], *, trust: TrustList, catalogue: Catalogue,
                  protector: DataProtector) -> PreparedBatch:
    """Verify and encrypt one batch (any process). Rejected lines are listed by number and error code."""
    rows: dict[str, tuple[Any, ...]] = {}
    rejects: list[dict[str, object]] = []
    for number, line in batch:
        if not line.strip():
            continue
        try:
            item = service.prepare(credential_of(line), trust=trust, catalogue=catalogue, pushing_department=None)
        except ExchangeError as exc:
            rejects.append({"line": number, "error": exc.code, "field": exc.field})
            continue
        except (ValueError, UnicodeDecodeError) as exc:
            rejects.append({"line": number, "error": "MALFORMED_LINE", "field": type(exc).__name__})
            continue
        if item.licence_id in rows:
            continue
        rows[item.licence_id] = (
            item.licence_id, item.licence_type.code, item.licence_type.key, item.department_id,
            protector.holder_hash(item.holder_code), item.holder_code_type, item.digest,
            protector.encrypt(item.credential.encode(), item.licence_id), item.issued_on, item.valid_from,
            item.valid_until, "valid")
    return PreparedBatch(batch[-1][0] if batch else 0, list(rows.values()), rejects)


def prepare_batch(job: tuple[bytes, list[tuple[int, bytes]]]) -> PreparedBatch:
    """Worker entry point: ``(signed trust list, lines)`` → prepared rows."""
    raw_trust, batch = job
    return prepare_lines(batch, trust=_trust(raw_trust), catalogue=_WORKER["catalogue"],
                         protector=_WORKER["protector"])


def store_batch(session: Session, rows: list[tuple[Any, ...]], now: datetime) -> int:
    """Insert the rows whose licence id is new; returns how many were inserted. Same transaction as the
    caller's checkpoint update."""
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        return _copy(session, rows, now)
    present = repository.existing_ids(session, [r[0] for r in rows])
    new = [r for r in rows if r[0] not in present]
    session.add_all([Licence(**dict(zip(COLUMNS, r, strict=True)), created_at=now) for r in new])
    return len(new)


def _copy(session: Session, rows: list[tuple[Any, ...]], now: datetime) -> int:
    connection = session.connection()
    connection.execute(text(_CREATE_STAGE))
    raw = connection.connection.dbapi_connection
    if not isinstance(raw, psycopg.Connection):
        raise RuntimeError("COPY needs the psycopg driver")
    with raw.cursor() as cursor, cursor.copy(_COPY_STAGE) as copy:
        for row in rows:
            copy.write_row(row)
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
