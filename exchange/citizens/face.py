"""The face gate: challenge → live frames → liveness + match against the photo on record → citizen session.

The reference is the photo on record with public security: the ``photo`` disclosure of the citizen's
居民身份证 (``resident_id_card``) licence in the registry, decrypted with ``credential_of``. Frames are analysed by
the dlib engine (:mod:`exchange.face`), loaded once per process. This module is CPU-bound: routers call it from
a worker thread (``anyio.to_thread.run_sync``), never on the event loop.

Outcomes, each recorded in the holder's usage log (``face_login`` / ``face_login_failed``):

* BAD_IMAGE / NO_FACE / MULTIPLE_FACES / LOW_QUALITY (422) — the frames cannot be used; a clear message in
  ``detail.message`` / ``detail.message_zh``; not counted toward the lockout (no face was compared);
* LIVENESS_FAILED (401, ``detail.reason`` = the liveness code) and FACE_MISMATCH (401) — counted. Failures
  are throttled per (ID number, client address) with growing waits (``face_fail_throttle``, e.g. 3 a minute, 6
  in 10 minutes, 10 an hour, 20 a day → RATE_LIMITED 429 with ``Retry-After``). Only failures from addresses
  the citizen has never logged in from count toward the hard lock (``face_max_failures``, far above what a
  person produces → LOCKED 423 for ``face_lockout_s``), and the hard lock never applies to an address the
  citizen has logged in from: a stranger's script cannot lock a citizen out of their own phone, and the counter
  (the clerk checks the physical card) is never locked. Every failed or refused attempt is in the citizen's
  usage log with the masked address;
* success — failures reset, a citizen session (JWT typ "citizen", amr ["face"]).

A challenge is single use (``used_nonces`` scope ``face-chal``), bound to the ID number it was asked for, and
expires after two minutes. Challenges are handed out for any well-formed ID number, so the endpoint does not
tell who is in the registry; an ID number without a usable photo on record fails as FACE_MISMATCH.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
from sqlalchemy.orm import Session

from schemas.identifiers import IdentifierError, mask_citizen_id, mask_name, parse_citizen_id
from verifier.errors import MalformedInput
from verifier.sdjwt import parse_sd_jwt, unpack

from ..auth.citizen import IssuedSession, decrypt_id, encrypt_id, issue_session
from ..context import AppContext
from ..face.engine import FaceAnalysis, FaceEngine, FaceError, FaceErrorCode
from ..face.liveness import Challenge, LivenessCode, check_liveness
from ..kit.errors import ExchangeError, Forbidden, InvalidInput, Locked, Unauthenticated
from ..kit.nonces import consume_nonce
from ..kit.ratelimit import rate_limits, too_many
from ..licences import service as licence_service
from ..licences.service import credential_of, effective_status
from ..models import Licence
from ..ops import metrics
from ..usage import service as usage
from ..usage.refusals import keep, refuse
from ..usage.service import Actor
from . import repository

CHALLENGE_TYP: Final = "face-challenge"
CHALLENGE_TTL_S: Final = 120
FRAMES: Final = 8
INTERVAL_MS: Final = 250
MIN_FRAMES: Final = 3
MAX_FRAMES: Final = 12
MAX_FRAME_BYTES: Final = 2 * 1024 * 1024
REFERENCE_TYPE: Final = "resident_id_card"
KNOWN_CLIENT_LOOKBACK: Final = 500  # usage-log entries searched for a past successful login from an address
ACTIONS: Final[dict[str, Challenge]] = {"turn_left": Challenge.TURN_LEFT, "turn_right": Challenge.TURN_RIGHT}

SELF = Actor("citizen", "本人（人脸识别）")
UNKNOWN = Actor("citizen", "未认证的请求")

_MISMATCH = ("The face does not match the photo on record.", "人脸与登记照片不一致。")
_LOCKED = ("Too many failed attempts. Face login is locked for a while; try again later or go to a counter.",
           "失败次数过多，人脸登录已暂时锁定，请稍后再试或前往窗口办理。")


@dataclass(frozen=True)
class Holder:
    name_masked: str | None
    id_masked: str


@dataclass(frozen=True)
class LoginResult:
    session: IssuedSession
    holder: Holder


#: The face gate's outcome (the ``outcome`` label of ``licex_face_outcomes_total``) for each refusal code; a
#: refusal with a code not listed here counts as ``invalid_request`` when the input was at fault (a bad check
#: digit) and ``error`` otherwise (an internal failure, the model missing).
GATE_OUTCOMES: Final[dict[str, str]] = {
    "FACE_MISMATCH": "no_match",
    "LIVENESS_FAILED": "liveness_failed",
    "RATE_LIMITED": "throttled",
    "LOCKED": "locked",
    **{code: "unusable_frames" for code in ("NO_FACE", "MULTIPLE_FACES", "LOW_QUALITY", "BAD_IMAGE",
                                            "BAD_FRAME_COUNT")},
    **{code: "challenge_invalid" for code in ("CHALLENGE_INVALID", "CHALLENGE_EXPIRED", "CHALLENGE_USED")},
    **{code: "assertion_invalid" for code in ("ASSERTION_INVALID", "ASSERTION_REPLAYED")},
    "FACE_MODE_DISABLED": "disabled",
}


@contextmanager
def gate_outcome(mode: str, *, decides: bool = True) -> Iterator[None]:
    """Count the face gate's outcome of the request inside: ``match`` when it returns (if this step ``decides``
    — a challenge does not), else the refusal's :data:`GATE_OUTCOMES` entry. ``mode``: local | assertion."""
    try:
        yield
    except ExchangeError as exc:
        fallback = "invalid_request" if exc.kind == "invalid" else "error"
        metrics.face_outcome(mode, GATE_OUTCOMES.get(exc.code, fallback))
        raise
    except Exception:
        metrics.face_outcome(mode, "error")
        raise
    if decides:
        metrics.face_outcome(mode, "match")


