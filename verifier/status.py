"""Online status sources for :func:`verifier.licence.verify_licence` (see :mod:`verifier.status_check`)."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from verifier.errors import StatusUnavailable
from verifier.status_list import StatusListClient
from verifier.trust import TrustList

__all__ = ["ExchangeStatusSource", "HttpStatusSource"]

KNOWN_STATES = frozenset({"valid", "revoked", "suspended", "expired"})


class HttpStatusSource:
    """``GET {base_url}/api/v1/status/{licence_id}`` → ``{"status": "valid" | "revoked" | …}``.

    Returns the status string, ``"not_found"`` on HTTP 404, and raises :class:`StatusUnavailable` for
    network errors, other HTTP errors and unexpected bodies (``verify_licence`` records "unavailable").
    """

    def __init__(self, base_url: str, client: httpx.Client | None = None, *, timeout: float = 5.0) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise ValueError("base_url must be an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self._client = client
        self._timeout = timeout

    def url_for(self, licence_id: str) -> str:
        return f"{self.base_url}/api/v1/status/{quote(licence_id, safe='')}"

    def __call__(self, licence_id: str) -> str | None:
        url = self.url_for(licence_id)
        try:
            if self._client is not None:
                response = self._client.get(url, timeout=self._timeout)
            else:
                with httpx.Client(timeout=self._timeout) as client:
                    response = client.get(url)
        except httpx.HTTPError as exc:
            raise StatusUnavailable(f"status request failed: {type(exc).__name__}") from exc
        if response.status_code == 404:
            return "not_found"
        if response.status_code != 200:
            raise StatusUnavailable(f"status endpoint answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise StatusUnavailable("status endpoint returned invalid JSON") from exc
        state = body.get("status") if isinstance(body, dict) else None
        if state not in KNOWN_STATES:
            raise StatusUnavailable(f"status endpoint returned an unknown status {state!r}")
        return str(state)


class ExchangeStatusSource:
    """Online status from one exchange at ``base_url``: IETF status lists under that URL for tokens that
    reference one (fetched, verified against ``trust``, cached for ``ttl``), and the per-licence route for
    older tokens without a reference. A list outside ``base_url`` is not fetched (STATUS_UNAVAILABLE)."""

    def __init__(self, base_url: str, trust: TrustList, client: httpx.Client | None = None, *,
                 timeout: float = 5.0) -> None:
        self.by_id = HttpStatusSource(base_url, client, timeout=timeout)
        self.lists = StatusListClient(trust, http=client, timeout=timeout,
                                      allowed_prefixes=(self.by_id.base_url + "/",))

    def lookup(self, uri: str, idx: int) -> str:
        return self.lists.lookup(uri, idx)

    def __call__(self, licence_id: str) -> str | None:
        return self.by_id(licence_id)
