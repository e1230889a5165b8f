"""The trust list: the city's roots, each department's certificates (by use) and revoked keys.

Wire form: a compact JWS (ES256, header ``typ`` = ``licex-trust-list+jwt``, ``x5c`` = [the exchange's
trust-list signing certificate]) whose payload is canonical JSON (sorted keys, no spaces, UTF-8)::

    {"v": 1,
     "issuer": "<exchange id>",
     "issued_at": "2025-01-01T00:00:00Z",
     "next_update": "2025-01-08T00:00:00Z",
     "roots": ["-----BEGIN CERTIFICATE-----…"],
     "departments": [{"id": "cs-gaj", "name": "长沙市公安局", "uscc": "11430100…",
                      "may_issue": ["<licence type code>", …],
                      "certificates": [{"pem": "-----BEGIN…", "use": "licence" | "seal",
                                        "fingerprint": "<sha256 hex of DER>"}]}],
     "revoked": [{"fingerprint": "<sha256 hex of DER>", "revoked_at": "…Z", "reason": "keyCompromise"}]}

:meth:`TrustList.load` checks the JWS signature, that the signer chains to a listed (and, if pins are given,
pinned) root, carries the trust-list-signing EKU and is not revoked, and that ``next_update`` has not passed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from verifier.errors import MalformedInput, TrustListError
from verifier.jose import es256_verify, parse_compact_jws, parse_x5c

__all__ = [
    "CERTIFICATE_USES",
    "EKU_TRUST_LIST_SIGNING",
    "TRUST_LIST_TYP",
    "RevokedCertificate",
    "TrustList",
    "TrustListDocument",
    "TrustedCertificate",
    "TrustedDepartment",
    "clear_caches",
    "fingerprint",
]

TRUST_LIST_TYP = "licex-trust-list+jwt"
TRUST_LIST_VERSION = 1
MAX_TRUST_LIST_BYTES = 8 * 1024 * 1024
CERTIFICATE_USES = frozenset({"licence", "seal"})
#: Same OID as ``issuers.pki.EKU_TRUST_LIST_SIGNING`` (the verifier does not import the issuer side).
EKU_TRUST_LIST_SIGNING = x509.ObjectIdentifier("2.25.162987721024782179468213690845401909787")


def fingerprint(cert: x509.Certificate) -> str:
    """Lower-case hex SHA-256 of the certificate's DER encoding."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _normalise_fp(value: str) -> str:
    return value.replace(":", "").strip().lower()


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse_time(value: object, what: str) -> datetime:
    if not isinstance(value, str):
        raise TrustListError(f"{what} must be an ISO 8601 string", code="MALFORMED")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TrustListError(f"{what} is not an ISO 8601 time", code="MALFORMED") from exc
    if moment.tzinfo is None:
        raise TrustListError(f"{what} has no time zone", code="MALFORMED")
    return moment.astimezone(UTC)


def _load_pem(value: object, what: str) -> x509.Certificate:
    if not isinstance(value, str):
        raise TrustListError(f"{what} must be a PEM string", code="MALFORMED")
    try:
        return x509.load_pem_x509_certificate(value.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise TrustListError(f"{what} is not a PEM certificate", code="MALFORMED") from exc


@dataclass(frozen=True)
class TrustedCertificate:
    cert: x509.Certificate
    use: str  # "licence" | "seal"

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.cert)

    @property
    def pem(self) -> str:
        return _pem(self.cert)


@dataclass(frozen=True)
class TrustedDepartment:
    id: str
    name: str
    uscc: str
    may_issue: frozenset[str] = frozenset()
    certificates: tuple[TrustedCertificate, ...] = ()


@dataclass(frozen=True)
class RevokedCertificate:
    fingerprint: str
    revoked_at: datetime
    reason: str = "unspecified"


