"""Issue licences as SD-JWT VCs (RFC 9901, compact serialisation, ES256).

Shape of what :func:`issue_licence` returns::

    <b64u(header)>.<b64u(payload)>.<b64u(r||s)>~<disclosure>~<disclosure>~...~

* header  ``{"alg": "ES256", "typ": "dc+sd-jwt", "x5c": [<std-base64 DER of the licence certificate>]}``
  (the root is not included: verifiers hold it in the trust list).
* payload (always in the clear): ``iss`` ``iat`` ``nbf`` [``exp``] ``vct`` ``licence_id`` ``licence_type``
  ``licence_name`` ``licence_no`` ``version`` ``issuer{name,code}`` ``issued_on`` ``valid_from``
  ``valid_until`` ``jurisdiction`` ``holder_code_type`` [``status{status_list{idx,uri}}``] ``_sd_alg`` ``_sd``
  (``status`` names the licence's entry in an IETF Token Status List, allocated by the exchange before signing).
* one top-level disclosure ``[salt, name, value]`` per ``holder_name``, ``holder_code`` and every face field;
  ``licence_no`` moves from the clear payload to a disclosure when it equals ``holder_code``.

Calendar dates are interpreted in China Standard Time (UTC+8): ``nbf`` is the start of ``valid_from`` and
``exp`` the end of ``valid_until``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509 import Certificate

from schemas.canonical import b64u_encode as _b64u
from schemas.jose import compact_jws

__all__ = [
    "CHINA_TZ",
    "CLEAR_CLAIMS",
    "HOLDER_CODE_TYPES",
    "SD_ALG",
    "TYP",
    "VCT_PREFIX",
    "IssuanceError",
    "SaltSource",
    "deterministic_salts",
    "disclosure_digest",
    "encode_disclosure",
    "issue_licence",
    "sign_es256_jws",
]

TYP = "dc+sd-jwt"
SD_ALG = "sha-256"
VCT_PREFIX = "urn:licex:licence-type:"
HOLDER_CODE_TYPES = frozenset({"111", "001"})  # 111 = citizen ID number, 001 = USCC
CHINA_TZ = timezone(timedelta(hours=8), "CST")
#: Claim names that are always in the clear and therefore may not be disclosure names.
CLEAR_CLAIMS = frozenset(
    {
        "iss", "iat", "nbf", "exp", "vct", "sub", "aud", "jti", "cnf", "status",
        "licence_id", "licence_type", "licence_name", "licence_no", "version", "issuer",
        "issued_on", "valid_from", "valid_until", "jurisdiction", "holder_code_type",
        "_sd", "_sd_alg", "...",
    }
)  # fmt: skip

#: Returns fresh random bytes for one salt (at least 16 = 128 bits are used).
SaltSource = Callable[[], bytes]
_SALT_BYTES = 16


class IssuanceError(ValueError):
    """The inputs cannot make a well-formed licence."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def deterministic_salts(seed: bytes) -> SaltSource:
    """A reproducible salt stream for tests and vectors (HMAC-SHA256(seed, counter)). Never in production."""
    counter = 0

    def next_salt() -> bytes:
        nonlocal counter
        counter += 1
        return hmac.new(seed, counter.to_bytes(8, "big"), hashlib.sha256).digest()[:_SALT_BYTES]

    return next_salt


def _random_salt() -> bytes:
    return secrets.token_bytes(_SALT_BYTES)


def encode_disclosure(salt: str, name: str, value: Any) -> str:
    """``b64u(JSON [salt, name, value])`` as in RFC 9901 §4.2.1."""
    return _b64u(json.dumps([salt, name, value], ensure_ascii=False, allow_nan=False).encode())


def disclosure_digest(disclosure: str) -> str:
    """``b64u(sha256(ASCII(disclosure)))``."""
    return _b64u(hashlib.sha256(disclosure.encode("ascii")).digest())


def sign_es256_jws(
    header: Mapping[str, Any], payload: Mapping[str, Any], key: ec.EllipticCurvePrivateKey
) -> str:
    """Compact JWS with a JOSE raw ``r||s`` ES256 signature."""
    if not isinstance(key.curve, ec.SECP256R1):
        raise IssuanceError("BAD_KEY", "ES256 needs a P-256 key")
    if header.get("alg") != "ES256":
        raise IssuanceError("BAD_HEADER", "alg must be ES256")
    return compact_jws(header, payload, key)


def _version_of(licence_id: str) -> str:
    """The 3-digit version segment of a GB/T 36904 identifier (``…<serial>.<version>.<check>``)."""
    parts = licence_id.split(".")
    if len(parts) >= 3 and len(parts[-2]) == 3 and parts[-2].isdigit():
        return parts[-2]
    return "001"


def _start_of_day(day: date) -> int:
    return int(datetime.combine(day, time(0, 0), CHINA_TZ).timestamp())


