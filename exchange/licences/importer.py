"""Bulk import of signed licences from JSONL, verified line by line, resumable after a crash.

Each batch's rows and the checkpoint (``import_runs.lines_done``) are committed in ONE transaction, so after a
``kill -9`` the rerun continues from the last committed line: nothing is imported twice, nothing is lost. The
unique licence identifier guards against duplicates across files too. Rejected lines are counted and listed in
``<data_dir>/imports/<digest>.rejects.jsonl`` (line number, error code, field — never the content).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ..context import AppContext
from ..kit.db import utcnow
from ..models import ImportRun
from ..trust.service import current_trust_list
from . import bulk, pool, repository

MAX_LINE_BYTES = pool.MAX_LINE_BYTES
#: Files with fewer lines left than this are verified in process (starting the worker processes costs more).
POOL_MIN_LINES = 20_000
MAX_WORKERS = 8


@dataclass
class ImportReport:
    file_digest: str
    total_lines: int
    resumed_from: int
    imported: int
    already_present: int
    rejected: int


def file_digest(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    lines = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            lines += chunk.count(b"\n")
    return h.hexdigest(), lines


def _lines(path: Path, skip: int) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if number <= skip:
                continue
            yield number, line


def _workers(requested: int | None, remaining_lines: int, batch_size: int) -> int:
    if requested is not None:
        return max(1, requested)
    if remaining_lines < POOL_MIN_LINES:
        return 1  # starting worker processes costs more than it saves
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def import_jsonl(ctx: AppContext, path: Path, *, batch_size: int = 500,
                 progress: Callable[[int, int], None] | None = None, workers: int | None = None) -> ImportReport:
    """Import ``path``; ``workers`` verification processes (default: one per CPU for large files)."""
    digest, total = file_digest(path)
    with ctx.sessions() as session, session.begin():
        run = session.get(ImportRun, digest)
        if run is None:
            run = ImportRun(file_digest=digest, file_name=path.name[:255], lines_done=0, imported=0, rejected=0)
            session.add(run)
        start = run.lines_done
    report = ImportReport(digest, total, start, 0, 0, 0)
    rejects_dir = ctx.settings.data_dir / "imports"
    rejects_dir.mkdir(parents=True, exist_ok=True)
    rejects_path = rejects_dir / f"{digest[:16]}.rejects.jsonl"
    if progress:
        progress(start, total)
    n_workers = _workers(workers, total - start, batch_size)
    chunks = bulk.batches(_lines(path, start), batch_size)
    if n_workers == 1:
        for batch in chunks:
            with ctx.sessions() as session:
                trust = current_trust_list(ctx, session)
            prepared = pool.prepare_lines(batch, trust=trust, catalogue=ctx.catalogue, protector=ctx.protector)
            _commit(ctx, digest, prepared, report, rejects_path, progress, total)
    else:
        _import_parallel(ctx, digest, chunks, n_workers, report, rejects_path, progress, total)
    with ctx.sessions() as session, session.begin():
        run = _run(session, digest)
        run.finished_at = utcnow()
    if progress:
        progress(total, total)
    return report


def _worker_context() -> multiprocessing.context.BaseContext:
    """Worker processes forked from a fork server: the server starts fresh (it shares none of this process's
    database sockets), imports the verification module once, and forks each worker from itself. The fork
    server is one per process: if an earlier pool already started it, the preload list is not applied again
    and each worker imports the module itself (slower to start, same result)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", pool.__name__])
    return context


def _import_parallel(ctx: AppContext, digest: str, chunks: Iterator[list[tuple[int, bytes]]], n_workers: int,
                     report: ImportReport, rejects_path: Path, progress: Callable[[int, int], None] | None,
                     total: int) -> None:
    executor = ProcessPoolExecutor(max_workers=n_workers, mp_context=_worker_context(),
                                   initializer=pool.init_worker,
                                   initargs=(ctx.settings.master_key_bytes(), os.getpid()))
    in_flight: deque[Future[pool.PreparedBatch]] = deque()
    try:
        for batch in chunks:
            with ctx.sessions() as session:
                raw_trust = current_trust_list(ctx, session).to_bytes()
            in_flight.append(executor.submit(pool.prepare_batch, (raw_trust, batch)))
            if len(in_flight) >= 2 * n_workers:  # bounded read-ahead; results are stored in file order
                _commit(ctx, digest, in_flight.popleft().result(), report, rejects_path, progress, total)
        while in_flight:
            _commit(ctx, digest, in_flight.popleft().result(), report, rejects_path, progress, total)
    finally:
        for future in in_flight:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)


def _run(session: Session, digest: str) -> ImportRun:
    run = session.get(ImportRun, digest)
    if run is None:
        raise RuntimeError(f"import checkpoint {digest[:12]} vanished")
    return run


def _bind_status_entries(ctx: AppContext, session: Session, prepared: pool.PreparedBatch,
                         registered: Collection[str]) -> list[tuple[Any, ...]]:
    """Bind the status list entries of the batch's licences not yet ``registered`` (only an entry allocated to
    the licence's department and unused), all at once; a licence whose entry is refused is rejected, not stored.
    A registered licence keeps the entry it was registered with. Returns the rows to store."""
    from ..status import service as status_lists

    bindings: list[status_lists.Binding] = []
    for row in prepared.rows:
        ref, _fp, department = prepared.meta.get(row[0], (None, "", ""))
        if ref is not None and row[0] not in registered:
            bindings.append(status_lists.Binding(ref, department, "licence", row[0]))
    refused = status_lists.bind_many(ctx, session, bindings) if bindings else {}
    dropped = set()
    for position, exc in sorted(refused.items()):
        licence_id = bindings[position].subject
        prepared.rejects.append({"line": None, "licence_id": licence_id, "error": exc.code, "field": exc.field})
        dropped.add(licence_id)
    return [row for row in prepared.rows if row[0] not in dropped]


def _record_signers(session: Session, prepared: pool.PreparedBatch, rows: list[tuple[Any, ...]]) -> None:
    """``signed-by``: which certificate signed each licence (first registration wins)."""
    signers = []
    for row in rows:
        _ref, fingerprint, department = prepared.meta.get(row[0], (None, "", ""))
        if fingerprint:
            signers.append((row[0], department, fingerprint))
    bulk.store_signers(session, signers)


def _commit(ctx: AppContext, digest: str, prepared: pool.PreparedBatch, report: ImportReport, rejects_path: Path,
            progress: Callable[[int, int], None] | None, total: int) -> None:
    """The batch's new rows and the checkpoint, in one transaction."""
    now = utcnow()
    with ctx.sessions() as session, session.begin():
        registered = set(repository.existing_ids(session, [row[0] for row in prepared.rows]))
        rows = _bind_status_entries(ctx, session, prepared, registered)
        inserted = bulk.store_batch(session, rows, now, registered=registered)
        _record_signers(session, prepared, rows)
        run = _run(session, digest)
        run.lines_done = prepared.last_line
        run.imported += inserted
        run.rejected += len(prepared.rejects)
        run.updated_at = now
    report.imported += inserted
    report.already_present += len(prepared.rows) - inserted - (len(prepared.rows) - len(rows))
    report.rejected += len(prepared.rejects)
    if prepared.rejects:
        with rejects_path.open("a") as fh:
            for r in prepared.rejects:
                fh.write(json.dumps(r) + "\n")
    if progress:
        progress(prepared.last_line, total)
