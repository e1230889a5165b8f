"""Bulk import of licences that carry status list entries: every batch's entries are bound at once, with the
same rules as a single push (only an entry allocated to the issuing department, each entry to one licence)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import event, select

from exchange.licences.importer import ImportReport, import_jsonl
from exchange.models import Licence
from exchange.status import service as status_lists
from exchange.status.models import StatusAllocation, StatusListShard
from issuers.demo import bulk_drafts
from issuers.drafts import LicenceDraft
from schemas.identifiers import make_licence_identifier
from tests.fixtures.exchange import ExchangeEnv


def _refs(env: ExchangeEnv, department: str, count: int) -> list[tuple[int, str]]:
    with env.ctx.sessions() as session, session.begin():
        return [(r.idx, r.uri) for r in status_lists.allocate(env.ctx, session, owner=department, count=count)]


def _licence_id(env: ExchangeEnv, draft: LicenceDraft) -> str:
    lt = env.ctx.catalogue.licence_types[draft.type_key]
    return make_licence_identifier(lt.code, env.ctx.catalogue.departments[draft.department_id].uscc, draft.serial)


def _import(env: ExchangeEnv, path: Path, lines: list[str]) -> tuple[ImportReport, dict[str, str]]:
    """Import ``lines``; the report and the rejected licence ids with their error codes."""
    path.write_text("".join(lines))
    report = import_jsonl(env.ctx, path, batch_size=100, workers=1)
    rejects_path = env.settings.data_dir / "imports" / f"{report.file_digest[:16]}.rejects.jsonl"
    rejects = [json.loads(r) for r in rejects_path.read_text().splitlines()] if rejects_path.exists() else []
    return report, {str(r["licence_id"]): str(r["error"]) for r in rejects}


def _line(env: ExchangeEnv, draft: LicenceDraft, ref: tuple[int, str]) -> str:
    return json.dumps({"credential": env.signer(draft.department_id).sign(draft, status_list=ref)}) + "\n"


def _holder(env: ExchangeEnv, ref: tuple[int, str]) -> tuple[str, str | None]:
    with env.ctx.sessions() as s:
        row = s.scalars(select(StatusAllocation).join(StatusListShard).where(
            StatusListShard.list_id == ref[1].rsplit("/", 1)[1], StatusAllocation.idx == ref[0])).one()
        return row.owner, row.subject


def test_refusals_decided_against_the_database(exchange: ExchangeEnv, tmp_path: Path) -> None:
    """An entry bound earlier to another licence; an index out of any list's range; a first claimant not the
    entry's owner, then its owner's licence; a registered licence named again with another entry."""
    drafts = list(bulk_drafts(60, seed=73))
    a, b = next((x, y) for x in drafts for y in drafts if x.department_id != y.department_id)
    same = [d for d in drafts if d.department_id == a.department_id and d is not a]
    earlier, later, registered, outside = same[:4]
    mine = _refs(exchange, a.department_id, 4)
    b_entry = _refs(exchange, b.department_id, 1)[0]
    report, rejected = _import(exchange, tmp_path / "one.jsonl",
                               [_line(exchange, earlier, mine[0]), _line(exchange, registered, mine[1])])
    assert report.imported == 2 and not rejected
    report, rejected = _import(exchange, tmp_path / "two.jsonl", [
        _line(exchange, later, mine[0]),  # bound to `earlier` in the first file
        _line(exchange, outside, ((1 << 31) + 5, mine[2][1])),  # no list has such an index
        _line(exchange, a, b_entry),  # b's entry, named first by a licence of a's department
        _line(exchange, b, b_entry),  # then by b's own licence: it gets it
        _line(exchange, registered, mine[3]),  # already registered (with mine[1]): stays so, mine[3] stays free
    ])
    assert rejected == {_licence_id(exchange, d): "STATUS_REFERENCE_INVALID" for d in (later, outside, a)}, rejected
    assert (report.imported, report.already_present, report.rejected) == (1, 1, 3)
    assert _holder(exchange, mine[0]) == (a.department_id, _licence_id(exchange, earlier))
    assert _holder(exchange, b_entry) == (b.department_id, _licence_id(exchange, b))
    assert _holder(exchange, mine[1]) == (a.department_id, _licence_id(exchange, registered))
    assert _holder(exchange, mine[3]) == (a.department_id, None)


def test_batch_binding_follows_the_push_rules(exchange: ExchangeEnv, tmp_path: Path) -> None:
    drafts = list(bulk_drafts(40, seed=71))
    departments = sorted({d.department_id for d in drafts})
    refs = {dept: _refs(exchange, dept, sum(d.department_id == dept for d in drafts)) for dept in departments}
    other = next(d for d in exchange.ctx.catalogue.departments if d not in departments)
    theirs = _refs(exchange, other, 1)[0]
    signers = {dept: exchange.signer(dept) for dept in departments}
    # two licences of one department naming the same entry: the one earlier in the file keeps it
    first, second = next((a, b) for a in range(10, 40) for b in range(a + 1, 40)
                         if drafts[a].department_id == drafts[b].department_id)
    chosen: dict[int, tuple[int, str]] = {}
    lines = []
    for i, draft in enumerate(drafts):
        ref = refs[draft.department_id].pop()
        if i == 5:
            ref = theirs  # allocated to another department
        elif i == 8:
            ref = (ref[0], "http://elsewhere.example/api/v1/status-lists/0011")  # not one of ours
        elif i == second:
            ref = chosen[first]
        chosen[i] = ref
        credential = signers[draft.department_id].sign(draft, status_list=ref)
        lines.append(json.dumps({"credential": credential}) + "\n")
    path = tmp_path / "with-status.jsonl"
    path.write_text("".join(lines))
    before = exchange.count(Licence)
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(exchange.ctx.engine, "before_cursor_execute", record)
    try:
        report = import_jsonl(exchange.ctx, path, batch_size=100, workers=1)
    finally:
        event.remove(exchange.ctx.engine, "before_cursor_execute", record)
    # the batch's 40 entries: bound in one statement, then one locked look-up (on PostgreSQL of those it did not
    # bind, on SQLite of all) to tell a refusal from a repeat
    assert sum("status_allocations" in sql for sql in seen) == 2, [
        q[:60] for q in seen]
    assert not any("status_lists.data" in sql for sql in seen)  # no list's 256 KB bit string is read
    rejects = [json.loads(r) for r in (exchange.settings.data_dir / "imports" /
                                       f"{report.file_digest[:16]}.rejects.jsonl").read_text().splitlines()]
    assert {r["error"] for r in rejects} == {"STATUS_REFERENCE_INVALID"}
    assert all(r["field"] == "status" for r in rejects)
    refused = {r["licence_id"] for r in rejects}
    expected_rejects = 3
    assert refused == {_licence_id(exchange, drafts[i]) for i in (5, 8, second)}, rejects  # the first keeps it
    assert report.imported == len(drafts) - expected_rejects and report.rejected == expected_rejects
    assert exchange.count(Licence) == before + report.imported
    with exchange.ctx.sessions() as s:
        stored = set(s.scalars(select(Licence.licence_id).order_by(Licence.id.desc()).limit(report.imported)))
        assert not stored & refused
        bound = dict(s.execute(select(StatusAllocation.subject, StatusAllocation.owner)
                               .where(StatusAllocation.kind == "licence",
                                      StatusAllocation.subject.in_(stored | refused))).all())
        assert set(bound) == stored  # each stored licence holds its entry; a refused one holds none
        theirs_entry = s.scalars(select(StatusAllocation).join(StatusListShard).where(
            StatusListShard.list_id == theirs[1].rsplit("/", 1)[1], StatusAllocation.idx == theirs[0])).one()
        assert theirs_entry.owner == other and theirs_entry.subject is None  # still free for its department
    # another file with the same lines: binding again to the same licence is no change, nothing new is stored
    again_path = tmp_path / "again.jsonl"
    again_path.write_text("\n" + path.read_text())
    again = import_jsonl(exchange.ctx, again_path, batch_size=100, workers=1)
    assert (again.imported, again.already_present, again.rejected) == (0, report.imported, expected_rejects)
    # an imported licence's entry changes with its status, like a pushed one's
    licence_id = sorted(stored)[0]
    with exchange.ctx.sessions() as s, s.begin():
        assert status_lists.set_status(s, kind="licence", subject=licence_id, action="suspend")