def _check_arguments(key: ec.EllipticCurvePrivateKey, cert: Certificate, *, fields: Mapping[str, Any],
                     holder_code_type: str, valid_from: date, valid_until: date | None, decoys: int,
                     required: Mapping[str, str]) -> None:
    """Refuse what :func:`issue_licence` must never sign (raises :class:`IssuanceError`)."""
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise IssuanceError("BAD_KEY", "key must be an EC private key")
    own_public = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    cert_public = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if own_public != cert_public:
        raise IssuanceError("KEY_MISMATCH", "the key does not belong to the certificate")
    if holder_code_type not in HOLDER_CODE_TYPES:
        raise IssuanceError(
            "BAD_HOLDER_CODE_TYPE", f"holder_code_type must be one of {sorted(HOLDER_CODE_TYPES)}"
        )
    if valid_until is not None and valid_until < valid_from:
        raise IssuanceError("BAD_VALIDITY", "valid_until is before valid_from")
    if decoys < 0:
        raise IssuanceError("BAD_DECOYS", "decoys must be >= 0")
    for name in fields:
        if not isinstance(name, str) or not name:
            raise IssuanceError("BAD_FIELD", "field names must be non-empty strings")
        if name in CLEAR_CLAIMS or name in {"holder_name", "holder_code"}:
            raise IssuanceError("RESERVED_FIELD", f"field name {name!r} collides with a reserved claim")
    for label, value in required.items():
        if not value:
            raise IssuanceError("MISSING", f"{label} is required")


def _disclose(disclosable: list[tuple[str, Any]], salts: SaltSource, decoys: int) -> tuple[list[str], list[str]]:
    """The disclosures of ``disclosable`` (in order) and the ``_sd`` digests, plus ``decoys`` decoy digests."""

    def new_salt() -> str:
        raw = salts()
        if len(raw) < _SALT_BYTES:
            raise IssuanceError("SHORT_SALT", "salts need at least 128 bits")
        return _b64u(raw)

    disclosures = [encode_disclosure(new_salt(), name, value) for name, value in disclosable]
    digests = [disclosure_digest(d) for d in disclosures]
    digests.extend(disclosure_digest(new_salt()) for _ in range(decoys))  # decoy: digest of a bare salt
    return disclosures, digests


def issue_licence(
    *,
    key: ec.EllipticCurvePrivateKey,
    cert: Certificate,
    department_id: str,
    issuer_name: str,
    issuer_uscc: str,
    licence_type_code: str,
    licence_name: str,
    licence_id: str,
    licence_no: str,
    fields: Mapping[str, Any],
    holder_name: str,
    holder_code: str,
    holder_code_type: str,
    issued_on: date,
    valid_from: date,
    valid_until: date | None,
    jurisdiction: str,
    status_uri: str | None = None,
    status_list: tuple[int, str] | None = None,
    now: datetime | None = None,
    salt_source: SaltSource | None = None,
    decoys: int = 0,
) -> str:
    """Sign one licence as an SD-JWT VC and return its compact issuance form (ends with ``~``).

    ``fields`` are the licence's face fields; each becomes a selectively disclosable top-level claim,
    as do ``holder_name`` and ``holder_code``. ``licence_no`` is a clear claim unless the holder is a
    person and it equals ``holder_code`` (an ID card's number is the citizen ID): then it is a disclosure
    named ``licence_no``, so personal identifiers never travel in the clear.
    ``valid_until=None`` means long-term (长期): no ``exp``. ``decoys`` adds decoy digests to ``_sd``.
    """
    _check_arguments(key, cert, fields=fields, holder_code_type=holder_code_type, valid_from=valid_from,
                     valid_until=valid_until, decoys=decoys, required={
                         "department_id": department_id, "licence_type_code": licence_type_code,
                         "licence_id": licence_id, "holder_code": holder_code})
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        raise IssuanceError("NAIVE_DATETIME", "now must be timezone-aware")

    disclosable: list[tuple[str, Any]] = [("holder_name", holder_name), ("holder_code", holder_code)]
    # A licence number that *is* the holder's code (居民身份证, 驾驶证: the ID number) must not leak in the
    # clear: it becomes a disclosure too.
    licence_no_private = holder_code_type == "111" and licence_no == holder_code
    if licence_no_private:
        disclosable.append(("licence_no", licence_no))
    disclosable.extend(fields.items())
    disclosures, digests = _disclose(disclosable, salt_source or _random_salt, decoys)

    payload: dict[str, Any] = {
        "iss": department_id,
        "iat": int(moment.timestamp()),
        "nbf": _start_of_day(valid_from),
        "vct": VCT_PREFIX + licence_type_code,
        "licence_id": licence_id,
        "licence_type": licence_type_code,
        "licence_name": licence_name,
        "version": _version_of(licence_id),
        "issuer": {"name": issuer_name, "code": issuer_uscc},
        "issued_on": issued_on.isoformat(),
        "valid_from": valid_from.isoformat(),
        "valid_until": valid_until.isoformat() if valid_until is not None else None,
        "jurisdiction": jurisdiction,
        "holder_code_type": holder_code_type,
        "_sd_alg": SD_ALG,
        "_sd": sorted(digests),
    }
    if not licence_no_private:
        payload["licence_no"] = licence_no
    if valid_until is not None:
        payload["exp"] = _start_of_day(valid_until + timedelta(days=1))
    if status_list is not None and status_uri is not None:
        raise ValueError("give status_list (IETF Token Status List) or the legacy status_uri, not both")
    if status_list is not None:
        idx, uri = status_list
        if not isinstance(idx, int) or idx < 0 or not uri.startswith(("https://", "http://")):
            raise ValueError("status_list must be (non-negative index, http(s) URI)")
        payload["status"] = {"status_list": {"idx": idx, "uri": uri}}
    elif status_uri is not None:
        payload["status"] = {"uri": status_uri}

    header = {
        "alg": "ES256",
        "typ": TYP,
        "x5c": [base64.b64encode(cert.public_bytes(Encoding.DER)).decode("ascii")],
    }
    jws = sign_es256_jws(header, payload, key)
    return "~".join([jws, *disclosures]) + "~"
