"""Status lists of the exchange (IETF Token Status List): allocate, bind, change, sign, resolve.

* Lists are shards of :data:`LIST_SIZE` entries of 2 bits (0 valid, 1 invalid/revoked, 2 suspended). An index
  is drawn uniformly at random (``secrets``) among the free ones of the open shard, so neither a fetched list
  nor the index order tells anything about which licence is checked or when it was issued. A shard is closed
  at :data:`FILL_LIMIT` so that random draws stay cheap and every list keeps a large anonymity set.
* Licences are signed by departments, so the department asks for indices *before* signing
  (``POST /api/v1/status-lists/allocations``, or :func:`allocate` in process). At intake the exchange binds the
  index named in the signed licence to it — only an index allocated to that same department and not yet bound
  to another licence is accepted.
* Revoke / suspend / reinstate change the bit and bump the list's ``version`` in the same transaction; the
  signed token is re-made at the next request that sees the new version, on any replica (a token is cached per
  list version and signing certificate for at most :data:`TTL_SECONDS`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from verifier.errors import StatusUnavailable
from verifier.status_list import (
    ALLOWED_BITS,
    STATUS_INVALID,
    STATUS_NAMES,
    STATUS_SUSPENDED,
    STATUS_VALID,
    StatusList,
    StatusReference,
    encode_status_list_token,
    locate_entry,
)

from ..context import AppContext, SignedStatusToken
from ..kit.errors import Forbidden, InvalidInput, NotFound
from . import repository
from .models import StatusAllocation, StatusListShard

__all__ = [
    "ACTION_VALUES",
    "FILL_LIMIT",
    "LIST_SIZE",
    "TTL_SECONDS",
    "RegistryStatus",
    "allocate",
    "bind",
    "export_tokens",
    "list_uri",
    "set_status",
    "signed_token",
]

LIST_SIZE = 1 << 20
BITS = 2
FILL_LIMIT = 0.5
TTL_SECONDS = 300
VALIDITY = timedelta(days=1)
MAX_ALLOCATION = 1000
#: Largest index a status check reads (far above LIST_SIZE; keeps the byte offset inside a 32-bit integer).
MAX_INDEX = 1 << 28
PATH = "/api/v1/status-lists/"
ACTION_VALUES = {"revoke": STATUS_INVALID, "suspend": STATUS_SUSPENDED, "reinstate": STATUS_VALID}


def list_uri(ctx: AppContext, list_id: str) -> str:
    return f"{ctx.settings.public_base_url.rstrip('/')}{PATH}{list_id}"


def _list_id_of(ctx: AppContext, uri: str) -> str | None:
    prefix = f"{ctx.settings.public_base_url.rstrip('/')}{PATH}"
    if not uri.startswith(prefix):
        return None
    list_id = uri[len(prefix):]
    return list_id if list_id.isalnum() and len(list_id) <= 32 else None


def _new_shard(session: Session, size: int) -> StatusListShard:
    shard = StatusListShard(list_id=secrets.token_hex(8), bits=BITS, size=size, allocated=0,
                            data=bytes(StatusList(size, BITS).data), version=0)
    session.add(shard)
    session.flush()
    return shard


def allocate(ctx: AppContext, session: Session, *, owner: str, count: int = 1,
             size: int = LIST_SIZE) -> list[StatusReference]:
    """Hand ``count`` random free indices to ``owner`` (a department id)."""
    return _allocate(ctx, session, owner=owner, count=count, size=size)


def _allocate(ctx: AppContext, session: Session, *, owner: str, count: int = 1, size: int = LIST_SIZE,
              bound_to: tuple[str, str] | None = None) -> list[StatusReference]:
    if not 1 <= count <= MAX_ALLOCATION * 100:
        raise InvalidInput(f"count must be 1..{MAX_ALLOCATION * 100}", field="count")
    if bound_to is not None and count != 1:
        raise ValueError("a token is bound to one entry")
    refs: list[StatusReference] = []
    kind, subject = bound_to if bound_to is not None else (None, None)
    while len(refs) < count:
        shard = repository.open_shard(session, FILL_LIMIT) or _new_shard(session, size)
        room = int(shard.size * FILL_LIMIT) - shard.allocated
        want = min(room, count - len(refs))
        # draw uniformly among the free indices: draw, drop the ones taken, draw again for those (the shard is
        # at most FILL_LIMIT full, so each round keeps at least half); only the drawn indices are looked up
        picked: set[int] = set()
        while len(picked) < want:
            draw: set[int] = set()
            while len(draw) < want - len(picked):
                idx = secrets.randbelow(shard.size)
                if idx not in picked:
                    draw.add(idx)
            picked |= draw - repository.used_among(session, shard, draw)
        try:
            with session.begin_nested():
                session.add_all(StatusAllocation(list_pk=shard.id, idx=i, owner=owner, kind=kind, subject=subject)
                                for i in picked)
                shard.allocated += len(picked)
                session.flush()
        except IntegrityError:  # another worker drew one of them: draw again
            session.expire(shard)
            if bound_to is not None and repository.allocation_for(session, *bound_to) is not None:
                raise Forbidden("the status list entry is already used by another token",
                                code="STATUS_REFERENCE_INVALID", field="status") from None
            continue
        uri = list_uri(ctx, shard.list_id)
        refs.extend(StatusReference(i, uri) for i in sorted(picked, key=lambda _: secrets.randbits(32)))
    return refs


@dataclass(frozen=True)
class Binding:
    """A token (``kind`` + ``subject``) that carries the status list entry ``ref``, issued by ``owner``."""

    ref: StatusReference
    owner: str
    kind: str
    subject: str


def _not_allocated() -> Forbidden:
    return Forbidden("the status list entry was not allocated to this department", code="STATUS_REFERENCE_INVALID",
                     field="status")


def _used_by_another() -> Forbidden:
    return Forbidden("the status list entry is already used by another token", code="STATUS_REFERENCE_INVALID",
                     field="status")


def bind_many(ctx: AppContext, session: Session, bindings: Sequence[Binding]) -> dict[int, Forbidden]:
    """Bind each allocated index to the token that carries it — only an index allocated to the token's owner,
    each index to one token (binding it again to the same token is a no-op). Returns the refused ones by
    position; the others are bound in this transaction. The tokens must be distinct (one binding per token).

    An index named by several bindings goes to the first of them that may have it (its owner's), as if they were
    bound one after another. A few statements whatever the number (a bulk import binds thousands per batch):
    the lists' row ids (not their bit strings), one update binding every free entry of its owner (in index
    order), and one locked look-up of those it did not bind, to tell a repeat from a refusal; a second round
    only when a first binding was refused and a later one names the same index."""
    refused: dict[int, Forbidden] = {}
    named: dict[tuple[str, int], list[int]] = {}  # (list id, idx) -> positions naming it, in order
    for pos, binding in enumerate(bindings):
        list_id = _list_id_of(ctx, binding.ref.uri)
        if list_id is None or not 0 <= binding.ref.idx < MAX_INDEX:
            refused[pos] = _not_allocated()
            continue
        named.setdefault((list_id, binding.ref.idx), []).append(pos)
    pks = repository.shard_ids(session, {list_id for list_id, _idx in named})
    pending: dict[tuple[int, int], list[int]] = {}
    for (list_id, idx), positions in named.items():
        if list_id in pks:
            pending[(pks[list_id], idx)] = positions
        else:
            refused.update((pos, _not_allocated()) for pos in positions)
    while pending:
        keys = sorted(pending)
        bound = repository.bind_free(session, [
            (*key, bindings[pending[key][0]].owner, bindings[pending[key][0]].kind, bindings[pending[key][0]].subject)
            for key in keys])
        current = repository.allocations_among(session, [key for key in keys if key not in bound])
        again: dict[tuple[int, int], list[int]] = {}
        for key in keys:
            positions = pending[key]
            if key in bound:
                first = bindings[positions[0]]
                entry: tuple[str, str | None, str | None] | None = (first.owner, first.kind, first.subject)
            else:
                entry = current.get(key)
            if entry is None:  # not allocated to anyone
                refused.update((pos, _not_allocated()) for pos in positions)
                continue
            owner, kind, subject = entry
            if subject is None:  # still free: the first binding is not its owner's; the owner's next one may have it
                refused[positions[0]] = _not_allocated()
                positions = positions[1:]
                for pos in positions:
                    if bindings[pos].owner != owner:
                        refused[pos] = _not_allocated()
                later = [pos for pos in positions if bindings[pos].owner == owner]
                if later:
                    again[key] = later
                continue
            for pos in positions:
                binding = bindings[pos]
                if binding.owner != owner:
                    refused[pos] = _not_allocated()
                elif (binding.kind, binding.subject) != (kind, subject):
                    refused[pos] = _used_by_another()
                # else: bound to this very token, now or before (a re-import, a repeated push)
        pending = again
    return refused


def bind(ctx: AppContext, session: Session, ref: StatusReference, *, owner: str, kind: str, subject: str) -> None:
    """Bind an allocated index to the token that carries it (idempotent for the same subject)."""
    refused = bind_many(ctx, session, [Binding(ref, owner, kind, subject)])
    if refused:
        raise refused[0]


def allocate_bound(ctx: AppContext, session: Session, *, owner: str, kind: str, subject: str) -> StatusReference:
    """For tokens the exchange makes itself (sealed proofs): allocate and bind in one step (one new row)."""
    return _allocate(ctx, session, owner=owner, bound_to=(kind, subject))[0]


def set_status(session: Session, *, kind: str, subject: str, action: str) -> bool:
    """Set the entry of ``subject`` for ``action`` (revoke | suspend | reinstate). False when it has none."""
    value = ACTION_VALUES.get(action)
    if value is None:
        raise InvalidInput("action must be revoke, suspend or reinstate", field="action")
    found = repository.allocation_for(session, kind, subject)
    if found is None:
        return False
    allocation, shard = found
    shard = repository.shard_by_list_id(session, shard.list_id, lock=True) or shard
    bits = StatusList(shard.size, shard.bits, shard.data)
    if bits.get(allocation.idx) != value:
        bits.set(allocation.idx, value)
        shard.data = bytes(bits.data)
        shard.version += 1
        shard.updated_at = datetime.now(UTC)
        session.flush()
    return True


def signed_token(ctx: AppContext, session: Session, list_id: str, *, now: datetime | None = None) -> str:
    """The Status List Token for ``list_id``, signed with the exchange's trust-list key.

    Read-through cache: every call reads the list's ``version`` (bumped in the transaction that changes a bit,
    whichever replica made it), and re-signs when it differs from the cached token's, when the signing
    certificate changed, or when the cached token is :data:`TTL_SECONDS` old. So a change made through any
    replica is served by every replica at its next request (bound 0 s); only the token's own ``ttl`` (and the
    response's ``max-age``) lets a relying party keep an older copy, for up to :data:`TTL_SECONDS`."""
    version = repository.shard_version(session, list_id) if list_id.isalnum() and len(list_id) <= 32 else None
    if version is None:
        raise NotFound("no such status list", code="STATUS_LIST_NOT_FOUND")
    moment = now or datetime.now(UTC)
    signer = ctx.keyring.exchange_fingerprint
    cache = ctx.status_tokens
    cached = cache.get(list_id)
    if (cached is not None and cached.version == version and cached.signer == signer
            and timedelta(0) <= moment - cached.issued_at < timedelta(seconds=TTL_SECONDS)):
        return cached.token
    shard = repository.shard_by_list_id(session, list_id)
    if shard is None:
        raise NotFound("no such status list", code="STATUS_LIST_NOT_FOUND")
    key, cert = ctx.keyring.exchange
    issued = moment.replace(microsecond=0)
    token = encode_status_list_token(
        uri=list_uri(ctx, list_id), status_list=StatusList(shard.size, shard.bits, shard.data), key=key, cert=cert,
        issued_at=issued, expires_at=issued + VALIDITY, ttl=TTL_SECONDS)
    cache[list_id] = SignedStatusToken(shard.version, signer, issued, token)
    return token


