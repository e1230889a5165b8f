"""Response models of the department API."""

from __future__ import annotations

from ..kit.responses import Out


class TokenOut(Out):
    access_token: str
    token_type: str
    expires_in: int
    scope: str
