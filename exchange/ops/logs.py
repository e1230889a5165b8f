"""Structured JSON logs: one JSON object per line, with the request id of the request being served.

Nothing identifying goes in: the access line carries the route *template* (``/api/v1/counter/cases/{case_id}/
pull``), never the path or query, and every message passes a filter that masks anything shaped like a citizen ID
number (18 characters, 17 digits and a digit or X) or a bearer token, in case a message formats one by mistake.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from typing import Any, Final

__all__ = ["REQUEST_ID", "JsonFormatter", "configure_logging", "redact"]

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("licex_request_id", default=None)
_ID_NUMBER: Final = re.compile(r"(?<![0-9])([0-9]{4})[0-9]{10}([0-9]{3}[0-9Xx])(?![0-9])")
_BEARER: Final = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_STANDARD: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()) | {"message", "asctime"}


def redact(text: str) -> str:
    """Mask citizen ID numbers (keep the first 4 and last 4 characters) and bearer tokens."""
    return _BEARER.sub(r"\1[redacted]", _ID_NUMBER.sub(r"\1**********\2", text))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "msg": redact(record.getMessage()),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            out["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", *, stream: Any = None) -> None:
    """JSON lines on stderr for the ``licex`` loggers and uvicorn's (replaces their handlers)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # the exchange writes its own access line
