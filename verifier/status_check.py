"""The status step of verification, shared by licences and sealed proofs (one implementation, fail closed).

A token's ``status`` claim names an IETF Token Status List entry (:mod:`verifier.status_list`). The caller
gives a *status source*: either a resolver with ``lookup(uri, idx)`` (a :class:`StatusListClient`, or the
exchange's own lists) or, for tokens without a reference, a legacy ``callable(subject_id)``. Outcomes:

* status learnt: ``valid`` → nothing; ``revoked`` / ``suspended`` / ``expired`` / ``not_found`` → that code;
* status asked for but not learnt (no source, network or HTTP error, bad or stale list, unknown value) →
  ``STATUS_UNAVAILABLE`` — the result is then not valid and its verdict is INDETERMINATE;
* ``require=False`` (``--no-status``): the status is not checked and ``details["status"]`` says
  ``not_checked`` so the output can say so.

``require=None`` (the default) requires a status exactly when the token carries a status reference or a
source was given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from verifier.errors import MalformedInput, StatusUnavailable
from verifier.result import Code
from verifier.status_list import StatusReference, status_reference

__all__ = ["NOT_CHECKED_NOTE", "StatusListResolver", "StatusOutcome", "StatusSource", "check_status"]

NOT_CHECKED_NOTE = "status not checked (--no-status): revocation and suspension are unknown"


@runtime_checkable
class StatusListResolver(Protocol):
    def lookup(self, uri: str, idx: int) -> str: ...


#: ``status(subject_id)`` -> "valid" | "revoked" | "suspended" | "expired" | "not_found" | None (unknown).
LegacyStatusSource = Callable[[str], str | None]
StatusSource = StatusListResolver | LegacyStatusSource

_STATE_CODES: Mapping[str, Code] = {
    "revoked": Code.REVOKED,
    "suspended": Code.SUSPENDED,
    "expired": Code.EXPIRED,
    "not_found": Code.NOT_FOUND,
}


@dataclass
class StatusOutcome:
    code: Code | None = None
    note: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _unavailable(why: str, details: dict[str, Any]) -> StatusOutcome:
    details["status"] = "unavailable"
    details["status_error"] = why
    return StatusOutcome(Code.STATUS_UNAVAILABLE, f"status could not be determined: {why}", details)


def check_status(
    claim: object, subject_id: str, source: StatusSource | None, *, require: bool | None = None
) -> StatusOutcome:
    """Run the status step for a token whose payload ``status`` claim is ``claim``."""
    details: dict[str, Any] = {}
    try:
        ref: StatusReference | None = status_reference(claim)
    except MalformedInput as exc:
        return StatusOutcome(Code.MALFORMED, exc.detail, details)
    if ref is not None:
        details["status_list"] = {"idx": ref.idx, "uri": ref.uri}
    if require is False:
        details["status"] = "not_checked"
        return StatusOutcome(None, NOT_CHECKED_NOTE, details)
    if source is None:
        if require or ref is not None:
            return _unavailable("no status source was given (an offline check needs --no-status)", details)
        details["status"] = "none"
        return StatusOutcome(None, None, details)
    try:
        if ref is not None and isinstance(source, StatusListResolver):
            state: str | None = source.lookup(ref.uri, ref.idx)
        elif callable(source):
            state = source(subject_id)
        else:
            return _unavailable("the token carries no status list reference", details)
    except StatusUnavailable as exc:
        return _unavailable(exc.detail, details)
    if state == "valid":
        details["status"] = "valid"
        return StatusOutcome(None, None, details)
    code = _STATE_CODES.get(state or "")
    if code is None:
        return _unavailable(f"the status source gave an unknown status {state!r}", details)
    details["status"] = state
    return StatusOutcome(code, f"status source reports {state}", details)
