"""HttpStatusSource against an in-process HTTP app (httpx MockTransport: a fake server, no network)."""

from __future__ import annotations

import httpx
import pytest

from testkit.pki import TestPki, issue_test_licence, shared_pki
from verifier.errors import StatusUnavailable
from verifier.licence import verify_licence
from verifier.result import Code
from verifier.status import HttpStatusSource

STATES: dict[str, str] = {}


def _app(request: httpx.Request) -> httpx.Response:
    prefix = "/api/v1/status/"
    assert request.method == "GET" and request.url.path.startswith(prefix)
    licence_id = request.url.path[len(prefix) :]
    if licence_id == "boom":
        return httpx.Response(500)
    if licence_id == "junk":
        return httpx.Response(200, content=b"<html>")
    state = STATES.get(licence_id)
    if state is None:
        return httpx.Response(404, json={"error": "NOT_FOUND"})
    return httpx.Response(200, json={"status": state})


@pytest.fixture
def source() -> HttpStatusSource:
    return HttpStatusSource(
        "https://licex.example/", client=httpx.Client(transport=httpx.MockTransport(_app))
    )


def test_status_values(source: HttpStatusSource) -> None:
    STATES["1.2.156.x"] = "suspended"
    assert source.url_for("1.2.156.x") == "https://licex.example/api/v1/status/1.2.156.x"
    assert source("1.2.156.x") == "suspended"
    assert source("unknown") == "not_found"
    for broken in ("boom", "junk"):
        with pytest.raises(StatusUnavailable):
            source(broken)


def test_verify_with_http_status(source: HttpStatusSource) -> None:
    pki: TestPki = shared_pki()
    sd_jwt = issue_test_licence(pki, serial="2024000777")
    licence_id = verify_licence(sd_jwt, pki.trust_list, now=pki.now).subject
    assert licence_id is not None
    STATES[licence_id] = "revoked"
    assert verify_licence(sd_jwt, pki.trust_list, now=pki.now, status=source).codes == (Code.REVOKED,)
    STATES[licence_id] = "valid"
    assert verify_licence(sd_jwt, pki.trust_list, now=pki.now, status=source).valid


def test_network_failure_is_status_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    source = HttpStatusSource(
        "http://127.0.0.1:9", client=httpx.Client(transport=httpx.MockTransport(refuse))
    )
    with pytest.raises(StatusUnavailable) as err:
        source("x")
    assert isinstance(err.value.__cause__, httpx.ConnectError)
