"""IETF Token Status List (draft-ietf-oauth-status-list): the list, its signed token, and a caching client.

A Referenced Token (a licence, a sealed proof) carries ``status: {"status_list": {"idx": N, "uri": U}}`` in its
signed payload. The Status List Token at ``U`` is a JWT (header ``typ`` = ``statuslist+jwt``, ES256, ``x5c`` =
the exchange's signing certificate, which must chain to a trusted root of the trust list, carry the
trust-list-signing EKU and not be revoked) with claims ``sub`` (= ``U``), ``iat``, ``exp``, ``ttl`` and
``status_list: {"bits": 2, "lst": base64url(zlib(bytes))}``. Status ``idx`` occupies bits
``[idx*bits, idx*bits+bits)`` of the byte array, counted from the least significant bit of each byte
(§4.1 of the draft). Values: 0 VALID, 1 INVALID (revoked), 2 SUSPENDED; 3 is application-specific and is
treated as "could not determine" here.

:class:`StatusListClient` fetches tokens (``Accept: application/statuslist+jwt``), verifies them against a
:class:`~verifier.trust.TrustList`, caches each for ``ttl`` (never past ``exp``) and re-fetches after. Built
from an offline bundle (``licex trust export --with-status``) it never touches the network and refuses a
token older than ``max_age``. Every failure to learn a status raises :class:`StatusUnavailable`: the caller
fails closed (``STATUS_UNAVAILABLE``).
"""

from __future__ import annotations

import base64
import json
import threading
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from schemas.canonical import b64u_encode, canonical_json
from verifier.errors import MalformedInput, StatusUnavailable
from verifier.jose import b64u_decode_strict, es256_verify, parse_compact_jws, parse_x5c
from verifier.trust import EKU_TRUST_LIST_SIGNING, TrustList

__all__ = [
    "ALLOWED_BITS",
    "MEDIA_TYPE",
    "STATUS_INVALID",
    "STATUS_NAMES",
    "STATUS_SUSPENDED",
    "STATUS_VALID",
    "TOKEN_TYP",
    "StatusList",
    "StatusListClient",
    "StatusListToken",
    "StatusReference",
    "encode_status_list_token",
    "locate_entry",
    "parse_status_list_token",
    "status_reference",
]

TOKEN_TYP = "statuslist+jwt"  # noqa: S105 - a media type, not a secret
MEDIA_TYPE = "application/statuslist+jwt"
STATUS_VALID, STATUS_INVALID, STATUS_SUSPENDED = 0, 1, 2
#: status value -> the word ``verify_licence`` understands
STATUS_NAMES: Mapping[int, str] = {
    STATUS_VALID: "valid",
    STATUS_INVALID: "revoked",
    STATUS_SUSPENDED: "suspended",
}
ALLOWED_BITS = (1, 2, 4, 8)
#: 2-bit statuses for 32 Mi entries; a decompressed list larger than this is refused (zip bombs).
MAX_LIST_BYTES = 8 * 1024 * 1024
MAX_TOKEN_CHARS = 4 * 1024 * 1024
MAX_URI_CHARS = 512
#: Leeway for ``iat`` in the future (clock skew).
LEEWAY_SECONDS = 60


def locate_entry(idx: int, size: int, bits: int) -> tuple[int, int, int]:
    """Where entry ``idx`` of a list of ``size`` entries of ``bits`` bits lies: (byte index, bit shift within the
    byte, mask); the entry's value is ``(data[byte] >> shift) & mask`` (entries fill each byte from its least
    significant bit, as the Token Status List draft specifies). ``IndexError`` outside the list."""
    if not isinstance(idx, int) or isinstance(idx, bool) or not 0 <= idx < size:
        raise IndexError(f"index {idx!r} is outside the list (0..{size - 1})")
    bit = idx * bits
    return bit // 8, bit % 8, (1 << bits) - 1