@dataclass(frozen=True)
class TrustListDocument:
    """The content of a trust list, before signing / after verification."""

    issuer: str
    issued_at: datetime
    next_update: datetime
    roots: tuple[x509.Certificate, ...]
    departments: tuple[TrustedDepartment, ...] = ()
    revoked: tuple[RevokedCertificate, ...] = ()
    log_keys: tuple[str, ...] = ()  # C2SP vkeys of the exchange's transparency-log (usage log) keys

    def to_json(self) -> dict[str, Any]:
        return {
            "v": TRUST_LIST_VERSION,
            "issuer": self.issuer,
            "issued_at": _iso(self.issued_at),
            "next_update": _iso(self.next_update),
            "roots": [_pem(root) for root in self.roots],
            "departments": [
                {
                    "id": dept.id,
                    "name": dept.name,
                    "uscc": dept.uscc,
                    "may_issue": sorted(dept.may_issue),
                    "certificates": [
                        {"pem": c.pem, "use": c.use, "fingerprint": c.fingerprint} for c in dept.certificates
                    ],
                }
                for dept in self.departments
            ],
            "revoked": [
                {
                    "fingerprint": _normalise_fp(r.fingerprint),
                    "revoked_at": _iso(r.revoked_at),
                    "reason": r.reason,
                }
                for r in self.revoked
            ],
            **({"log_keys": list(self.log_keys)} if self.log_keys else {}),
        }

    @classmethod
    def from_json(cls, obj: object) -> TrustListDocument:
        """Parse the JSON form; raises :class:`TrustListError` (code ``MALFORMED``)."""
        if not isinstance(obj, dict) or obj.get("v") != TRUST_LIST_VERSION:
            raise TrustListError(f"not a version {TRUST_LIST_VERSION} trust list", code="MALFORMED")
        issuer = obj.get("issuer")
        roots_raw = obj.get("roots")
        depts_raw = obj.get("departments")
        revoked_raw = obj.get("revoked", [])
        if not isinstance(issuer, str) or not isinstance(roots_raw, list) or not roots_raw:
            raise TrustListError("issuer and a non-empty roots list are required", code="MALFORMED")
        if not isinstance(depts_raw, list) or not isinstance(revoked_raw, list):
            raise TrustListError("departments and revoked must be lists", code="MALFORMED")
        roots = tuple(_load_pem(pem, "root") for pem in roots_raw)
        departments = []
        seen: set[str] = set()
        for entry in depts_raw:
            if not isinstance(entry, dict):
                raise TrustListError("department entries must be objects", code="MALFORMED")
            dept_id, name, uscc = entry.get("id"), entry.get("name"), entry.get("uscc")
            may_issue = entry.get("may_issue", [])
            certs_raw = entry.get("certificates", [])
            if not (isinstance(dept_id, str) and isinstance(name, str) and isinstance(uscc, str)) or not (
                dept_id and name and uscc
            ):
                raise TrustListError("department id, name and uscc are required strings", code="MALFORMED")
            if dept_id in seen:
                raise TrustListError(f"department {dept_id!r} listed twice", code="MALFORMED")
            seen.add(dept_id)
            if not isinstance(may_issue, list) or not all(isinstance(c, str) for c in may_issue):
                raise TrustListError("may_issue must be a list of type codes", code="MALFORMED")
            if not isinstance(certs_raw, list):
                raise TrustListError("certificates must be a list", code="MALFORMED")
            certs = []
            for c in certs_raw:
                if not isinstance(c, dict) or c.get("use") not in CERTIFICATE_USES:
                    raise TrustListError(
                        f"certificate use must be one of {sorted(CERTIFICATE_USES)}", code="MALFORMED"
                    )
                cert = _load_pem(c.get("pem"), "department certificate")
                listed_fp = c.get("fingerprint")
                if not isinstance(listed_fp, str) or _normalise_fp(listed_fp) != fingerprint(cert):
                    raise TrustListError("certificate fingerprint does not match its PEM", code="MALFORMED")
                certs.append(TrustedCertificate(cert=cert, use=str(c["use"])))
            departments.append(
                TrustedDepartment(
                    id=dept_id,
                    name=name,
                    uscc=uscc,
                    may_issue=frozenset(may_issue),
                    certificates=tuple(certs),
                )
            )
        revoked = []
        for r in revoked_raw:
            if not isinstance(r, dict) or not isinstance(r.get("fingerprint"), str):
                raise TrustListError("revoked entries need a fingerprint", code="MALFORMED")
            reason = r.get("reason", "unspecified")
            revoked.append(
                RevokedCertificate(
                    fingerprint=_normalise_fp(str(r["fingerprint"])),
                    revoked_at=_parse_time(r.get("revoked_at"), "revoked_at"),
                    reason=str(reason),
                )
            )
        log_keys = obj.get("log_keys", [])
        if not isinstance(log_keys, list) or not all(isinstance(k, str) for k in log_keys):
            raise TrustListError("log_keys must be a list of vkeys", code="MALFORMED")
        from .tlog.note import NoteError, NoteVerifier

        try:
            for k in log_keys:
                NoteVerifier.from_vkey(k)
        except NoteError as exc:
            raise TrustListError(f"log key: {exc}", code="MALFORMED") from exc
        return cls(
            issuer=issuer,
            issued_at=_parse_time(obj.get("issued_at"), "issued_at"),
            next_update=_parse_time(obj.get("next_update"), "next_update"),
            roots=roots,
            departments=tuple(departments),
            revoked=tuple(revoked),
            log_keys=tuple(log_keys),
        )


