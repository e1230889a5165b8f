"""Who is calling the proof and application endpoints: a face-authenticated citizen or a reviewing clerk.

Thin adapters over the sessions the citizen and counter features define (``exchange.citizens.session``,
``exchange.counter.auth``): the proof endpoints need the ID number (to read department data) and an
:class:`~exchange.usage.service.Actor` for the usage log; reviews need a reviewer of a department.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from ..citizens.session import CitizenCaller as CitizenSession
from ..citizens.session import require_citizen
from ..counter.auth import ClerkCaller, require_clerk
from ..deps import Ctx
from ..kit.errors import Forbidden
from ..usage.service import Actor


@dataclass(frozen=True)
class CitizenCaller:
    holder_hash: str
    id_number: str
    via: str = "face"

    @property
    def actor(self) -> Actor:
        return Actor("citizen", "本人")


def current_citizen(ctx: Ctx, session: Annotated[CitizenSession, Depends(require_citizen)]) -> CitizenCaller:
    return CitizenCaller(session.holder_hash, session.id_number(ctx))


@dataclass(frozen=True)
class ReviewerCaller:
    id: int
    department_id: str
    actor: Actor


def current_reviewer(clerk: Annotated[ClerkCaller, Depends(require_clerk)]) -> ReviewerCaller:
    if clerk.role not in ("reviewer", "admin"):
        raise Forbidden("only reviewers may review proof applications", code="ROLE_REQUIRED")
    if clerk.department_id is None:
        raise Forbidden("the reviewer is not attached to a department", code="ROLE_REQUIRED")
    return ReviewerCaller(clerk.id, clerk.department_id, Actor("clerk", clerk.name,
                                                               clerk.place))


Citizen = Annotated[CitizenCaller, Depends(current_citizen)]
Reviewer = Annotated[ReviewerCaller, Depends(current_reviewer)]
