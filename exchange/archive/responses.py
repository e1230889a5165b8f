"""Response models of the e-archive (shared with the counter's material routes)."""

from __future__ import annotations

from ..kit.responses import Out


class ArchiveItemOut(Out):
    id: str
    material_type: str
    title: str
    media_type: str
    size: int
    sha256: str
    origin: str  # upload | presentation | proof | check | record
    source_case: str | None = None
    source_matter: str | None = None
    source_matter_name: str | None = None
    uploaded_by: str
    accepted: bool
    accepted_by: str | None = None
    accepted_at: str | None = None
    created_at: str
    retain_until: str | None = None


class ArchiveListOut(Out):
    items: list[ArchiveItemOut]


class DeletedOut(Out):
    id: str
    deleted: bool
