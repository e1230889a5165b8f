"""The bulk importer's verification processes: everything a worker imports and runs.

A worker verifies and encrypts batches of lines (CPU-bound Python: signature, chain, disclosures, identifiers,
schema). It imports only the verifier, the catalogue, the intake checks and the data protector — not the
database layer or the web application — so a worker starts in a fraction of the time. Workers come from a fork
server (started fresh, not forked from the importer, so no database socket is shared); the server imports
this module once and each worker is a copy-on-write fork of it. Each worker gets the master key once,
through its initializer (a pipe between the exchange's own processes; never written anywhere), so it can
compute the holder index hash and encrypt the payload too; the parent only reads lines and stores rows.
"""

from __future__ import annotations

import gc
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from schemas.catalogue import Catalogue, load_catalogue
from verifier.trust import TrustList

from ..kit.crypto import DataProtector
from ..kit.errors import ExchangeError, InvalidInput
from ..kit.processes import exit_with
from . import intake

__all__ = ["MAX_LINE_BYTES", "PreparedBatch", "credential_of", "init_worker", "prepare_batch", "prepare_lines"]

MAX_LINE_BYTES = 512 * 1024


@dataclass
class PreparedBatch:
    last_line: int
    rows: list[tuple[Any, ...]]  # one per distinct licence id in the batch, first occurrence wins
    rejects: list[dict[str, object]]
    #: licence id -> (status list entry or None, signing certificate fingerprint, department id)
    meta: dict[str, tuple[Any, str, str]] = field(default_factory=dict)


_WORKER: dict[str, Any] = {}


def init_worker(master_key: bytes, importer_pid: int) -> None:
    """Pool initializer: the catalogue and the data protector, once per worker process; the worker exits when
    the importing process ``importer_pid`` does, however it ended."""
    exit_with(importer_pid)
    _WORKER["catalogue"] = load_catalogue()
    _WORKER["protector"] = DataProtector(master_key)
    _WORKER["trust"] = {}
    gc.freeze()  # the catalogue and modules stay for the worker's life: keep them out of every collection


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
    meta: dict[str, tuple[Any, str, str]] = {}
    rejects: list[dict[str, object]] = []
    for number, line in batch:
        if not line.strip():
            continue
        try:
            item = intake.prepare(credential_of(line), trust=trust, catalogue=catalogue, pushing_department=None)
        except ExchangeError as exc:
            rejects.append({"line": number, "error": exc.code, "field": exc.field})
            continue
        except (ValueError, UnicodeDecodeError) as exc:
            rejects.append({"line": number, "error": "MALFORMED_LINE", "field": type(exc).__name__})
            continue
        if item.licence_id in rows:
            continue
        meta[item.licence_id] = (item.status_list, item.signer_fingerprint, item.department_id)
        rows[item.licence_id] = (
            item.licence_id, item.licence_type.code, item.licence_type.key, item.department_id,
            protector.holder_hash(item.holder_code), item.holder_code_type, item.digest,
            protector.encrypt(item.credential.encode(), item.licence_id), item.issued_on, item.valid_from,
            item.valid_until, "valid")
    return PreparedBatch(batch[-1][0] if batch else 0, list(rows.values()), rejects, meta)


def prepare_batch(job: tuple[bytes, list[tuple[int, bytes]]]) -> PreparedBatch:
    """Worker entry point: ``(signed trust list, lines)`` → prepared rows."""
    raw_trust, batch = job
    return prepare_lines(batch, trust=_trust(raw_trust), catalogue=_WORKER["catalogue"],
                         protector=_WORKER["protector"])
