"""IETF Token Status List: the list encoding (checked by a decoder written here from the draft's text), signed
tokens, the caching client, staleness, and the status step of verify_licence / verify_proof (fail closed)."""

from __future__ import annotations

import base64
import zlib
from datetime import datetime, timedelta

import pytest

from testkit.pki import TestPki, issue_test_licence, shared_pki
from verifier.errors import StatusUnavailable
from verifier.licence import verify_licence
from verifier.result import Code
from verifier.status_list import (
    StatusList,
    StatusListClient,
    encode_status_list_token,
    parse_status_list_token,
)

URI = "https://licex.example/api/v1/status-lists/00aa11bb22cc33dd"


def draft_decoder(lst: str, bits: int, idx: int) -> int:
    """Written from draft-ietf-oauth-status-list §4.1 ("Status List"): the byte array is ZLIB-compressed
    (RFC 1950) and base64url-encoded without padding; "the status of each Referenced Token is identified by
    the index ... each status occupies `bits` bits, starting at the least significant bit of the byte".
    Index ``idx`` is therefore in byte ``idx*bits // 8`` at bit offset ``(idx*bits) % 8``."""
    raw = zlib.decompress(base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4)))
    position = idx * bits
    return (raw[position // 8] >> (position % 8)) & ((1 << bits) - 1)


def test_examples_of_the_draft_decode() -> None:
    # §4.1 example, 1 bit: statuses 1,0,0,1,1,1,0,1, 1,1,0,0,0,1,0,1 → bytes 0xB9 0xA3
    one_bit = StatusList.decode(1, "eNrbuRgAAhcBXQ")
    assert bytes(one_bit.data) == b"\xb9\xa3"
    assert [one_bit.get(i) for i in range(16)] == [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
    # §4.1 example, 2 bits
    expected = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]
    two_bits = StatusList.decode(2, "eNo76fITAAPfAgc")
    assert [two_bits.get(i) for i in range(12)] == expected
    assert [draft_decoder("eNo76fITAAPfAgc", 2, i) for i in range(12)] == expected


def test_our_encoding_reads_the_same_in_the_drafts_decoder() -> None:
    lst = StatusList(1 << 16, 2)
    marks = {7: 1, 8: 2, 9: 1, 40_000: 2, 65_535: 1}
    for idx, value in marks.items():
        lst.set(idx, value)
    encoded = lst.encode()
    for idx in (0, 6, 7, 8, 9, 10, 40_000, 65_534, 65_535):
        assert draft_decoder(encoded, 2, idx) == marks.get(idx, 0) == lst.get(idx)
    lst.set(8, 0)
    assert draft_decoder(lst.encode(), 2, 8) == 0


def test_decode_refuses_bombs_and_junk() -> None:
    from verifier.errors import MalformedInput

    bomb = base64.urlsafe_b64encode(zlib.compress(bytes(9 * 1024 * 1024))).rstrip(b"=").decode()
    for bits, lst in ((2, bomb), (3, "eNrbuRgAAhcBXQ"), (2, "not base64!"), (2, "AAAA")):
        with pytest.raises(MalformedInput):
            StatusList.decode(bits, lst)


def _token(pki: TestPki, lst: StatusList, *, at: datetime | None = None, ttl: int = 300,
           validity: timedelta = timedelta(days=1), uri: str = URI) -> str:
    issued = at or pki.now
    return encode_status_list_token(uri=uri, status_list=lst, key=pki.exchange_key, cert=pki.exchange_cert,
                                    issued_at=issued, expires_at=issued + validity, ttl=ttl)


def test_token_is_verified_against_the_trust_list() -> None:
    pki = shared_pki()
    lst = StatusList(1024)
    lst.set(5, 1)
    token = parse_status_list_token(_token(pki, lst), pki.trust_list, uri=URI, now=pki.now)
    assert token.status(5) == 1 and token.status(6) == 0 and token.ttl == 300
    header = base64.urlsafe_b64decode(_token(pki, lst).split(".")[0] + "==")
    assert b'"typ":"statuslist+jwt"' in header and b'"alg":"ES256"' in header
    with pytest.raises(StatusUnavailable, match="sub"):
        parse_status_list_token(_token(pki, lst), pki.trust_list, uri=URI + "0", now=pki.now)
    # signed by a department's licence key (no trust-list EKU): refused
    dept = next(iter(pki.departments.values()))
    forged = encode_status_list_token(uri=URI, status_list=lst, key=dept.licence_key, cert=dept.licence_cert,
                                      issued_at=pki.now, expires_at=pki.now + timedelta(days=1), ttl=300)
    with pytest.raises(StatusUnavailable, match="EKU"):
        parse_status_list_token(forged, pki.trust_list, uri=URI, now=pki.now)
    head, body, sig = _token(pki, lst).split(".")
    with pytest.raises(StatusUnavailable):
        parse_status_list_token(f"{head}.{body}.{sig[:-4]}AAAA", pki.trust_list, uri=URI, now=pki.now)


def test_client_caches_for_ttl_and_refetches() -> None:
    pki = shared_pki()
    lst = StatusList(1024)
    clock = [pki.now]
    served: list[str] = []

    def fetch(uri: str) -> str:
        served.append(uri)
        return _token(pki, lst, at=clock[0], ttl=60, uri=uri)

    client = StatusListClient(pki.trust_list, fetch=fetch, clock=lambda: clock[0])
    assert client.lookup(URI, 3) == "valid"
    lst.set(3, 1)  # revoked at the exchange
    clock[0] += timedelta(seconds=30)
    assert client.lookup(URI, 3) == "valid" and len(served) == 1  # cached within ttl
    clock[0] += timedelta(seconds=31)
    assert client.lookup(URI, 3) == "revoked" and len(served) == 2  # re-fetched after ttl
    lst.set(3, 2)
    clock[0] += timedelta(seconds=61)
    assert client.lookup(URI, 3) == "suspended"
    lst.set(3, 0)
    clock[0] += timedelta(seconds=61)
    assert client.lookup(URI, 3) == "valid"  # reinstated
    lst.set(4, 3)
    clock[0] += timedelta(seconds=61)
    with pytest.raises(StatusUnavailable, match="undefined"):
        client.lookup(URI, 4)
    with pytest.raises(StatusUnavailable, match="outside"):
        client.lookup(URI, 5000)


def _licence_with_status(pki: TestPki, idx: int) -> str:
    return issue_test_licence(pki, serial="2024000901", status_list=(idx, URI))


def test_verify_licence_reads_the_list() -> None:
    pki = shared_pki()
    lst = StatusList(4096)
    sd_jwt = _licence_with_status(pki, 1234)
    client = StatusListClient(pki.trust_list, fetch=lambda uri: _token(pki, lst, uri=uri), clock=lambda: pki.now)
    ok = verify_licence(sd_jwt, pki.trust_list, now=pki.now, status=client)
    assert ok.valid and ok.details["status"] == "valid"
    assert ok.details["status_list"] == {"idx": 1234, "uri": URI}
    for value, code in ((1, Code.REVOKED), (2, Code.SUSPENDED)):
        lst.set(1234, value)
        fresh = StatusListClient(pki.trust_list, fetch=lambda uri: _token(pki, lst, uri=uri), clock=lambda: pki.now)
        result = verify_licence(sd_jwt, pki.trust_list, now=pki.now, status=fresh)
        assert result.codes == (code,) and result.outcome == "invalid"


def test_missing_or_stale_list_is_status_unavailable() -> None:
    pki = shared_pki()
    lst = StatusList(4096)
    sd_jwt = _licence_with_status(pki, 77)
    # a licence that names a status list, checked with no source at all: fail closed
    none = verify_licence(sd_jwt, pki.trust_list, now=pki.now)
    assert none.codes == (Code.STATUS_UNAVAILABLE,) and none.verdict.startswith("INDETERMINATE")
    # ... unless the caller says --no-status, and then the result says so
    skipped = verify_licence(sd_jwt, pki.trust_list, now=pki.now, require_status=False)
    assert skipped.valid and skipped.details["status"] == "not_checked"
    # expired token (exp passed)
    old = _token(pki, lst, at=pki.now - timedelta(days=2))
    stale = StatusListClient(pki.trust_list, fetch=lambda _uri: old, clock=lambda: pki.now)
    result = verify_licence(sd_jwt, pki.trust_list, now=pki.now, status=stale)
    assert result.codes == (Code.STATUS_UNAVAILABLE,) and result.outcome == "indeterminate"
    assert "expired" in result.details["status_error"]
    # offline bundle older than its staleness bound (token itself not yet expired)
    bundled = StatusListClient.from_bundle({URI: _token(pki, lst, at=pki.now - timedelta(hours=3))},
                                           pki.trust_list, max_age=timedelta(hours=2), clock=lambda: pki.now)
    result = verify_licence(sd_jwt, pki.trust_list, now=pki.now, status=bundled)
    assert result.codes == (Code.STATUS_UNAVAILABLE,) and "older" in result.details["status_error"]
    fresh = StatusListClient.from_bundle({URI: _token(pki, lst, at=pki.now - timedelta(hours=1))},
                                         pki.trust_list, max_age=timedelta(hours=2), clock=lambda: pki.now)
    assert verify_licence(sd_jwt, pki.trust_list, now=pki.now, status=fresh).valid
    # a list the bundle does not have
    empty = StatusListClient.from_bundle({}, pki.trust_list, max_age=timedelta(hours=2), clock=lambda: pki.now)
    assert verify_licence(sd_jwt, pki.trust_list, now=pki.now, status=empty).codes == (Code.STATUS_UNAVAILABLE,)
    # the network is down
    def down(_uri: str) -> str:
        raise StatusUnavailable("connection refused")

    offline = StatusListClient(pki.trust_list, fetch=down, clock=lambda: pki.now)
    assert verify_licence(sd_jwt, pki.trust_list, now=pki.now, status=offline).codes == (Code.STATUS_UNAVAILABLE,)


def test_interop_with_an_independent_implementation() -> None:
    """``token-status-list`` (PyPI, a third-party implementation of the draft) reads our lists and we read its."""
    tsl = pytest.importorskip("token_status_list")
    ours = StatusList(1 << 14, 2)
    for idx, value in ((0, 1), (5, 2), (1000, 1), (16383, 2)):
        ours.set(idx, value)
    theirs = tsl.BitArray.from_b64(2, ours.encode())
    assert [theirs.get(i) for i in (0, 1, 5, 1000, 16382, 16383)] == [1, 0, 2, 1, 0, 2]
    made = tsl.BitArray.of_size(2, 1 << 12)
    made.set(7, 2)
    made.set(4095, 1)
    back = StatusList.decode(2, made.to_b64())
    assert (back.get(7), back.get(4095), back.get(8)) == (2, 1, 0)
