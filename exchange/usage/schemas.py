"""Wire models of the citizen's usage log (用证记录) and its export for offline checking."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..kit.responses import Out


class LogPositionOut(Out):
    index: int | None = Field(description="the event's index in the transparency log (null until sequenced)")
    leaf_input: str | None = Field(description="base64 of the 32-byte commitment, the log's leaf input")
    inclusion: list[str] | None = Field(default=None, description="export only: RFC 9162 inclusion proof (base64)")


class OpeningOut(Out):
    salt: str = Field(description="base64 of the 32-byte salt that opens the commitment")


class UsageEventOut(Out):
    seq: int = Field(description="increasing over time; page with before_seq")
    holder: str
    at: str
    action: str
    outcome: str
    actor_kind: str
    actor: str
    place: str | None
    matter: str | None
    subject: dict[str, Any]
    matter_name: str | None = None
    matter_name_en: str | None = None
    log: LogPositionOut
    opening: OpeningOut


class UsageExportOut(Out):
    checkpoint: str = Field(description="C2SP signed checkpoint the proofs are against")
    retained_since: str = Field(description="events older than this may have been deleted (retention)")
    events: list[UsageEventOut]
    consistency: dict[str, list[str]] = Field(description="tree size → consistency proof to the checkpoint")
