"""Response models of the citizen API (the consent views are the counter's)."""

from __future__ import annotations

from typing import Any

from ..kit.responses import Out
from ..usage.schemas import UsageEventOut


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


UsageEntryOut = UsageEventOut  # one model for the usage log, declared by its feature (exchange/usage)
