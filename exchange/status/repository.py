from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import ColumnElement, Integer, bindparam, case, func, select, text, tuple_, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from verifier.status_list import ALLOWED_BITS

from ..kit.db import table_of
from .models import StatusAllocation, StatusListShard


def open_shard(session: Session, fill_limit: float) -> StatusListShard | None:
    """The newest list still under its fill limit (locked for update where the database can)."""
    rows = session.scalars(select(StatusListShard).order_by(StatusListShard.id.desc()).limit(1).with_for_update())
    shard = rows.first()
    if shard is None or shard.allocated >= int(shard.size * fill_limit):
        return None
    return shard


def shard_by_list_id(session: Session, list_id: str, *, lock: bool = False) -> StatusListShard | None:
    query = select(StatusListShard).where(StatusListShard.list_id == list_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def _byte_of(idx: ColumnElement[int] | InstrumentedAttribute[int]) -> ColumnElement[bytes | None]:
    """The byte of ``data`` that holds entry ``idx``, located with the row's own ``bits`` — the SQL form of the
    byte index of :func:`verifier.status_list.locate_entry` (tests compare the two); NULL for a width no list
    has (a corrupt width must not overflow the offset)."""
    return case((StatusListShard.bits.in_(ALLOWED_BITS),
                 func.substr(StatusListShard.data, idx * StatusListShard.bits // 8 + 1, 1)), else_=None)


# Built once: constructing these expressions costs more CPU than running the query (SQLAlchemy, measured).
_ENTRY_BYTE = (
    select(StatusListShard.size, StatusListShard.bits, func.length(StatusListShard.data),
           _byte_of(bindparam("idx", type_=Integer)))
    .where(StatusListShard.list_id == bindparam("list_id")))
_ENTRY_BYTES_FOR = (
    select(StatusListShard.list_id, StatusAllocation.idx, StatusListShard.size, StatusListShard.bits,
           func.length(StatusListShard.data), _byte_of(StatusAllocation.idx))
    .join(StatusListShard, StatusListShard.id == StatusAllocation.list_pk)
    .where(StatusAllocation.kind == bindparam("kind"),
           StatusAllocation.subject.in_(bindparam("subjects", expanding=True))))


def entry_byte(session: Session, list_id: str, idx: int) -> tuple[int, int, int, bytes] | None:
    """``(size, bits, length of data, the byte holding entry idx)`` of a list, reading that one byte (a list's
    data is 256 KB; a status check needs one byte of it). None when there is no such list. ``idx`` must be a
    non-negative int small enough for ``idx * 8`` to fit in 32 bits (the caller checks)."""
    row = session.execute(_ENTRY_BYTE, {"list_id": list_id, "idx": idx}).first()
    if row is None:
        return None
    size, bits, length, byte = row
    return int(size), int(bits), int(length), bytes(byte or b"")


def entry_bytes_for(session: Session, kind: str, subjects: list[str]
                    ) -> list[tuple[str, int, int, int, int, bytes]]:
    """For the tokens ``subjects`` of ``kind`` that have an entry: ``(list id, idx, size, bits, length of data,
    the byte holding the entry)``, all in one query (a counter pull checks several licences at once)."""
    if not subjects:
        return []
    rows = session.execute(_ENTRY_BYTES_FOR, {"kind": kind, "subjects": list(subjects)})
    return [(str(list_id), int(idx), int(size), int(bits), int(length), bytes(byte or b""))
            for list_id, idx, size, bits, length, byte in rows]


def shard_version(session: Session, list_id: str) -> int | None:
    """The list's version alone (the cheap check behind the signed-token cache: no 256 KB bit string read)."""
    version: int | None = session.scalars(
        select(StatusListShard.version).where(StatusListShard.list_id == list_id)).first()
    return version


def used_among(session: Session, shard: StatusListShard, candidates: set[int]) -> set[int]:
    """Which of ``candidates`` are already allocated in ``shard`` (one indexed look-up, not the whole list)."""
    if not candidates:
        return set()
    return set(session.scalars(select(StatusAllocation.idx).where(
        StatusAllocation.list_pk == shard.id, StatusAllocation.idx.in_(sorted(candidates)))))


def allocation_for(session: Session, kind: str, subject: str) -> tuple[StatusAllocation, StatusListShard] | None:
    row = session.execute(
        select(StatusAllocation, StatusListShard)
        .join(StatusListShard, StatusListShard.id == StatusAllocation.list_pk)
        .where(StatusAllocation.kind == kind, StatusAllocation.subject == subject)
    ).first()
    return None if row is None else (row[0], row[1])


def all_shards(session: Session) -> list[StatusListShard]:
    return list(session.scalars(select(StatusListShard).order_by(StatusListShard.id)))


def shard_ids(session: Session, list_ids: Collection[str]) -> dict[str, int]:
    """list id → the list's row id, for those that exist (without reading their bit strings)."""
    if not list_ids:
        return {}
    rows = session.execute(select(StatusListShard.list_id, StatusListShard.id)
                           .where(StatusListShard.list_id.in_(sorted(list_ids))))
    return {str(list_id): int(pk) for list_id, pk in rows}


#: Pairs per look-up statement on SQLite (two bound parameters each; it allows 32,766 per statement).
_KEYS_PER_QUERY = 1000
#: PostgreSQL: a batch's allocations by ``(list row id, idx)``, as two arrays (one plan, index look-ups, whatever
#: the batch's size).
_AMONG_PG = text(
    "SELECT a.list_pk, a.idx, a.owner, a.kind, a.subject FROM status_allocations AS a "
    "JOIN unnest(CAST(:pks AS integer[]), CAST(:idxs AS integer[])) AS v(list_pk, idx) "
    "ON a.list_pk = v.list_pk AND a.idx = v.idx FOR UPDATE OF a")
#: PostgreSQL: bind the free allocations of their owners, all in one statement; returns what it bound.
_BIND_FREE_PG = text(
    "UPDATE status_allocations AS a SET kind = v.kind, subject = v.subject "
    "FROM unnest(CAST(:pks AS integer[]), CAST(:idxs AS integer[]), CAST(:owners AS varchar[]), "
    "CAST(:kinds AS varchar[]), CAST(:subjects AS varchar[])) AS v(list_pk, idx, owner, kind, subject) "
    "WHERE a.list_pk = v.list_pk AND a.idx = v.idx AND a.owner = v.owner AND a.subject IS NULL "
    "RETURNING a.list_pk, a.idx")


def _on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def allocations_among(session: Session, keys: Iterable[tuple[int, int]]
                      ) -> dict[tuple[int, int], tuple[str, str | None, str | None]]:
    """``(list row id, idx)`` → ``(owner, kind, subject)`` of those allocated, locked for update where the
    database can (the caller binds them in the same transaction)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    if _on_postgresql(session):
        rows = session.execute(_AMONG_PG, {"pks": [k[0] for k in wanted], "idxs": [k[1] for k in wanted]})
        return {(int(pk), int(idx)): (str(owner), kind, subject) for pk, idx, owner, kind, subject in rows}
    found: dict[tuple[int, int], tuple[str, str | None, str | None]] = {}
    for start in range(0, len(wanted), _KEYS_PER_QUERY):
        query = (select(StatusAllocation.list_pk, StatusAllocation.idx, StatusAllocation.owner,
                        StatusAllocation.kind, StatusAllocation.subject)
                 .where(tuple_(StatusAllocation.list_pk, StatusAllocation.idx)
                        .in_(wanted[start:start + _KEYS_PER_QUERY]))).with_for_update()
        for list_pk, idx, owner, kind, subject in session.execute(query):
            found[(int(list_pk), int(idx))] = (str(owner), kind, subject)
    return found


_ALLOCATIONS = table_of(StatusAllocation)
_BIND = (update(_ALLOCATIONS)
         .where(_ALLOCATIONS.c.list_pk == bindparam("b_list_pk"), _ALLOCATIONS.c.idx == bindparam("b_idx"),
                _ALLOCATIONS.c.owner == bindparam("b_owner"), _ALLOCATIONS.c.subject.is_(None))
         .values(kind=bindparam("b_kind"), subject=bindparam("b_subject")))


def bind_free(session: Session, rows: list[tuple[int, int, str, str, str]]) -> set[tuple[int, int]]:
    """Bind each ``(list row id, idx, owner, kind, subject)`` whose allocation belongs to ``owner`` and is free.
    PostgreSQL: one statement for all, and returns the ``(list row id, idx)`` it bound. SQLite (executemany
    cannot say which rows it changed): the same guarded update sent for all rows, and returns nothing — the
    caller reads the entries back (in the same write transaction) to learn who holds each."""
    if not rows:
        return set()
    if _on_postgresql(session):
        result = session.execute(_BIND_FREE_PG, {
            "pks": [r[0] for r in rows], "idxs": [r[1] for r in rows], "owners": [r[2] for r in rows],
            "kinds": [r[3] for r in rows], "subjects": [r[4] for r in rows]})
        return {(int(pk), int(idx)) for pk, idx in result}
    session.connection().execute(_BIND, [{"b_list_pk": pk, "b_idx": idx, "b_owner": owner, "b_kind": kind,
                                          "b_subject": subject} for pk, idx, owner, kind, subject in rows])
    return set()
