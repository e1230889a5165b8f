"""Response models of the citizen API (the consent views are the counter's)."""

from __future__ import annotations

from typing import Any

from ..kit.responses import Out


class LicenceFieldOut(Out):
    name: str
    title: str | None = None
    title_en: str | None = None
    value: Any = None
    masked: bool


class MyLicenceOut(Out):
    licence_id: str
    type: str
    type_name: str
    issuer: str
    status: str
    valid_until: str | None = None
    fields: list[LicenceFieldOut]


class UsageEntryOut(Out):
    seq: int
    at: str
    action: str
    outcome: str
    actor_kind: str
    actor: str
    place: str | None = None
    matter: str | None = None
    matter_name: str | None = None
    subject: dict[str, Any]
