"""Errors of the verifier package. Raised only for malformed input or bugs: failed checks are results."""

from __future__ import annotations

__all__ = ["MalformedInput", "StatusUnavailable", "TrustListError", "VerifierError"]


class VerifierError(Exception):
    """Root of the verifier's errors; ``code`` is stable and machine-readable."""

    code: str = "VERIFIER_ERROR"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


class MalformedInput(VerifierError):
    """The input cannot be parsed (bad encoding, wrong structure, over a size limit)."""

    code = "MALFORMED"


class TrustListError(VerifierError):
    """A trust list cannot be used: ``MALFORMED``, ``BAD_SIGNATURE``, ``CHAIN_INVALID``, ``ROOT_NOT_PINNED``,
    ``SIGNER_NOT_AUTHORISED`` or ``STALE`` (``next_update`` has passed)."""

    code = "TRUST_LIST_INVALID"


class StatusUnavailable(VerifierError):
    """A status source was asked but could not answer (network, HTTP error, bad JSON)."""

    code = "STATUS_UNAVAILABLE"
