"""Verification results: frozen, with a one-line verdict and machine-readable failure codes.

An empty ``codes`` tuple means valid. Codes are :class:`Code` members (plain strings on the wire).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

__all__ = [
    "INDETERMINATE_CODES",
    "Code",
    "LicenceVerification",
    "VerificationResult",
    "describe",
    "outcome_of",
    "verdict_line",
]


class Code(StrEnum):
    BAD_SIGNATURE = "BAD_SIGNATURE"
    UNKNOWN_ISSUER = "UNKNOWN_ISSUER"
    CHAIN_INVALID = "CHAIN_INVALID"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    REVOKED = "REVOKED"
    SUSPENDED = "SUSPENDED"
    SCHEMA_MISMATCH = "SCHEMA_MISMATCH"
    DISCLOSURE_TAMPERED = "DISCLOSURE_TAMPERED"
    MALFORMED = "MALFORMED"
    ISSUER_NOT_AUTHORISED = "ISSUER_NOT_AUTHORISED"
    TAMPERED = "TAMPERED"
    NOT_FOUND = "NOT_FOUND"
    STATUS_UNAVAILABLE = "STATUS_UNAVAILABLE"


#: Codes that mean "could not determine", not "found bad": alone they make the verdict INDETERMINATE.
INDETERMINATE_CODES = frozenset({Code.STATUS_UNAVAILABLE})


_DESCRIPTIONS: Mapping[str, str] = {
    Code.BAD_SIGNATURE: "the signature does not verify",
    Code.UNKNOWN_ISSUER: "the signer is not in the trust list",
    Code.CHAIN_INVALID: "the signing certificate does not chain to a trusted root or has expired",
    Code.EXPIRED: "validity period has ended",
    Code.NOT_YET_VALID: "validity period has not started",
    Code.REVOKED: "revoked",
    Code.SUSPENDED: "suspended",
    Code.SCHEMA_MISMATCH: "content does not match its catalogue type",
    Code.DISCLOSURE_TAMPERED: "a disclosed value is not covered by the signature",
    Code.MALFORMED: "cannot be parsed",
    Code.ISSUER_NOT_AUTHORISED: "the issuer may not issue this type",
    Code.TAMPERED: "the document was modified after signing",
    Code.NOT_FOUND: "not known to the exchange",
    Code.STATUS_UNAVAILABLE: "the current status could not be determined (not accepted: fail closed)",
}


def describe(code: str) -> str:
    """Short English description of a code (unknown codes describe themselves)."""
    return _DESCRIPTIONS.get(code, code)


def verdict_line(
    codes: Iterable[str], *, what: str | None, issuer: str | None, note: str | None = None
) -> str:
    """``VALID: <what> issued by <issuer>``, ``INVALID: CODE[, CODE] — <description of the first>``, or
    ``INDETERMINATE: STATUS_UNAVAILABLE — …`` when the only problem is that the status could not be learnt."""
    codes = tuple(codes)
    if not codes:
        line = "VALID: " + (what or "document")
        if issuer:
            line += f" issued by {issuer}"
        return line
    word = outcome_of(codes).upper()
    line = f"{word}: {', '.join(codes)} — {note or describe(codes[0])}"
    return line.replace("\n", " ")


def outcome_of(codes: Iterable[str]) -> str:
    """``valid`` (no codes), ``indeterminate`` (only could-not-determine codes) or ``invalid``."""
    codes = tuple(codes)
    if not codes:
        return "valid"
    return "indeterminate" if all(c in INDETERMINATE_CODES for c in codes) else "invalid"


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class VerificationResult:
    valid: bool
    codes: tuple[str, ...]
    verdict: str
    subject: str | None = None
    issuer: str | None = None
    details: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.valid != (not self.codes):
            raise ValueError("valid must be True exactly when codes is empty")
        object.__setattr__(self, "codes", tuple(str(c) for c in self.codes))
        object.__setattr__(self, "details", _frozen(self.details))

    def has(self, code: str) -> bool:
        return code in self.codes

    @property
    def outcome(self) -> str:
        """``valid`` | ``invalid`` | ``indeterminate`` (never valid: a status that cannot be learnt fails closed)."""
        return outcome_of(self.codes)


@dataclass(frozen=True)
class LicenceVerification(VerificationResult):
    """Result of :func:`verifier.licence.verify_licence`.

    ``disclosed``: the claims the holder disclosed (holder_name, holder_code, face fields) whose digests are
    covered by the signature. ``metadata``: the signed clear claims (licence_id, licence_type, issuer, …).
    Both are empty when the signature could not be checked.
    """

    disclosed: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    metadata: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "disclosed", _frozen(self.disclosed))
        object.__setattr__(self, "metadata", _frozen(self.metadata))
