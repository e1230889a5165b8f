"""The e-archive's operations: ``upload_material``, ``accept_material``, ``list_archive``, ``download_material``,
``delete_material``, ``reuse_for_case`` (with the citizen's consent), ``file_case`` (a completed case's
materials) and ``purge_expired`` (retention). Every operation lands in the holder's usage log.

Content is checked by :mod:`.content` and stored AES-256-GCM encrypted (``DataProtector``; the associated data
binds the ciphertext to its item id). Retention: a material filed from a case (``source_case``) is part of the
case record and cannot be deleted before ``retain_until`` (``archive_case_retention_days`` after filing); a
citizen's own upload can be deleted at any time; everything is purged ``archive_retention_days`` after creation
(``licex archive purge``). Services raise ``kit.errors`` and never commit.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ..context import AppContext
from ..kit.db import table_of, utcnow
from ..kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from ..usage import service as usage
from ..usage.service import Actor
from . import content, repository
from .models import ArchiveItem

CONTEXT_PREFIX: Final = "licex/archive/"
MATERIAL_TYPE_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
ITEM_ID_RE: Final = re.compile(r"[0-9a-f]{32}")
CITIZEN: Final = Actor("citizen", "本人")
_EVIDENCE_ORIGINS: Final = {"application/dc+sd-jwt": "presentation", "application/pdf": "proof",
                            "application/jwt": "check"}
_INSERT_ITEMS = insert(table_of(ArchiveItem))


@dataclass(frozen=True)
class Download:
    media_type: str
    data: bytes
    filename: str


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else (moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def view(item: ArchiveItem) -> dict[str, Any]:
    accepted = _aware(item.accepted_at)
    retain = _aware(item.retain_until)
    return {"id": item.id, "material_type": item.material_type, "title": item.title,
            "media_type": item.media_type, "size": item.size, "sha256": item.digest, "origin": item.origin,
            "source_case": item.source_case, "source_matter": item.source_matter, "uploaded_by": item.uploaded_by,
            "accepted": accepted is not None, "accepted_by": item.accepted_by,
            "accepted_at": accepted.isoformat() if accepted else None,
            "created_at": item.created_at.replace(tzinfo=item.created_at.tzinfo or UTC).isoformat(),
            "retain_until": retain.isoformat() if retain else None}


def _check_type(material_type: str) -> str:
    if not MATERIAL_TYPE_RE.fullmatch(material_type):
        raise InvalidInput("material_type is a lower-case slug", code="BAD_MATERIAL_TYPE", field="material_type")
    return material_type


def _title(title: str | None, material_type: str) -> str:
    t = (title or material_type).strip()
    if not t or len(t) > 120 or any(ord(c) < 32 for c in t):
        raise InvalidInput("title: 1–120 printable characters", code="BAD_TITLE", field="title")
    return t


def _values(ctx: AppContext, *, holder_hash: str, material_type: str, title: str, media_type: str, data: bytes,
            origin: str, uploaded_by: Actor, case_id: str | None, matter_key: str | None,
            accepted_by: Actor | None = None, retain: bool = False) -> dict[str, Any]:
    """A new item's column values: the content encrypted under a context bound to its fresh id."""
    item_id = secrets.token_hex(16)
    now = utcnow()
    return {
        "id": item_id, "holder_hash": holder_hash, "material_type": material_type, "title": title,
        "media_type": media_type, "size": len(data), "digest": hashlib.sha256(data).hexdigest(),
        "content_enc": ctx.protector.encrypt(data, CONTEXT_PREFIX + item_id), "origin": origin,
        "source_case": case_id, "source_matter": matter_key, "uploaded_by": _actor_text(uploaded_by),
        "accepted_by": _actor_text(accepted_by) if accepted_by else None,
        "accepted_at": now if accepted_by else None, "created_at": now,
        "retain_until": now + timedelta(days=ctx.settings.archive_case_retention_days) if retain else None,
        "deleted_at": None}


