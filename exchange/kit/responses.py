"""Declared response shapes shared by every router: the base of response models and the JSON error.

Response models declare the properties a client can rely on, so the OpenAPI document names them and a fuzzer
can check conformance. They allow extra properties: a service adding a field does not lose it on the way out.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorOut(BaseModel):
    """Every error: a stable code, a detail (text or an object with ``message``/``message_zh``), the field."""

    model_config = ConfigDict(extra="allow")
    error: str = Field(description="stable error code, e.g. INVALID_INPUT, RATE_LIMITED")
    detail: Any = None
    field: str | None = None


class HealthOut(Out):
    status: str


#: Error responses documented on every API route (the app's one error handler produces them).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorOut, "description": "client error: `{error, detail, field}`"},
    "5XX": {"model": ErrorOut, "description": "server or dependency error (503 UNAVAILABLE may be retried)"},
}