def _message(en: str, zh: str, **extra: Any) -> dict[str, Any]:
    return {"message": en, "message_zh": zh, **extra}


def _now() -> datetime:
    return datetime.now(UTC)


def _check_mode(ctx: AppContext, mode: str) -> None:
    allowed = ctx.settings.face_mode
    if allowed != "both" and allowed != mode:
        raise Forbidden(f"face authentication mode '{mode}' is disabled here", code="FACE_MODE_DISABLED")


def _parse_id(id_number: str) -> str:
    try:
        return parse_citizen_id(id_number.strip().upper(), field="id_number").number
    except IdentifierError as exc:
        raise InvalidInput(str(exc), code=exc.code, field="id_number") from exc


def _locked_error(until: datetime) -> Locked:
    return Locked(_message(*_LOCKED, locked_until=until.isoformat()), code="LOCKED")


# -- challenge ------------------------------------------------------------------------------------------------

def _client_tag(ctx: AppContext, hid: str, client: str) -> str:
    """A per-holder keyed tag of the client address (not linkable across holders, not reversible)."""
    return ctx.protector.holder_hash(f"face-client\x1f{hid}\x1f{client}")[:16]


def mask_address(client: str) -> str:
    try:
        ip = ipaddress.ip_address(client)
    except ValueError:
        return "unknown"
    if ip.version == 4:
        return ".".join(str(ip).split(".")[:3]) + ".*"
    return str(ipaddress.ip_network(f"{ip}/48", strict=False).network_address) + "*"


def _client_subject(ctx: AppContext, hid: str, client: str) -> dict[str, str]:
    return {"client": _client_tag(ctx, hid, client), "address": mask_address(client)}


