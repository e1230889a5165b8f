"""The transparency log's service interface.

Other features call :func:`append` (inside their own transaction) and :func:`entries_for` to learn the indices;
the routers call the read functions. Nothing here commits.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from verifier.tlog.merkle import EMPTY_ROOT
from verifier.tlog.note import NoteError, NoteVerifier, split_note, verified_by
from verifier.tlog.tiles import ENTRIES, TILE_WIDTH, TileHashes, tile_width

from ..context import AppContext
from ..kit.errors import InvalidInput, NotFound
from . import repository as repo
from .keys import log_signer
from .sequencer import tile_hashes

MAX_LEAF_BYTES = 1024


@dataclass(frozen=True)
class LogPosition:
    entry_id: int
    index: int | None
    leaf_input: bytes


def append(session: Session, leaf_input: bytes) -> int:
    """Queue ``leaf_input`` for the log in the caller's transaction; returns its entry id (the sequencer gives it
    an index within about a second of the commit)."""
    return append_many(session, [leaf_input])[0]


def append_many(session: Session, leaf_inputs: Sequence[bytes]) -> list[int]:
    """:func:`append` for several leaf inputs in one insert (one statement on PostgreSQL, one per row on
    SQLite); entry ids in the given order."""
    for leaf_input in leaf_inputs:
        if not 1 <= len(leaf_input) <= MAX_LEAF_BYTES:
            raise ValueError("a log entry is 1–1024 bytes")
    return repo.add_entries(session, leaf_inputs)


def positions(session: Session, entry_ids: list[int]) -> dict[int, LogPosition]:
    rows = repo.entries_by_id(session, entry_ids)
    return {i: LogPosition(i, r.leaf_index, r.leaf_input) for i, r in rows.items()}


def log_key(ctx: AppContext) -> NoteVerifier:
    return log_signer(ctx).verifier


def witness_keys(ctx: AppContext) -> list[NoteVerifier]:
    out = []
    for raw in ctx.settings.log_witnesses.split(","):
        if raw.strip():
            out.append(NoteVerifier.from_vkey(raw.strip()))
    return out


def current_size(session: Session) -> int:
    st = repo.state(session)
    return st.size if st is not None else 0


def latest_tree(session: Session) -> tuple[int, bytes]:
    """(size, root) of the latest signed checkpoint ((0, empty root) before the first)."""
    row = repo.latest_checkpoint(session)
    return (row.size, row.root) if row is not None else (0, EMPTY_ROOT)


def checkpoint_note(session: Session, *, cosigned: bool = False) -> str:
    row = repo.latest_cosigned(session) if cosigned else repo.latest_checkpoint(session)
    if row is None:
        raise NotFound("no cosigned checkpoint yet" if cosigned else "the log has no checkpoint yet")
    return row.note + "".join(c.line for c in repo.cosignatures(session, row.size))


def tile_bytes(session: Session, level: int, index: int, width: int) -> bytes:
    row = repo.tile(session, level, index)
    if row is None or row.width < width:
        raise NotFound("no such tile")
    if level == ENTRIES:
        return _bundle_prefix(row.data, width)
    return row.data[:width * 32]


def _bundle_prefix(data: bytes, count: int) -> bytes:
    pos = 0
    for _ in range(count):
        pos += 2 + int.from_bytes(data[pos:pos + 2], "big")
    return data[:pos]


def prover(session: Session, size: int) -> TileHashes:
    """Proofs for a tree of ``size`` from the stored tiles; reuse it for many proofs (it caches tiles)."""
    return tile_hashes(session, size)


def inclusion(session: Session, index: int, size: int) -> list[bytes]:
    return tile_hashes(session, size).inclusion(index)


def consistency(session: Session, old_size: int, size: int) -> list[bytes]:
    return tile_hashes(session, size).consistency(old_size)


def add_cosignature(ctx: AppContext, session: Session, note: str) -> int:
    """Accept a witness's cosigned copy of one of our checkpoints; returns how many known witnesses signed."""
    try:
        body, _ = split_note(note)
        _, ok = verified_by(note, witness_keys(ctx))
    except NoteError as exc:
        raise InvalidInput(f"cosigned checkpoint: {exc}", field="body") from exc
    lines = body.split("\n")
    size = int(lines[1]) if len(lines) > 2 and lines[1].isdigit() else -1
    row = repo.checkpoint(session, size)
    if row is None or not row.note.startswith(body + "\n"):
        raise InvalidInput("not a checkpoint this log published", field="body")
    if not ok:
        raise InvalidInput("no signature by a configured witness", field="body")
    _, sigs = split_note(note)
    for name, when in ok.items():
        line = next(s.text for s in sigs if s.name == name)
        repo.save_cosignature(session, size, name, line, when)
    return len(ok)


def full_tile(level: int, index: int, size: int) -> bool:
    return tile_width(size, level, index) == TILE_WIDTH


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
