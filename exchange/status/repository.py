from __future__ import annotations

from sqlalchemy import ColumnElement, Integer, bindparam, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from verifier.status_list import ALLOWED_BITS

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


def allocation(session: Session, shard: StatusListShard, idx: int) -> StatusAllocation | None:
    return session.scalars(select(StatusAllocation).where(
        StatusAllocation.list_pk == shard.id, StatusAllocation.idx == idx).with_for_update()).first()


def allocation_for(session: Session, kind: str, subject: str) -> tuple[StatusAllocation, StatusListShard] | None:
    row = session.execute(
        select(StatusAllocation, StatusListShard)
        .join(StatusListShard, StatusListShard.id == StatusAllocation.list_pk)
        .where(StatusAllocation.kind == kind, StatusAllocation.subject == subject)
    ).first()
    return None if row is None else (row[0], row[1])


def all_shards(session: Session) -> list[StatusListShard]:
    return list(session.scalars(select(StatusListShard).order_by(StatusListShard.id)))
