"""Refusals that must be kept although the request fails.

Services never commit, and the request's unit of work rolls back on any error. A refused scan, pull or face
login must still land in the usage log (and a failed face login must still count toward the lockout), so a
service that has *recorded* a refusal in the session marks the session with :func:`refuse`; the router wraps
the service call in :func:`keep_refusals`, which commits the session before the error propagates. Whatever else
the service wrote before the refusal (a consumed single-use nonce, say) is kept too — services write nothing
before a refusal that should not survive it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from ..kit.errors import ExchangeError
from ..usage import service as usage
from ..usage.service import Actor

_KEEP = "licex.keep_refusal"
#: Usage-log chain for refusals that cannot be attributed to a citizen (a forged or foreign QR).
UNATTRIBUTED = "0" * 64


def refuse(session: Session, error: ExchangeError, *, holder_hash: str | None, action: str, actor: Actor,
           matter_key: str | None = None, subject: dict[str, Any] | None = None,
           outcome: str = "refused") -> ExchangeError:
    """Record ``error`` as a refused ``action`` in the usage log, mark the session to be kept, return the error
    for the caller to raise."""
    usage.record(session, holder_hash or UNATTRIBUTED, action, actor, outcome=outcome,
                 matter_key=matter_key, subject={"reason": error.code, **(subject or {})})
    keep(session)
    return error


def keep(session: Session) -> None:
    session.info[_KEEP] = True


@contextmanager
def keep_refusals(session: Session) -> Iterator[None]:
    try:
        yield
    except ExchangeError:
        if session.info.pop(_KEEP, False):
            session.commit()
        raise
    finally:
        session.info.pop(_KEEP, None)
