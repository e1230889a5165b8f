"""One error root for the exchange. Each error has a stable ``code``; one handler maps them to HTTP.

Services raise these (they know nothing of HTTP status codes); ``exchange.app`` turns them into
``{"error": code, "detail": ...}`` responses using ``HTTP_STATUS`` below.
"""

from __future__ import annotations

from typing import Any


class ExchangeError(Exception):
    code = "EXCHANGE_ERROR"
    kind = "internal"

    def __init__(self, detail: Any = None, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(detail if isinstance(detail, str) else (code or self.code))
        self.detail = detail
        if code is not None:
            self.code = code
        self.field = field


class InvalidInput(ExchangeError):
    code = "INVALID_INPUT"
    kind = "invalid"


class Unauthenticated(ExchangeError):
    code = "UNAUTHENTICATED"
    kind = "unauthenticated"


class Forbidden(ExchangeError):
    code = "FORBIDDEN"
    kind = "forbidden"


class NotFound(ExchangeError):
    code = "NOT_FOUND"
    kind = "not_found"


class Conflict(ExchangeError):
    code = "CONFLICT"
    kind = "conflict"


class Gone(ExchangeError):
    code = "GONE"
    kind = "gone"


class Locked(ExchangeError):
    code = "LOCKED"
    kind = "locked"


class PayloadTooLarge(ExchangeError):
    code = "PAYLOAD_TOO_LARGE"
    kind = "too_large"


class UnsupportedMediaType(ExchangeError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    kind = "media_type"


class TooManyRequests(ExchangeError):
    """Over a rate limit; ``retry_after`` (seconds) becomes the ``Retry-After`` header."""

    code = "RATE_LIMITED"
    kind = "rate_limited"

    def __init__(self, detail: Any = None, *, code: str | None = None, field: str | None = None,
                 retry_after: int = 1) -> None:
        super().__init__(detail, code=code, field=field)
        self.retry_after = max(1, int(retry_after))


class Unavailable(ExchangeError):
    """A dependency (database, disk) cannot serve the request now; the client may retry."""

    code = "UNAVAILABLE"
    kind = "unavailable"


HTTP_STATUS: dict[str, int] = {
    "internal": 500,
    "invalid": 422,
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "gone": 410,
    "locked": 423,
    "too_large": 413,
    "media_type": 415,
    "rate_limited": 429,
    "unavailable": 503,
}
