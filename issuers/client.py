"""A department's HTTP client for the exchange: token by client assertion, push licences, change status.

::

    client = ExchangeClient("https://exchange.example", signer, client_id="psb-system")
    client.push(signer.sign(draft))          # -> {"licence_id": ..., "created": true, ...}
    client.change_status(licence_id, "revoke", "证件遗失")

Access tokens (OAuth 2.0 client credentials, RFC 7523 ``private_key_jwt``) are cached until shortly before
they expire.  Connection errors, timeouts and 5xx answers are retried with exponential backoff (bounded); 4xx
answers never are (a 401 once triggers a fresh token, then surfaces).  Failures raise :class:`PushError`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

import httpx

from issuers.department import DepartmentSigner

__all__ = ["ASSERTION_TYPE", "DEFAULT_SCOPE", "ExchangeClient", "PushError", "StatusAction"]

ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEFAULT_SCOPE: Final = "issue:licences manage:licences"
TOKEN_PATH: Final = "/api/v1/oauth/token"  # noqa: S105 - a URL path, not a secret
LICENCES_PATH: Final = "/api/v1/licences"
STATUS_ALLOCATIONS_PATH: Final = "/api/v1/status-lists/allocations"
SD_JWT_MEDIA_TYPE: Final = "application/dc+sd-jwt"
_LICENCE_ID_RE: Final = re.compile(r"[0-9A-Za-z.]{1,128}")
StatusAction = Literal["revoke", "suspend", "reinstate"]


class PushError(Exception):
    """The exchange refused or failed a request.  ``status`` is the HTTP status (0 = no answer: connection
    failure after the retries); ``error_code`` and ``detail`` come from the JSON error body
    ``{"error": ..., "detail": ...}`` (``HTTP_<status>`` / the body text when it is not that shape)."""

    def __init__(self, status: int, error_code: str, detail: Any = None, *, field: str | None = None) -> None:
        super().__init__(f"{status} {error_code}: {detail}")
        self.status = status
        self.error_code = error_code
        self.detail = detail
        self.field = field

    @property
    def retryable(self) -> bool:
        return self.status == 0 or self.status >= 500


def _error_from(resp: httpx.Response) -> PushError:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        field = body.get("field")
        return PushError(
            resp.status_code,
            body["error"],
            body.get("detail"),
            field=field if isinstance(field, str) else None,
        )
    return PushError(resp.status_code, f"HTTP_{resp.status_code}", resp.text[:500] or None)


class ExchangeClient:
    """Talks to one exchange as one department client.  Thread-safe for concurrent pushes."""

    def __init__(
        self,
        base_url: str,
        signer: DepartmentSigner,
        client_id: str,
        http: httpx.Client | None = None,
        *,
        scope: str = DEFAULT_SCOPE,
        audience: str | None = None,
        max_attempts: int = 4,
        backoff_s: float = 0.2,
        max_backoff_s: float = 5.0,
        refresh_margin_s: float = 30.0,
        timeout_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``audience`` (the ``aud`` of client assertions) defaults to ``base_url`` + the token path; set it
        when the exchange's public URL differs from the one this client connects to."""
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.base_url = base_url.rstrip("/")
        self.signer = signer
        self.client_id = client_id
        self.scope = scope
        self.audience = audience or self.base_url + TOKEN_PATH
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.refresh_margin_s = refresh_margin_s
        self._sleep = sleep
        self._clock = clock
        self._own_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout_s)
        self._lock = threading.Lock()
        self._token: str | None = None
        self._token_expires_at = 0.0
        self.token_requests = 0  # how many tokens were fetched (observability, tests)

    # -- lifecycle ---------------------------------------------------------------------------------------
    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> ExchangeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        data: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One logical request with bounded retries on connection errors and 5xx."""
        url = self.base_url + path
        delay = self.backoff_s
        last: PushError | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                resp = self._http.request(method, url, content=content, data=data, json=json, headers=headers)
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                last = PushError(0, "CONNECTION_ERROR", f"{type(exc).__name__}: {exc}")
            else:
                if resp.status_code < 500:
                    return resp
                last = _error_from(resp)
            if attempt < self.max_attempts:
                self._sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)
        assert last is not None  # noqa: S101 - the loop ran at least once
        raise last

    # -- token -------------------------------------------------------------------------------------------
    def access_token(self, *, force: bool = False) -> str:
        """A valid access token, fetched with a fresh client assertion when none is cached (or ``force``)."""
        with self._lock:
            if not force and self._token is not None and self._clock() < self._token_expires_at:
                return self._token
            assertion = self.signer.client_assertion(self.client_id, self.audience)
            resp = self._send(
                "POST",
                TOKEN_PATH,
                data={
                    "grant_type": "client_credentials",
                    "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": assertion,
                    "scope": self.scope,
                },
            )
            if resp.status_code != 200:
                raise _error_from(resp)
            try:
                body = resp.json()
                token = body["access_token"]
                expires_in = float(body.get("expires_in", 300))
            except (ValueError, KeyError, TypeError) as exc:
                raise PushError(
                    resp.status_code, "BAD_TOKEN_RESPONSE", "token response is malformed"
                ) from exc
            if not isinstance(token, str) or not token:
                raise PushError(resp.status_code, "BAD_TOKEN_RESPONSE", "no access_token")
            self.token_requests += 1
            self._token = token
            self._token_expires_at = self._clock() + max(expires_in - self.refresh_margin_s, 0.0)
            return token

    def _authorised(
        self, method: str, path: str, *, content: bytes | None = None, json: Any = None, content_type: str
    ) -> dict[str, Any]:
        for attempt in (1, 2):
            token = self.access_token(force=attempt == 2)
            headers = {
                "Authorization": f"Bearer {token}",
                "Content-Type": content_type,
                "Accept": "application/json",
            }
            resp = self._send(method, path, content=content, json=json, headers=headers)
            if resp.status_code == 401 and attempt == 1:
                continue  # the cached token may have been revoked or the server restarted: one fresh try
            if resp.status_code >= 400:
                raise _error_from(resp)
            try:
                body = resp.json()
            except ValueError as exc:
                raise PushError(resp.status_code, "BAD_RESPONSE", "response is not JSON") from exc
            if not isinstance(body, dict):
                raise PushError(resp.status_code, "BAD_RESPONSE", "response is not a JSON object")
            return body
        raise AssertionError("unreachable")  # pragma: no cover

    # -- API ---------------------------------------------------------------------------------------------
    def push(self, credential: str) -> dict[str, Any]:
        """Push one signed licence (compact SD-JWT).  Returns the exchange's JSON answer
        (``licence_id``, ``type``, ``created``, ``status``); pushing the same licence again is idempotent."""
        return self._authorised(
            "POST", LICENCES_PATH, content=credential.encode("ascii"), content_type=SD_JWT_MEDIA_TYPE
        )

    def change_status(self, licence_id: str, action: StatusAction, reason: str) -> dict[str, Any]:
        """Revoke, suspend or reinstate a licence this department issued."""
        if not _LICENCE_ID_RE.fullmatch(licence_id):
            raise ValueError("licence_id must be a GB/T 36904 identifier (digits, letters and dots)")
        path = f"{LICENCES_PATH}/{licence_id}/status"
        return self._authorised(
            "POST", path, json={"action": action, "reason": reason}, content_type="application/json"
        )

    def signed_by(self, fingerprint: str) -> list[str]:
        """The identifiers of this department's registered licences signed by the key whose certificate has
        this SHA-256 fingerprint (hex) — what to re-issue after the key is compromised or retired."""
        clean = fingerprint.replace(":", "").lower()
        if not re.fullmatch(r"[0-9a-f]{64}", clean):
            raise ValueError("fingerprint must be 64 hex digits")
        body = self._authorised("GET", f"{LICENCES_PATH}/signed-by/{clean}", content_type="application/json")
        ids = body.get("licences")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise PushError(200, "BAD_RESPONSE", "signed-by answer is malformed")
        return list(ids)

    def allocate_status(self, count: int = 1) -> list[tuple[int, str]]:
        """Reserve ``count`` (1..1000) IETF Token Status List entries for licences about to be signed: a list of
        ``(idx, uri)`` to pass to ``DepartmentSigner.sign(status_list=…)``, one per licence."""
        if not 1 <= count <= 1000:
            raise ValueError("count must be 1..1000")
        body = self._authorised("POST", STATUS_ALLOCATIONS_PATH, json={"count": count},
                                content_type="application/json")
        refs = body.get("references")
        if not isinstance(refs, list) or len(refs) != count:
            raise PushError(200, "BAD_RESPONSE", "the allocation answer has the wrong shape")
        out: list[tuple[int, str]] = []
        for ref in refs:
            if not (isinstance(ref, dict) and isinstance(ref.get("idx"), int) and isinstance(ref.get("uri"), str)):
                raise PushError(200, "BAD_RESPONSE", "a status reference is malformed")
            out.append((int(ref["idx"]), str(ref["uri"])))
        return out