def known_client(ctx: AppContext, session: Session, hid: str, client: str) -> bool:
    """Has the citizen logged in by face from this address (per the recent usage log)?"""
    tag = _client_tag(ctx, hid, client)
    return any(e.action == "face_login" and e.outcome == "ok" and (e.subject or {}).get("client") == tag
               for e in usage.list_for_holder(session, hid, limit=KNOWN_CLIENT_LOOKBACK))


def _guard(ctx: AppContext, session: Session, hid: str, client: str, *, count: bool = False) -> None:
    """Refuse while (ID number, address) is throttled, or while the ID number is hard-locked and this address
    is not one the citizen has used. With ``count`` (a new challenge), count the request against the ID number's
    limit for addresses the citizen has never used (a flood from many addresses never blocks her own)."""
    limits = rate_limits(ctx)
    verdict = limits.test("face_fail_throttle", hid, client)
    if not verdict.allowed:
        raise too_many(verdict.retry_after, "failed face logins for this ID number from this address",
                       field="id_number")
    known: bool | None = None
    if count:
        known = known_client(ctx, session, hid, client)
        if not known:
            limits.enforce("face_id_new", hid, what="face login requests for this ID number from new addresses",
                           field="id_number")
    until = repository.locked_until(session, hid, _now())
    if until is not None and not (known if known is not None else known_client(ctx, session, hid, client)):
        raise _locked_error(until)


def create_challenge(ctx: AppContext, session: Session, id_number: str, client: str = "unknown"
                     ) -> dict[str, Any]:
    _check_mode(ctx, "local")
    limits = rate_limits(ctx)
    limits.enforce("face_client", client, what="face login requests from this address")
    number = _parse_id(id_number)
    hid = ctx.protector.holder_hash(number)
    limits.enforce("face_id_client", hid, client, what="face login requests for this ID number",
                   field="id_number")
    _guard(ctx, session, hid, client, count=True)
    action = secrets.choice(sorted(ACTIONS))
    token = ctx.tokens.encode(CHALLENGE_TYP, {"hid": hid, "enc": encrypt_id(ctx, number), "act": action},
                              CHALLENGE_TTL_S)
    expires = _now() + timedelta(seconds=CHALLENGE_TTL_S)
    return {"challenge_id": token, "action": action, "frames": FRAMES, "interval_ms": INTERVAL_MS,
            "expires_at": expires.replace(microsecond=0).isoformat()}


# -- reference photo ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reference:
    licence: Licence
    name: str | None
    photo: bytes | None


def reference_of(ctx: AppContext, session: Session, holder_hash: str) -> Reference | None:
    """The holder's current 居民身份证 licence and the photo and name it discloses (None if there is none)."""
    lt = ctx.catalogue.licence_types[REFERENCE_TYPE]
    rows = [r for r in licence_service.for_holder(session, holder_hash, type_codes=[lt.code])
            if effective_status(r) == "valid"]
    if not rows:
        return None
    row = rows[0]
    try:
        disclosed = unpack(parse_sd_jwt(credential_of(row, ctx.protector))).disclosed
    except MalformedInput:
        return Reference(row, None, None)
    name = disclosed.get(lt.holder_name_field)
    photo_b64 = disclosed.get("photo")
    photo: bytes | None = None
    if isinstance(photo_b64, str):
        try:
            photo = base64.b64decode(photo_b64, validate=True)
        except (binascii.Error, ValueError):
            photo = None
    return Reference(row, name if isinstance(name, str) else None, photo)


_REF_CACHE_SIZE: Final = 256
_ref_lock = threading.Lock()


def _reference_embedding(ctx: AppContext, engine: FaceEngine, ref: Reference) -> np.ndarray[Any, Any] | None:
    """Embedding of the photo on record, cached per licence content (the photo is re-analysed only when the
    licence changes). None when the photo has no single usable face."""
    if ref.photo is None:
        return None
    cache = ctx.face_reference_cache
    key = ref.licence.content_digest
    with _ref_lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    try:
        embedding: np.ndarray[Any, Any] | None = engine.analyse(ref.photo).embedding
    except FaceError:
        embedding = None
    with _ref_lock:
        cache[key] = embedding
        while len(cache) > _REF_CACHE_SIZE:
            cache.popitem(last=False)
    return embedding


