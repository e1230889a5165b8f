"""Parse SD-JWTs (RFC 9901, compact form), match disclosures to digests, build minimal presentations.

Nothing here checks the issuer's signature or trust: :mod:`verifier.licence` does that. This module raises
:class:`~verifier.errors.MalformedInput` for input that cannot be an SD-JWT, and reports disclosures that are
not covered by any digest (``unreferenced``) so the caller can flag ``DISCLOSURE_TAMPERED``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from schemas.canonical import b64u_decode, b64u_encode
from verifier.errors import MalformedInput
from verifier.jose import CompactJws, json_loads_strict, parse_compact_jws

__all__ = [
    "MAX_DEPTH",
    "MAX_DISCLOSURES",
    "MAX_DISCLOSURE_BYTES",
    "MAX_JWS_BYTES",
    "MAX_SD_JWT_BYTES",
    "RESERVED_CLAIM_NAMES",
    "Disclosure",
    "ParsedSdJwt",
    "Unpacked",
    "clear_caches",
    "parse_sd_jwt",
    "select_disclosures",
    "unpack",
]

#: Whole compact SD-JWT (JWS + all disclosures + KB-JWT); leaves room for a photo disclosure.
MAX_SD_JWT_BYTES = 320 * 1024
#: The issuer-signed JWS (header + payload + signature).
MAX_JWS_BYTES = 64 * 1024
#: One disclosure (a photo as base64 is the largest expected).
MAX_DISCLOSURE_BYTES = 300 * 1024
MAX_DISCLOSURES = 512
#: Nesting depth of objects/arrays walked while unpacking.
MAX_DEPTH = 32
SD_KEY = "_sd"
SD_ALG_KEY = "_sd_alg"
ARRAY_KEY = "..."
SUPPORTED_SD_ALG = "sha-256"
#: Claim names a disclosure may never carry (RFC 9901 §4.2.1).
RESERVED_CLAIM_NAMES = frozenset({SD_KEY, ARRAY_KEY})


class Disclosure(NamedTuple):
    """One decoded disclosure (immutable; a tuple, built once per disclosure on the verification hot path)."""

    raw: str
    digest: str
    salt: str
    name: str | None  # None for an array-element disclosure
    value: Any


@dataclass(frozen=True)
class ParsedSdJwt:
    jws: CompactJws
    payload: dict[str, Any]
    disclosures: tuple[Disclosure, ...]
    key_binding_jwt: str | None

    @property
    def by_digest(self) -> dict[str, Disclosure]:
        return {d.digest: d for d in self.disclosures}


@dataclass(frozen=True)
class Unpacked:
    """``claims``: the payload with every matched disclosure put in place (``_sd``/``_sd_alg`` removed).
    ``disclosed``: top-level claims that came from disclosures. ``unreferenced``: disclosures whose digest
    appears nowhere in the signed payload (tampered or foreign)."""

    claims: dict[str, Any]
    disclosed: dict[str, Any]
    unreferenced: tuple[Disclosure, ...]


def _digest(raw: str) -> str:
    return b64u_encode(hashlib.sha256(raw.encode("ascii")).digest())


def _decode_disclosure(raw: str) -> Disclosure:
    if len(raw) > MAX_DISCLOSURE_BYTES:
        raise MalformedInput(f"a disclosure is larger than {MAX_DISCLOSURE_BYTES} bytes")
    try:
        decoded_bytes = b64u_decode(raw)
    except ValueError as exc:
        raise MalformedInput("disclosure is not canonical unpadded base64url") from exc
    decoded = json_loads_strict(decoded_bytes, what="disclosure")
    if type(decoded) is not list or len(decoded) not in (2, 3):
        raise MalformedInput("a disclosure must be a JSON array of 2 or 3 elements")
    salt = decoded[0]
    if type(salt) is not str:
        raise MalformedInput("a disclosure's salt must be a string")
    if len(decoded) == 2:
        return Disclosure(raw, _digest(raw), salt, None, decoded[1])
    name = decoded[1]
    if type(name) is not str:
        raise MalformedInput("a disclosure's claim name must be a string")
    if name in RESERVED_CLAIM_NAMES:
        raise MalformedInput(f"a disclosure may not carry the reserved claim name {name!r}")
    return Disclosure(raw, _digest(raw), salt, name, decoded[2])


def parse_sd_jwt(text: str) -> ParsedSdJwt:
    """Split ``<JWS>~<disclosure>~…~[<KB-JWT>]`` and decode every part (no signature check)."""
    if not isinstance(text, str):
        raise MalformedInput("an SD-JWT must be a string")
    if len(text) > MAX_SD_JWT_BYTES:
        raise MalformedInput(f"SD-JWT larger than {MAX_SD_JWT_BYTES} bytes")
    if not text.isascii():
        raise MalformedInput("an SD-JWT is ASCII")
    parts = text.strip().split("~")
    if len(parts) < 2:
        raise MalformedInput("not an SD-JWT: no '~' separator")
    jws_text, *disclosure_texts, kb = parts
    if len(disclosure_texts) > MAX_DISCLOSURES:
        raise MalformedInput(f"more than {MAX_DISCLOSURES} disclosures")
    jws = parse_compact_jws(jws_text, max_bytes=MAX_JWS_BYTES)
    payload = jws.payload
    if not isinstance(payload, dict):
        raise MalformedInput("the SD-JWT payload must be a JSON object")
    sd_alg = payload.get(SD_ALG_KEY, SUPPORTED_SD_ALG)
    if sd_alg != SUPPORTED_SD_ALG:
        raise MalformedInput(f"unsupported _sd_alg {sd_alg!r}")
    disclosures: list[Disclosure] = []
    seen: set[str] = set()
    for raw in disclosure_texts:
        if not raw:
            raise MalformedInput("empty disclosure")
        disclosure = _decode_disclosure(raw)
        if disclosure.digest in seen:
            raise MalformedInput("the same disclosure appears twice")
        seen.add(disclosure.digest)
        disclosures.append(disclosure)
    if kb:
        parse_compact_jws(kb, max_bytes=MAX_JWS_BYTES)  # shape only; key binding is not used by licex
    return ParsedSdJwt(jws=jws, payload=payload, disclosures=tuple(disclosures), key_binding_jwt=kb or None)


class _Unpacker:
    """The state of one :func:`unpack` walk (a class, not nested closures: a recursive closure is a reference
    cycle that only the garbage collector can free, and a bulk import unpacks thousands per second)."""

    __slots__ = ("by_digest", "seen_digests", "used")

    def __init__(self, by_digest: dict[str, Disclosure]) -> None:
        self.by_digest = by_digest
        self.used: set[str] = set()
        self.seen_digests: set[str] = set()

    def disclosure(self, digest: object) -> Disclosure | None:
        if type(digest) is not str:
            raise MalformedInput("digests must be strings")
        if digest in self.seen_digests:
            raise MalformedInput("the same digest appears twice in the payload")
        self.seen_digests.add(digest)
        return self.by_digest.get(digest)

    def walk(self, node: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise MalformedInput(f"nesting deeper than {MAX_DEPTH}")
        if isinstance(node, list):
            out_list: list[Any] = []
            for element in node:
                if isinstance(element, dict) and len(element) == 1 and ARRAY_KEY in element:
                    found = self.disclosure(element[ARRAY_KEY])
                    if found is None:
                        continue  # undisclosed or decoy
                    if found.name is not None:
                        raise MalformedInput("an object-property disclosure is referenced from an array")
                    self.used.add(found.digest)
                    out_list.append(self.walk(found.value, depth + 1))
                else:
                    out_list.append(self.walk(element, depth + 1) if isinstance(element, dict | list) else element)
            return out_list
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, value in node.items():
                if key == SD_KEY or (key == SD_ALG_KEY and depth == 0):
                    continue
                out[key] = self.walk(value, depth + 1) if isinstance(value, dict | list) else value
            digests = node.get(SD_KEY, [])
            if not isinstance(digests, list):
                raise MalformedInput("_sd must be an array")
            for digest in digests:
                found = self.disclosure(digest)
                if found is None:
                    continue
                if found.name is None:
                    raise MalformedInput("an array-element disclosure is referenced from _sd")
                if found.name in out:
                    raise MalformedInput(f"disclosed claim {found.name!r} already exists")
                self.used.add(found.digest)
                value = found.value
                out[found.name] = self.walk(value, depth + 1) if isinstance(value, dict | list) else value
            return out
        return node


def unpack(parsed: ParsedSdJwt) -> Unpacked:
    """Replace digests by their disclosures (recursively, objects and arrays) as RFC 9901 §7.1 describes."""
    walker = _Unpacker(parsed.by_digest)
    claims = walker.walk(parsed.payload, 0)
    used = walker.used
    top_digests = parsed.payload.get(SD_KEY, [])
    disclosed = {
        d.name: claims[d.name]
        for d in parsed.disclosures
        if d.name is not None and d.digest in top_digests and d.digest in used
    }
    unreferenced = tuple(d for d in parsed.disclosures if d.digest not in used)
    return Unpacked(claims=claims, disclosed=disclosed, unreferenced=unreferenced)


def _nested_digests(node: Any, depth: int = 0) -> Iterator[str]:
    if depth > MAX_DEPTH:
        raise MalformedInput(f"nesting deeper than {MAX_DEPTH}")
    if isinstance(node, list):
        for element in node:
            if isinstance(element, dict) and len(element) == 1 and isinstance(element.get(ARRAY_KEY), str):
                yield element[ARRAY_KEY]
            else:
                yield from _nested_digests(element, depth + 1)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == SD_KEY and isinstance(value, list):
                yield from (d for d in value if isinstance(d, str))
            elif key != SD_KEY:
                yield from _nested_digests(value, depth + 1)


#: (credential, kept names) -> presentation: a counter pulls the same stored licences for the same matters again
#: and again; the result is a pure function of the two. Bounded, cleared when full.
_SELECT_MEMO: dict[tuple[str, frozenset[str]], str] = {}
_SELECT_MEMO_MAX = 2048


def clear_caches() -> None:
    """Forget the memoised presentations."""
    _SELECT_MEMO.clear()


def select_disclosures(sd_jwt: str, keep: Collection[str]) -> str:
    """A presentation of ``sd_jwt`` that keeps only the disclosures of the top-level claims named in ``keep``
    (with any disclosures nested inside them). Other disclosures and any key-binding JWT are dropped;
    the issuer-signed JWS is unchanged. Names in ``keep`` that are absent are ignored."""
    key = (sd_jwt, frozenset(keep))
    cached = _SELECT_MEMO.get(key)
    if cached is None:
        cached = _select(sd_jwt, keep)
        if len(_SELECT_MEMO) >= _SELECT_MEMO_MAX:
            _SELECT_MEMO.clear()
        _SELECT_MEMO[key] = cached
    return cached


def _select(sd_jwt: str, keep: Collection[str]) -> str:
    parsed = parse_sd_jwt(sd_jwt)
    wanted = set(keep)
    by_digest = parsed.by_digest
    kept: set[str] = set()

    def keep_inside(value: Any) -> None:
        for digest in _nested_digests(value):
            found = by_digest.get(digest)
            if found is not None and found.digest not in kept:
                kept.add(found.digest)
                keep_inside(found.value)

    top = parsed.payload.get(SD_KEY, [])
    for digest in top if isinstance(top, list) else []:
        found = by_digest.get(digest) if isinstance(digest, str) else None
        if found is not None and found.name in wanted:
            kept.add(found.digest)
            keep_inside(found.value)
    for name, value in parsed.payload.items():
        if name in wanted and name not in (SD_KEY, SD_ALG_KEY):
            keep_inside(value)
    selected = [d.raw for d in parsed.disclosures if d.digest in kept]
    return "~".join([parsed.jws.text, *selected]) + "~"