#: (certificate fingerprint, fingerprints of the trusted roots) -> the roots that signed it. A signature check
#: of a certificate against a root never changes, so it is done once per process for each such pair; validity
#: times, revocation and listing are checked on every call.
_ISSUER_CACHE: dict[tuple[str, tuple[str, ...]], tuple[x509.Certificate, ...]] = {}
_ISSUER_CACHE_MAX = 4096


def clear_caches() -> None:
    """Empty the memo of certificate-to-root signature checks."""
    _ISSUER_CACHE.clear()


def _within_validity(cert: x509.Certificate, at: datetime) -> bool:
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


class TrustList:
    """A verified trust list. Build with :meth:`load` (from signed bytes)."""

    def __init__(self, document: TrustListDocument, *, signer: x509.Certificate, raw: bytes) -> None:
        self._document = document
        self._signer = signer
        self._raw = raw
        self.roots: tuple[x509.Certificate, ...] = tuple(
            root
            for root in document.roots
            if fingerprint(root) not in {r.fingerprint for r in document.revoked}
        )
        self.departments: Mapping[str, TrustedDepartment] = MappingProxyType(
            {dept.id: dept for dept in document.departments}
        )
        self._by_fp: dict[str, list[tuple[TrustedDepartment, str]]] = {}
        for dept in document.departments:
            for tc in dept.certificates:
                self._by_fp.setdefault(tc.fingerprint, []).append((dept, tc.use))
        # Which roots signed a certificate depends only on the certificate and the trusted roots, so the memo is
        # shared by every TrustList with the same roots (the exchange re-signs its list as certificates change).
        self._roots_key = tuple(sorted(fingerprint(root) for root in self.roots))
        self._revoked: Mapping[str, RevokedCertificate] = MappingProxyType(
            {r.fingerprint: r for r in document.revoked}
        )

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(
        cls,
        data: bytes,
        *,
        pinned_root_fingerprints: Collection[str] | None = None,
        now: datetime | None = None,
        allow_stale: bool = False,
    ) -> TrustList:
        """Verify and parse a signed trust list.

        With ``pinned_root_fingerprints`` only listed roots whose SHA-256 fingerprint is pinned are trusted
        (for the signer and for everything verified against this list). ``allow_stale`` accepts a list whose
        ``next_update`` has passed (an offline verifier that cannot refresh may choose to).
        """
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        if not isinstance(data, bytes | bytearray) or len(data) > MAX_TRUST_LIST_BYTES:
            raise TrustListError("trust list must be bytes under the size limit", code="MALFORMED")
        try:
            jws = parse_compact_jws(bytes(data).decode("ascii").strip(), max_bytes=MAX_TRUST_LIST_BYTES)
            if jws.header.get("alg") != "ES256":
                raise TrustListError("trust list must be signed with ES256", code="BAD_SIGNATURE")
            if jws.header.get("typ") != TRUST_LIST_TYP:
                raise TrustListError(f"header typ must be {TRUST_LIST_TYP}", code="MALFORMED")
            if "crit" in jws.header:
                raise TrustListError("critical header extensions are not supported", code="MALFORMED")
            signer = parse_x5c(jws.header)[0]
            payload = jws.payload
        except UnicodeDecodeError as exc:
            raise TrustListError("trust list is not ASCII", code="MALFORMED") from exc
        except MalformedInput as exc:
            raise TrustListError(exc.detail, code="MALFORMED") from exc
        if not es256_verify(signer.public_key(), jws.signing_input, jws.signature):
            raise TrustListError("trust list signature does not verify", code="BAD_SIGNATURE")

        document = TrustListDocument.from_json(payload)
        if pinned_root_fingerprints is not None:
            pins = {_normalise_fp(p) for p in pinned_root_fingerprints}
            document = _replace_roots(document, tuple(r for r in document.roots if fingerprint(r) in pins))
            if not document.roots:
                raise TrustListError("no listed root matches the pinned fingerprints", code="ROOT_NOT_PINNED")
        trust = cls(document, signer=signer, raw=bytes(data))
        if not trust.chains_to_root(signer, at=moment):
            raise TrustListError("trust list signer does not chain to a trusted root", code="CHAIN_INVALID")
        if trust.is_revoked(signer):
            raise TrustListError("trust list signer is revoked", code="SIGNER_NOT_AUTHORISED")
        try:
            eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            eku = x509.ExtendedKeyUsage([])
        if EKU_TRUST_LIST_SIGNING not in eku:
            raise TrustListError("signer lacks the trust-list-signing EKU", code="SIGNER_NOT_AUTHORISED")
        if document.next_update < moment and not allow_stale:
            raise TrustListError(f"trust list expired at {_iso(document.next_update)}", code="STALE")
        return trust

    # ------------------------------------------------------------------ queries
    @property
    def document(self) -> TrustListDocument:
        return self._document

    @property
    def signer(self) -> x509.Certificate:
        return self._signer

    @property
    def issuer(self) -> str:
        return self._document.issuer

    @property
    def issued_at(self) -> datetime:
        return self._document.issued_at

    @property
    def next_update(self) -> datetime:
        return self._document.next_update

    def to_bytes(self) -> bytes:
        """The signed form this list was loaded from (write it to a file for offline verifiers)."""
        return self._raw

    def department_for_certificate(
        self, cert: x509.Certificate, use: str, *, fp: str | None = None
    ) -> TrustedDepartment | None:
        """The department that lists exactly this certificate for ``use``, or ``None``.

        ``fp``: the certificate's fingerprint when the caller already has it (saves hashing the DER again)."""
        for dept, listed_use in self._by_fp.get(fp or fingerprint(cert), ()):
            if listed_use == use:
                return dept
        return None

    def is_revoked(self, cert: x509.Certificate) -> bool:
        return fingerprint(cert) in self._revoked

    def revocation(self, cert: x509.Certificate, *, fp: str | None = None) -> RevokedCertificate | None:
        return self._revoked.get(fp or fingerprint(cert))

    def chains_to_root(self, cert: x509.Certificate, *, at: datetime | None = None, fp: str | None = None) -> bool:
        """True when a trusted root signed ``cert`` and both are valid at ``at`` (default now).

        Leaves only (the roots have pathLen 0); a CA certificate that is not itself a root is refused.
        """
        moment = (at or datetime.now(UTC)).astimezone(UTC)
        if not _within_validity(cert, moment):
            return False
        issuers = self._issuers_of(cert, fp or fingerprint(cert))
        return any(_within_validity(root, moment) for root in issuers)

    def _issuers_of(self, cert: x509.Certificate, fp: str) -> tuple[x509.Certificate, ...]:
        """Trusted roots whose signature ``cert`` carries (memoised per certificate and set of trusted roots)."""
        key = (fp, self._roots_key)
        cached = _ISSUER_CACHE.get(key)
        if cached is not None:
            return cached
        found = []
        for root in self.roots:
            if fingerprint(root) == fp:
                found.append(root)
                continue
            if _is_ca(cert):
                continue
            try:
                cert.verify_directly_issued_by(root)
            except (ValueError, TypeError, InvalidSignature):
                continue
            found.append(root)
        result = tuple(found)
        if len(_ISSUER_CACHE) >= _ISSUER_CACHE_MAX:
            _ISSUER_CACHE.clear()
        _ISSUER_CACHE[key] = result
        return result


def _replace_roots(doc: TrustListDocument, roots: tuple[x509.Certificate, ...]) -> TrustListDocument:
    return TrustListDocument(
        issuer=doc.issuer,
        issued_at=doc.issued_at,
        next_update=doc.next_update,
        roots=roots,
        departments=doc.departments,
        revoked=doc.revoked,
        log_keys=doc.log_keys,
    )
