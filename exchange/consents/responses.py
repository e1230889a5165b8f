"""Response models of the consent views: what a consent asks for (shared with the counter's scan and case
answers) and the consent as the citizen sees it."""

from __future__ import annotations

from pydantic import Field

from ..kit.responses import Out


class RequestedFieldOut(Out):
    name: str
    title: str | None = None
    title_en: str | None = None


class RequestedLicenceOut(Out):
    type: str
    type_name: str
    type_name_en: str | None = None
    fields: list[RequestedFieldOut]


class RequesterOut(Out):
    clerk: str | None = None
    hall: str | None = None
    window: str | None = None


class UseOut(Out):
    """A use beside the licences that a consent covers: an instant proof, a department check, archive reuse or
    a commitment (its ``statement`` is what approving confirms)."""

    material: str
    mode: str
    what: str
    what_en: str | None = None
    department: str | None = None
    statement: str | None = None
    statement_en: str | None = None


class ConsentOut(Out):
    id: str
    matter: str
    matter_name: str
    matter_name_en: str | None = None
    requester: RequesterOut
    licences: list[RequestedLicenceOut]
    uses: list[UseOut] = Field(default_factory=list)
    expires_at: str
    created_at: str
    decided_at: str | None = None
    status: str