def _store(ctx: AppContext, session: Session, *, holder_hash: str, material_type: str, title: str,
           media_type: str, data: bytes, origin: str, uploaded_by: Actor, case_id: str | None,
           matter_key: str | None, accepted_by: Actor | None = None, retain: bool = False) -> ArchiveItem:
    item = ArchiveItem(**_values(ctx, holder_hash=holder_hash, material_type=material_type, title=title,
                                 media_type=media_type, data=data, origin=origin, uploaded_by=uploaded_by,
                                 case_id=case_id, matter_key=matter_key, accepted_by=accepted_by, retain=retain))
    session.add(item)
    session.flush()
    return item


def _actor_text(actor: Actor) -> str:
    return (f"{actor.kind}:{actor.name}" + (f"@{actor.place}" if actor.place else ""))[:128]


def upload_material(ctx: AppContext, session: Session, *, holder_hash: str, material_type: str,
                    title: str | None, data: bytes, declared_type: str | None, uploader: Actor,
                    case_id: str | None = None, matter_key: str | None = None) -> dict[str, Any]:
    """Check, encrypt and store one upload (not yet accepted). Raises 413/415/422 with nothing stored."""
    mtype = _check_type(material_type)
    name = _title(title, mtype)
    checked = content.check(data, declared_type, max_bytes=ctx.settings.archive_max_bytes)
    item = _store(ctx, session, holder_hash=holder_hash, material_type=mtype, title=name,
                  media_type=checked.media_type, data=checked.data, origin="upload", uploaded_by=uploader,
                  case_id=case_id, matter_key=matter_key)
    usage.record(session, holder_hash, "material_uploaded", uploader, matter_key=matter_key, subject={
        "archive_id": item.id, "material_type": mtype, "media_type": item.media_type, "size": item.size,
        "sha256": item.digest, "case_id": case_id})
    return view(item)


def _get(session: Session, item_id: str) -> ArchiveItem:
    item = repository.get(session, item_id) if ITEM_ID_RE.fullmatch(item_id) else None
    if item is None or item.deleted_at is not None:
        raise NotFound("no such archived material", code="MATERIAL_NOT_FOUND")
    return item


def _own(session: Session, holder_hash: str, item_id: str) -> ArchiveItem:
    item = _get(session, item_id)
    if item.holder_hash != holder_hash:
        raise NotFound("no such archived material", code="MATERIAL_NOT_FOUND")
    return item


def accept_material(ctx: AppContext, session: Session, *, item_id: str, clerk: Actor,
                    holder_hash: str | None = None) -> dict[str, Any]:
    """A clerk accepts an uploaded material (checked against the original): it becomes reusable.
    ``holder_hash``: the citizen of the clerk's case — a clerk accepts only that citizen's materials."""
    item = _get(session, item_id)
    if holder_hash is not None and item.holder_hash != holder_hash:
        raise Forbidden("the material belongs to another citizen", code="NOT_CASE_HOLDER")
    if item.accepted_at is not None:
        raise Conflict("the material is already accepted", code="MATERIAL_ALREADY_ACCEPTED")
    item.accepted_at = utcnow()
    item.accepted_by = _actor_text(clerk)
    session.flush()
    usage.record(session, item.holder_hash, "material_accepted", clerk, matter_key=item.source_matter,
                 subject={"archive_id": item.id, "material_type": item.material_type, "case_id": item.source_case})
    return view(item)


def list_archive(ctx: AppContext, session: Session, holder_hash: str) -> list[dict[str, Any]]:
    out = []
    for item in repository.for_holder(session, holder_hash):
        matter = ctx.catalogue.matters.get(item.source_matter) if item.source_matter else None
        out.append({**view(item), "source_matter_name": matter.name if matter else None})
    return out


def download_material(ctx: AppContext, session: Session, *, holder_hash: str, item_id: str,
                      actor: Actor = CITIZEN) -> Download:
    item = _own(session, holder_hash, item_id)
    if item.content_enc is None:
        raise NotFound("no such archived material", code="MATERIAL_NOT_FOUND")
    data = ctx.protector.decrypt(item.content_enc, CONTEXT_PREFIX + item.id)
    usage.record(session, holder_hash, "material_downloaded", actor,
                 subject={"archive_id": item.id, "material_type": item.material_type})
    ext = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(item.media_type, "bin")
    return Download(item.media_type, data, f"{item.material_type}-{item.id[:8]}.{ext}")