# -- login ----------------------------------------------------------------------------------------------------

def _holder(ref: Reference | None, number: str) -> Holder:
    name = ref.name if ref is not None else None
    return Holder(mask_name(name) if name else None, mask_citizen_id(number))


def _count_failure(ctx: AppContext, session: Session, hid: str, client: str, error: ExchangeError
                   ) -> ExchangeError:
    """Count a compared-and-failed attempt: in the (ID, address) throttle always; toward the hard lock only
    from an address the citizen has never logged in from."""
    limits = rate_limits(ctx)
    limits.hit("face_fail_throttle", hid, client)
    until = None
    if not known_client(ctx, session, hid, client):
        _, until = repository.add_failure(session, hid, now=_now(), max_failures=ctx.settings.face_max_failures,
                                          lockout_s=ctx.settings.face_lockout_s)
    if isinstance(error.detail, dict):
        error.detail["attempts_left"] = limits.remaining("face_fail_throttle", hid, client)
        if until is not None:
            error.detail["locked_until"] = until.isoformat()
    return error


def _analyse_frames(engine: FaceEngine, frames: list[bytes]) -> list[FaceAnalysis | None]:
    """Analyse every frame. A frame without a usable face becomes None; if fewer than MIN_FRAMES are usable,
    raise the commonest reason (NO_FACE / LOW_QUALITY) with its citizen-facing message."""
    out: list[FaceAnalysis | None] = []
    reasons: Counter[FaceErrorCode] = Counter()
    for frame in frames:
        try:
            out.append(engine.analyse(frame))
        except FaceError as exc:
            if exc.face_code in (FaceErrorCode.NO_FACE, FaceErrorCode.LOW_QUALITY):
                reasons[exc.face_code] += 1
                out.append(None)
            else:
                raise
    if sum(a is not None for a in out) < MIN_FRAMES:
        code = reasons.most_common(1)[0][0] if reasons else FaceErrorCode.NO_FACE
        raise FaceError(code, f"{sum(a is not None for a in out)} of {len(frames)} frames usable")
    return out


def _face_refusal(exc: FaceError) -> ExchangeError:
    kind_error = InvalidInput if exc.kind == "invalid" else ExchangeError
    return kind_error(_message(exc.message, exc.message_zh), code=exc.code)


