"""Bulk import of signed licences from JSONL, verified line by line, resumable after a crash.

Each batch's rows and the checkpoint (``import_runs.lines_done``) are committed in ONE transaction, so after a
``kill -9`` the rerun continues from the last committed line: nothing is imported twice, nothing is lost. The
unique licence identifier guards against duplicates across files too. Rejected lines are counted and listed in
``<data_dir>/imports/<digest>.rejects.jsonl`` (line number, error code, field — never the content).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from ..context import AppContext
from ..kit.db import utcnow
from ..kit.errors import ExchangeError, InvalidInput
from ..models import ImportRun
from ..trust.service import current_trust_list
from . import repository, service

MAX_LINE_BYTES = 512 * 1024


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


def _credential(line: bytes) -> str:
    if len(line) > MAX_LINE_BYTES:
        raise InvalidInput("line too long", code="LINE_TOO_LONG", field="line")
    text = line.decode("utf-8", errors="strict").strip()
    if text.startswith("{"):
        doc = json.loads(text)
        if not isinstance(doc, dict) or not isinstance(doc.get("credential"), str):
            raise InvalidInput('expected {"credential": ...}', field="credential")
        return str(doc["credential"])
    return text


def _lines(path: Path, skip: int) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if number <= skip:
                continue
            yield number, line


def import_jsonl(ctx: AppContext, path: Path, *, batch_size: int = 500,
                 progress: Callable[[int, int], None] | None = None) -> ImportReport:
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
    batch: list[tuple[int, bytes]] = []
    for item in _lines(path, start):
        batch.append(item)
        if len(batch) >= batch_size:
            _commit_batch(ctx, digest, batch, report, rejects_path)
            if progress:
                progress(batch[-1][0], total)
            batch = []
    if batch:
        _commit_batch(ctx, digest, batch, report, rejects_path)
    with ctx.sessions() as session, session.begin():
        run = _run(session, digest)
        run.finished_at = utcnow()
    if progress:
        progress(total, total)
    return report


def _run(session: Session, digest: str) -> ImportRun:
    run = session.get(ImportRun, digest)
    if run is None:
        raise RuntimeError(f"import checkpoint {digest[:12]} vanished")
    return run


def _commit_batch(ctx: AppContext, digest: str, batch: list[tuple[int, bytes]], report: ImportReport,
                  rejects_path: Path) -> None:
    rejects: list[dict[str, object]] = []
    with ctx.sessions() as session, session.begin():
        trust = current_trust_list(ctx, session)
        prepared: dict[str, service.PreparedLicence] = {}
        for number, line in batch:
            if not line.strip():
                continue
            try:
                item = service.prepare(_credential(line), trust=trust, catalogue=ctx.catalogue,
                                       pushing_department=None)
            except ExchangeError as exc:
                rejects.append({"line": number, "error": exc.code, "field": exc.field})
                continue
            except (ValueError, UnicodeDecodeError) as exc:
                rejects.append({"line": number, "error": "MALFORMED_LINE", "field": type(exc).__name__})
                continue
            prepared.setdefault(item.licence_id, item)
        present = repository.existing_ids(session, list(prepared))
        new = [p for lid, p in prepared.items() if lid not in present]
        bound: list[service.PreparedLicence] = []
        for p in new:
            if p.status_list is None:
                bound.append(p)
                continue
            try:
                with session.begin_nested():
                    service.bind_status(ctx, session, p)
            except ExchangeError as exc:
                rejects.append({"line": None, "licence_id": p.licence_id, "error": exc.code, "field": exc.field})
                continue
            bound.append(p)
        new = bound
        session.add_all([service.new_row(p, ctx.protector) for p in new])
        for p in new:
            service.record_signer(session, p)
        run = _run(session, digest)
        run.lines_done = batch[-1][0]
        run.imported += len(new)
        run.rejected += len(rejects)
        run.updated_at = utcnow()
    report.imported += len(new)
    report.already_present += len(prepared) - len(new)
    report.rejected += len(rejects)
    if rejects:
        with rejects_path.open("a") as fh:
            for r in rejects:
                fh.write(json.dumps(r) + "\n")