class StatusList:
    """A mutable status array of ``size`` entries of ``bits`` bits each (all VALID when new)."""

    def __init__(self, size: int, bits: int = 2, data: bytes | bytearray | None = None) -> None:
        if bits not in ALLOWED_BITS:
            raise ValueError("bits must be 1, 2, 4 or 8")
        if size < 1:
            raise ValueError("size must be positive")
        nbytes = (size * bits + 7) // 8
        if data is not None and len(data) != nbytes:
            raise ValueError(f"a list of {size} {bits}-bit statuses has {nbytes} bytes, not {len(data)}")
        self.size = size
        self.bits = bits
        self.data = bytearray(data) if data is not None else bytearray(nbytes)

    def _locate(self, idx: int) -> tuple[int, int, int]:
        return locate_entry(idx, self.size, self.bits)

    def get(self, idx: int) -> int:
        byte, shift, mask = self._locate(idx)
        return (self.data[byte] >> shift) & mask

    def set(self, idx: int, value: int) -> None:
        byte, shift, mask = self._locate(idx)
        if not 0 <= value <= mask:
            raise ValueError(f"status {value} does not fit in {self.bits} bits")
        self.data[byte] = (self.data[byte] & ~(mask << shift) & 0xFF) | (value << shift)

    def encode(self, level: int = 6) -> str:
        """``lst``: base64url (no padding) of the ZLIB (RFC 1950) compressed byte array (level 6: at 1 Mi
        entries with 1 % set it is ~6x faster than level 9 for ~20 % more bytes; see bench/bench_status.py)."""
        return b64u_encode(zlib.compress(bytes(self.data), level))

    @classmethod
    def decode(cls, bits: object, lst: object, *, max_bytes: int = MAX_LIST_BYTES) -> StatusList:
        if not isinstance(bits, int) or isinstance(bits, bool) or bits not in ALLOWED_BITS:
            raise MalformedInput("status_list.bits must be 1, 2, 4 or 8")
        if not isinstance(lst, str) or not lst:
            raise MalformedInput("status_list.lst must be a non-empty string")
        compressed = b64u_decode_strict(lst, what="status_list.lst")
        inflater = zlib.decompressobj()
        try:
            raw = inflater.decompress(compressed, max_bytes + 1)
        except zlib.error as exc:
            raise MalformedInput("status_list.lst is not ZLIB data") from exc
        if len(raw) > max_bytes or inflater.unconsumed_tail:
            raise MalformedInput(f"status list larger than {max_bytes} bytes")
        if not inflater.eof:
            raise MalformedInput("status_list.lst is truncated")
        if not raw:
            raise MalformedInput("status list is empty")
        return cls(len(raw) * 8 // bits, bits, raw)


@dataclass(frozen=True)
class StatusReference:
    idx: int
    uri: str

    def to_claim(self) -> dict[str, Any]:
        """The ``status`` claim of a Referenced Token."""
        return {"status_list": {"idx": self.idx, "uri": self.uri}}


def status_reference(claim: object) -> StatusReference | None:
    """Read ``status.status_list`` from a token's payload ``status`` claim; None when there is none.

    Raises :class:`MalformedInput` when it is present but not ``{"idx": non-negative int, "uri": https?-URL}``.
    """
    if not isinstance(claim, dict) or "status_list" not in claim:
        return None
    ref = claim["status_list"]
    if not isinstance(ref, dict):
        raise MalformedInput("status.status_list must be an object")
    idx, uri = ref.get("idx"), ref.get("uri")
    if not isinstance(idx, int) or isinstance(idx, bool) or not 0 <= idx < 2**32:
        raise MalformedInput("status.status_list.idx must be a non-negative integer")
    if not isinstance(uri, str) or not uri.startswith(("https://", "http://")) or len(uri) > MAX_URI_CHARS:
        raise MalformedInput("status.status_list.uri must be an http(s) URL")
    return StatusReference(idx, uri)


@dataclass(frozen=True)
class StatusListToken:
    uri: str
    issued_at: datetime
    expires_at: datetime
    ttl: int | None
    status_list: StatusList
    signer_fingerprint: str
    raw: str

    def status(self, idx: int) -> int:
        try:
            return self.status_list.get(idx)
        except IndexError as exc:
            raise StatusUnavailable(f"index {idx} is outside the status list {self.uri}") from exc


def encode_status_list_token(
    *,
    uri: str,
    status_list: StatusList,
    key: ec.EllipticCurvePrivateKey,
    cert: x509.Certificate,
    issued_at: datetime,
    expires_at: datetime,
    ttl: int,
) -> str:
    """Sign a Status List Token (the exchange's trust-list key signs it)."""
    if not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("status list tokens are signed with ES256 (P-256)")
    header = {
        "alg": "ES256",
        "typ": TOKEN_TYP,
        "x5c": [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")],
    }
    claims = {
        "sub": uri,
        "iat": int(issued_at.timestamp()),
        "exp": int(expires_at.timestamp()),
        "ttl": int(ttl),
        "status_list": {"bits": status_list.bits, "lst": status_list.encode()},
    }
    signing_input = f"{b64u_encode(canonical_json(header))}.{b64u_encode(canonical_json(claims))}"
    r, s = decode_dss_signature(key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64u_encode(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _int_claim(payload: dict[str, Any], name: str, *, required: bool) -> int | None:
    value = payload.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedInput(f"{name} must be a non-negative integer")
    return value


def parse_status_list_token(
    text: str, trust: TrustList, *, uri: str, now: datetime | None = None
) -> StatusListToken:
    """Verify a Status List Token for ``uri``; raises :class:`StatusUnavailable` for anything wrong with it
    (malformed, bad signature, untrusted signer, ``sub`` ≠ ``uri``, expired)."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    try:
        jws = parse_compact_jws(text.strip(), max_bytes=MAX_TOKEN_CHARS)
        header = jws.header
        if header.get("alg") != "ES256":
            raise StatusUnavailable("status list token must be ES256")
        if header.get("typ") != TOKEN_TYP:
            raise StatusUnavailable(f"status list token typ must be {TOKEN_TYP}")
        if "crit" in header:
            raise StatusUnavailable("critical header extensions are not supported")
        signer = parse_x5c(header)[0]
        if not es256_verify(signer.public_key(), jws.signing_input, jws.signature):
            raise StatusUnavailable("status list token signature does not verify")
        _check_signer(signer, trust, moment)
        payload = jws.payload
        if not isinstance(payload, dict):
            raise MalformedInput("status list token payload must be an object")
        if payload.get("sub") != uri:
            raise StatusUnavailable("status list token sub does not match the referenced uri")
        iat = _int_claim(payload, "iat", required=True)
        exp = _int_claim(payload, "exp", required=True)
        ttl = _int_claim(payload, "ttl", required=False)
        body = payload.get("status_list")
        if not isinstance(body, dict):
            raise MalformedInput("status_list claim must be an object")
        status_list = StatusList.decode(body.get("bits"), body.get("lst"))
    except MalformedInput as exc:
        raise StatusUnavailable(f"status list token is malformed: {exc.detail}") from exc
    if iat is None or exp is None:  # pragma: no cover - _int_claim(required=True) never returns None
        raise StatusUnavailable("iat and exp are required")
    issued_at, expires_at = datetime.fromtimestamp(iat, UTC), datetime.fromtimestamp(exp, UTC)
    if issued_at > moment + timedelta(seconds=LEEWAY_SECONDS):
        raise StatusUnavailable("status list token is issued in the future")
    if expires_at <= moment:
        raise StatusUnavailable(f"status list token for {uri} expired at {expires_at.isoformat()}")
    from verifier.trust import fingerprint

    return StatusListToken(uri, issued_at, expires_at, ttl, status_list, fingerprint(signer), text.strip())


def _check_signer(signer: x509.Certificate, trust: TrustList, moment: datetime) -> None:
    if not trust.chains_to_root(signer, at=moment):
        raise StatusUnavailable("status list signer does not chain to a trusted root")
    if trust.is_revoked(signer):
        raise StatusUnavailable("status list signer is revoked")
    try:
        eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        eku = x509.ExtendedKeyUsage([])
    if EKU_TRUST_LIST_SIGNING not in eku:
        raise StatusUnavailable("status list signer lacks the trust-list-signing EKU")


Fetcher = Callable[[str], str]


class StatusListClient:
    """Resolves ``(uri, idx)`` to ``"valid" | "revoked" | "suspended"`` with verified, cached list tokens.

    Online: ``fetch`` (default: HTTP GET with ``Accept: application/statuslist+jwt``) for URIs under
    ``allowed_prefixes`` (default: any http(s) URI). A token is reused until ``min(iat_fetched + ttl, exp)``
    and re-fetched after. Offline (:meth:`from_bundle`): only the bundled tokens, each refused once older than
    ``max_age`` or past its ``exp``.
    """

    def __init__(
        self,
        trust: TrustList,
        *,
        fetch: Fetcher | None = None,
        http: httpx.Client | None = None,
        timeout: float = 5.0,
        allowed_prefixes: Iterable[str] | None = None,
        default_ttl: int = 300,
        max_age: timedelta | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.trust = trust
        self._fetch = fetch
        self._http = http
        self._timeout = timeout
        self._prefixes = tuple(allowed_prefixes) if allowed_prefixes is not None else None
        self._default_ttl = default_ttl
        self._max_age = max_age
        self._clock = clock or (lambda: datetime.now(UTC))
        self._cache: dict[str, tuple[StatusListToken, datetime]] = {}
        self._offline: dict[str, str] | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    # ------------------------------------------------------------------ offline bundles
    @classmethod
    def from_bundle(
        cls, tokens: Mapping[str, str], trust: TrustList, *, max_age: timedelta,
        clock: Callable[[], datetime] | None = None,
    ) -> StatusListClient:
        client = cls(trust, max_age=max_age, clock=clock)
        client._offline = dict(tokens)
        return client

    @property
    def offline(self) -> bool:
        return self._offline is not None

    # ------------------------------------------------------------------ fetching
    def _get(self, uri: str) -> str:
        if self._offline is not None:
            text = self._offline.get(uri)
            if text is None:
                raise StatusUnavailable(f"the offline bundle has no status list {uri}")
            return text
        if self._prefixes is not None and not uri.startswith(self._prefixes):
            raise StatusUnavailable(f"status list {uri} is not under an allowed prefix")
        if self._fetch is not None:
            return self._fetch(uri)
        headers = {"Accept": MEDIA_TYPE}
        try:
            if self._http is not None:
                response = self._http.get(uri, headers=headers, timeout=self._timeout)
            else:
                with httpx.Client(timeout=self._timeout) as client:
                    response = client.get(uri, headers=headers)
        except httpx.HTTPError as exc:
            raise StatusUnavailable(f"status list request failed: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise StatusUnavailable(f"status list endpoint answered HTTP {response.status_code}")
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != MEDIA_TYPE:
            raise StatusUnavailable(f"status list endpoint answered {ctype or 'no content type'}")
        if len(response.content) > MAX_TOKEN_CHARS:
            raise StatusUnavailable("status list token too large")
        return response.text

    def token(self, uri: str) -> StatusListToken:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(uri)
            if cached is not None and now < cached[1]:
                return cached[0]
        text = self._get(uri)
        self.fetches += 1
        token = parse_status_list_token(text, self.trust, uri=uri, now=now)
        if self._max_age is not None and now - token.issued_at > self._max_age:
            raise StatusUnavailable(
                f"status list {uri} was issued {token.issued_at.isoformat()}, older than the allowed "
                f"{int(self._max_age.total_seconds())} s"
            )
        ttl = token.ttl if token.ttl is not None else self._default_ttl
        fresh_until = min(now + timedelta(seconds=ttl), token.expires_at)
        if self._max_age is not None:
            fresh_until = min(fresh_until, token.issued_at + self._max_age)
        with self._lock:
            self._cache[uri] = (token, fresh_until)
        return token

    def lookup(self, uri: str, idx: int) -> str:
        """The status word for ``idx`` in the list at ``uri``; raises :class:`StatusUnavailable`."""
        value = self.token(uri).status(idx)
        name = STATUS_NAMES.get(value)
        if name is None:
            raise StatusUnavailable(f"status list {uri} gives the undefined status {value} for index {idx}")
        return name


def load_bundle(data: bytes) -> tuple[bytes, dict[str, str], datetime]:
    """Split a ``licex trust export --with-status`` bundle into (trust list bytes, {uri: token}, exported_at)."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedInput("status bundle is not JSON") from exc
    if not isinstance(doc, dict) or doc.get("format") != "licex-trust-bundle/1":
        raise MalformedInput("not a licex trust bundle")
    trust_list, lists = doc.get("trust_list"), doc.get("status_lists")
    if not isinstance(trust_list, str) or not isinstance(lists, dict):
        raise MalformedInput("bundle needs trust_list and status_lists")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in lists.items()):
        raise MalformedInput("status_lists must map URIs to tokens")
    try:
        exported = datetime.fromisoformat(str(doc.get("exported_at")).replace("Z", "+00:00"))
    except ValueError as exc:
        raise MalformedInput("exported_at is not an ISO time") from exc
    return trust_list.encode("ascii"), dict(lists), exported
