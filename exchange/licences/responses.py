"""Response models of the licence API."""

from __future__ import annotations

from ..kit.responses import Out


class StatusOut(Out):
    licence_id: str
    status: str
    reason: str | None = None
    changed_at: str | None = None
    valid_until: str | None = None
    checked_at: str