def login(ctx: AppContext, session: Session, challenge_id: str, frames: list[bytes],
          engine: FaceEngine | None = None, client: str = "unknown") -> LoginResult:
    """Check a challenge's frames. Runs the face engine: call from a worker thread."""
    _check_mode(ctx, "local")
    try:
        claims = ctx.tokens.decode(CHALLENGE_TYP, challenge_id)
    except Unauthenticated as exc:
        code = "CHALLENGE_EXPIRED" if exc.code == "TOKEN_EXPIRED" else "CHALLENGE_INVALID"
        raise Unauthenticated("the face challenge is invalid or expired; ask for a new one", code=code) from exc
    hid, action = str(claims.get("hid", "")), str(claims.get("act", ""))
    if len(hid) != 64 or action not in ACTIONS:
        raise Unauthenticated("the face challenge is invalid", code="CHALLENGE_INVALID")
    number = decrypt_id(ctx, str(claims.get("enc", "")))
    if not MIN_FRAMES <= len(frames) <= MAX_FRAMES:
        raise InvalidInput(f"send {MIN_FRAMES}–{MAX_FRAMES} frames", code="BAD_FRAME_COUNT", field="frames")
    for frame in frames:
        if not frame or len(frame) > MAX_FRAME_BYTES:
            raise InvalidInput(f"each frame must be 1 byte to {MAX_FRAME_BYTES} bytes", code="BAD_IMAGE",
                               field="frames")

    where = _client_subject(ctx, hid, client)

    def failed(error: ExchangeError) -> ExchangeError:
        return refuse(session, error, holder_hash=hid, action="face_login_failed", actor=UNKNOWN,
                      subject={"method": "local", **where}, outcome="failed")

    try:
        rate_limits(ctx).enforce("face_id_client", hid, client, what="face login requests for this ID number")
        _guard(ctx, session, hid, client)
    except ExchangeError as exc:
        raise failed(exc) from exc
    nonce = hashlib.sha256(str(claims["jti"]).encode()).hexdigest()
    if not consume_nonce(session, "face-chal", nonce, datetime.fromtimestamp(int(claims["exp"]) + 60, UTC)):
        raise failed(Unauthenticated("this face challenge was already used; ask for a new one",
                                     code="CHALLENGE_USED"))
    keep(session)  # the challenge is spent whatever happens next

    engine = engine or FaceEngine.shared()
    try:
        analyses = _analyse_frames(engine, frames)
    except FaceError as exc:
        raise failed(_face_refusal(exc)) from exc
    liveness = check_liveness(analyses, ACTIONS[action])
    if not liveness.passed:
        error = Unauthenticated(_message(liveness.reason, liveness.reason_zh, reason=liveness.code.value),
                                code="LIVENESS_FAILED")
        raise failed(_count_failure(ctx, session, hid, client, error))
    ref = reference_of(ctx, session, hid)
    ref_embedding = _reference_embedding(ctx, engine, ref) if ref is not None else None
    probe = analyses[liveness.frontal_index if liveness.frontal_index is not None else 0]
    matched = False
    if ref_embedding is not None and probe is not None:
        result = engine.match(ref_embedding, probe, threshold=ctx.settings.face_threshold)
        matched = result.matched
    if not matched:
        raise failed(_count_failure(ctx, session, hid, client,
                                    Unauthenticated(_message(*_MISMATCH), code="FACE_MISMATCH")))
    repository.clear_failures(session, hid)
    rate_limits(ctx).clear("face_fail_throttle", hid, client)
    usage.record(session, hid, "face_login", SELF, subject={"method": "local",
                                                            "liveness": LivenessCode.PASSED.value, **where})
    issued = issue_session(ctx, holder_hash=hid, enc=encrypt_id(ctx, number), method="local")
    return LoginResult(issued, _holder(ref, number))


def login_with_assertion(ctx: AppContext, session: Session, assertion: str, client: str = "unknown"
                         ) -> LoginResult:
    """Accept a signed face-authentication assertion from the external identity platform."""
    from .assertion import verify_assertion

    _check_mode(ctx, "assertion")
    verified = verify_assertion(ctx, assertion)
    number = _parse_id(verified.subject)
    hid = ctx.protector.holder_hash(number)
    until = repository.locked_until(session, hid, _now())
    if until is not None and not known_client(ctx, session, hid, client):
        raise refuse(session, _locked_error(until), holder_hash=hid, action="face_login_failed", actor=UNKNOWN,
                     subject={"method": "assertion", **_client_subject(ctx, hid, client)}, outcome="failed")
    nonce = hashlib.sha256(f"{verified.issuer}\x00{verified.jti}".encode()).hexdigest()
    if not consume_nonce(session, "face-assert", nonce, verified.expires_at + timedelta(seconds=120)):
        raise refuse(session, Unauthenticated("assertion already used", code="ASSERTION_REPLAYED"),
                     holder_hash=hid, action="face_login_failed", actor=UNKNOWN,
                     subject={"method": "assertion"}, outcome="failed")
    ref = reference_of(ctx, session, hid)
    usage.record(session, hid, "face_login", SELF, subject={"method": "assertion", "issuer": verified.issuer,
                                                            **_client_subject(ctx, hid, client)})
    issued = issue_session(ctx, holder_hash=hid, enc=encrypt_id(ctx, number), method="assertion")
    return LoginResult(issued, _holder(ref, number))