def export_tokens(ctx: AppContext, session: Session) -> dict[str, str]:
    """{uri: token} of every list (the offline bundle)."""
    return {list_uri(ctx, s.list_id): signed_token(ctx, session, s.list_id) for s in repository.all_shards(session)}


@dataclass
class RegistryStatus:
    """In-process status source for the exchange's own checks (counter pull, verify API): reads the bits from
    the database (the same bits the signed lists carry), and for tokens without a status list reference falls
    back to ``by_id`` (the registry row). Anything it cannot answer raises StatusUnavailable (fail closed)."""

    ctx: AppContext
    session: Session
    by_id: Callable[[str], str | None] | None = None

    def __post_init__(self) -> None:
        #: (list id, idx) -> (size, bits, length of data, the entry's byte), read ahead by :meth:`prefetch`
        self._read: dict[tuple[str, int], tuple[int, int, int, bytes]] = {}

    def prefetch(self, kind: str, subjects: list[str]) -> None:
        """Read the entries allocated to these tokens in one query, ahead of their lookups. A lookup still
        asks for the (list, index) its token carries; an entry not read here is read on its own."""
        for list_id, idx, size, bits, length, byte in repository.entry_bytes_for(self.session, kind, subjects):
            self._read[(list_id, idx)] = (size, bits, length, byte)

    def lookup(self, uri: str, idx: int) -> str:
        list_id = _list_id_of(self.ctx, uri)
        if list_id is None:
            raise StatusUnavailable(f"{uri} is not a status list of this exchange")
        if not isinstance(idx, int) or isinstance(idx, bool) or not 0 <= idx < MAX_INDEX:
            raise StatusUnavailable(f"index {idx!r} is outside status list {list_id}")
        found = self._read.get((list_id, idx))
        if found is None:
            found = repository.entry_byte(self.session, list_id, idx)  # one byte, not the 256 KB list
        if found is None:
            raise StatusUnavailable(f"status list {list_id} does not exist")
        size, bits, length, byte = found
        if bits not in ALLOWED_BITS:
            raise StatusUnavailable(f"status list {list_id} is unreadable")
        try:
            _at, shift, mask = locate_entry(idx, size, bits)
        except IndexError as exc:
            raise StatusUnavailable(f"index {idx} is outside status list {list_id}") from exc
        if length != (size * bits + 7) // 8 or len(byte) != 1:
            raise StatusUnavailable(f"status list {list_id} is unreadable")
        value = (byte[0] >> shift) & mask
        name = STATUS_NAMES.get(value)
        if name is None:
            raise StatusUnavailable(f"undefined status {value}")
        return name

    def __call__(self, subject: str) -> str | None:
        if self.by_id is None:
            raise StatusUnavailable("the token carries no status list reference")
        return self.by_id(subject)


def reference_json(ref: StatusReference) -> dict[str, Any]:
    return {"idx": ref.idx, "uri": ref.uri}