def delete_material(ctx: AppContext, session: Session, *, holder_hash: str, item_id: str) -> dict[str, Any]:
    """The citizen deletes a material: its content is wiped. A material that is part of a case record is kept
    until its ``retain_until`` (409 MATERIAL_RETAINED)."""
    item = _own(session, holder_hash, item_id)
    retain = _aware(item.retain_until)
    now = utcnow()
    if retain is not None and retain > now:
        raise Conflict(f"part of the record of case {item.source_case}; kept until {retain.date().isoformat()}",
                       code="MATERIAL_RETAINED")
    item.content_enc = None
    item.deleted_at = now
    session.flush()
    usage.record(session, holder_hash, "material_deleted", CITIZEN,
                 subject={"archive_id": item.id, "material_type": item.material_type})
    return {"id": item.id, "deleted": True}


def reuse_for_case(ctx: AppContext, session: Session, *, holder_hash: str, material_type: str, case_id: str,
                   matter_key: str, clerk: Actor) -> dict[str, Any] | None:
    """The citizen's accepted material of ``material_type``, used in ``case_id`` (the caller has checked the
    citizen's consent for the case); logged as ``material_reused``. None when there is none."""
    item = repository.accepted_of_type(session, holder_hash, material_type)
    if item is None:
        return None
    usage.record(session, holder_hash, "material_reused", clerk, matter_key=matter_key, subject={
        "archive_id": item.id, "material_type": material_type, "case_id": case_id,
        "from_case": item.source_case})
    return {"archive_id": item.id, "title": item.title, "accepted_by": item.accepted_by,
            "media_type": item.media_type, "sha256": item.digest}


def replace_case_evidence(ctx: AppContext, session: Session, *, holder_hash: str, case_id: str, matter_key: str,
                          clerk: Actor, materials: list[tuple[str, str, str, bytes]], replace: bool = True
                          ) -> list[str]:
    """Store a case's evidence — (material_type, title, media_type, data) from trusted origins: verified
    presentations, sealed proofs, signed check answers — as part of the case record (accepted by the clerk,
    retained), replacing the evidence of an earlier pull of the same case (``replace``: the caller knows there
    may be some). Returns the item ids."""
    if replace:
        for old in repository.for_case(session, case_id):
            if old.origin != "upload" and old.holder_hash == holder_hash:
                session.delete(old)
        session.flush()
    rows = [_values(ctx, holder_hash=holder_hash, material_type=_check_type(material_type), title=title[:120],
                    media_type=media_type, data=data, origin=_EVIDENCE_ORIGINS.get(media_type, "record"),
                    uploaded_by=clerk, case_id=case_id, matter_key=matter_key, accepted_by=clerk, retain=True)
            for material_type, title, media_type, data in materials]
    if rows:  # one Core insert (multi-row on PostgreSQL): an ORM flush costs several times its CPU
        session.execute(_INSERT_ITEMS, rows)
    return [row["id"] for row in rows]


def file_case(ctx: AppContext, session: Session, *, holder_hash: str, case_id: str, matter_key: str,
              clerk: Actor) -> list[dict[str, Any]]:
    """A completed case files its materials: the evidence stored at the pull and every upload made for the case
    (accepted by the completing clerk if not yet), all kept for ``archive_case_retention_days``."""
    retain_until = utcnow() + timedelta(days=ctx.settings.archive_case_retention_days)
    filed = [i for i in repository.for_case(session, case_id) if i.holder_hash == holder_hash
             and i.deleted_at is None]
    for item in filed:
        item.retain_until = retain_until
        if item.accepted_at is None:
            item.accepted_at, item.accepted_by = utcnow(), _actor_text(clerk)
    session.flush()
    usage.record(session, holder_hash, "case_filed", clerk, matter_key=matter_key, subject={
        "case_id": case_id, "archive_ids": [i.id for i in filed],
        "material_types": sorted({i.material_type for i in filed})})
    return [view(i) for i in filed]


def purge_expired(ctx: AppContext, session: Session, *, now: datetime | None = None) -> int:
    now = now or utcnow()
    return repository.purge(session, created_before=now - timedelta(days=ctx.settings.archive_retention_days),
                            now=now)
