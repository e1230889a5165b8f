"""Rate limits: the ``limits`` library on Redis (shared by every worker process and replica), or in-process.

Rules are named (``face_id``, ``login_user``, …) and configured by settings as ``limits`` strings such as
``"10/minute;100/hour"``. Callers key a rule by what is being limited — an address, a username, a holder hash —
never by a secret or a full ID number (pass the holder hash). Over a limit, :class:`TooManyRequests` maps to
``429 {"error": "RATE_LIMITED", "detail": ..., "field": ...}`` with a ``Retry-After`` header.

Storage: ``LICEX_REDIS_URL`` (``redis://host:port/db``) shares the counters across processes and replicas; without
it (the embedded demo) the counters live in the process, which is said at start. If Redis stops answering while
the exchange runs, the limits fall back to in-process counters (logged) rather than failing every request.

The client address is the TCP peer, unless that peer is in ``LICEX_TRUSTED_PROXIES`` (addresses or networks):
then the rightmost ``X-Forwarded-For`` address that is not itself a trusted proxy.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from .errors import TooManyRequests

if TYPE_CHECKING:
    from ..context import AppContext

log = logging.getLogger("licex.ratelimit")

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the tightest exhausted window frees a slot (0 when allowed)


def parse_networks(entries: Iterable[str]) -> list[IpNetwork]:
    out: list[IpNetwork] = []
    for entry in entries:
        text = entry.strip()
        if text:
            out.append(ipaddress.ip_network(text, strict=False))
    return out


def client_address(peer: str | None, forwarded_for: str | None, trusted: list[IpNetwork]) -> str:
    """The caller's address: the peer, or — only when the peer is a trusted proxy — the rightmost untrusted
    address of ``X-Forwarded-For``. Malformed header entries stop the walk (the last trusted hop is returned)."""
    address = peer or "unknown"
    if not trusted or not forwarded_for or not _is_trusted(address, trusted):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",")][-32:]):
        try:
            parsed = ipaddress.ip_address(hop)
        except ValueError:
            return address
        address = str(parsed)
        if not _is_trusted(address, trusted):
            return address
    return address


def _is_trusted(address: str, trusted: list[IpNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def _key(parts: tuple[str, ...]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


class RateLimits:
    """Named rate-limit rules over one storage. Thread-safe; one per app context."""

    def __init__(self, rules: Mapping[str, str], *, redis_url: str | None = None, prefix: str = "licex",
                 enabled: bool = True) -> None:
        self.enabled = enabled
        self.rules: dict[str, list[RateLimitItem]] = {name: parse_many(spec) for name, spec in rules.items()}
        self._memory = MovingWindowRateLimiter(MemoryStorage())
        self._fallback_logged = False
        self._lock = threading.Lock()
        self.backend = "memory"
        self._limiter = self._memory
        if redis_url:
            storage: Storage = RedisStorage(redis_url, key_prefix=f"{prefix}:rl", wrap_exceptions=True,
                                            socket_timeout=2, socket_connect_timeout=2)
            if storage.check():
                self._limiter = MovingWindowRateLimiter(storage)
                self.backend = "redis"
            else:
                log.error("Redis at %s does not answer: rate limits are per process until it does", redis_url)

    def describe(self) -> str:
        if not self.enabled:
            return "rate limits: OFF (LICEX_RATE_LIMITS=false)"
        if self.backend == "redis":
            return "rate limits: shared in Redis across workers and replicas"
        return "rate limits: in-process (embedded; set LICEX_REDIS_URL to share them across workers and replicas)"

    # -- primitives ----------------------------------------------------------------------------------------
    def _run(self, fn: str, item: RateLimitItem, key: str, **kw: int) -> Any:
        try:
            return getattr(self._limiter, fn)(item, key, **kw)
        except StorageError as exc:
            with self._lock:
                if not self._fallback_logged:
                    log.error("rate-limit storage failed (%s): falling back to in-process limits", exc)
                    self._fallback_logged = True
            return getattr(self._memory, fn)(item, key, **kw)

    def _items(self, rule: str) -> list[RateLimitItem]:
        try:
            return self.rules[rule]
        except KeyError as exc:  # a programming error, not a request error
            raise LookupError(f"no rate-limit rule {rule!r}") from exc

    def _retry_after(self, item: RateLimitItem, key: str) -> int:
        stats = self._run("get_window_stats", item, key)
        return max(1, math.ceil(float(stats.reset_time) - time.time()))

    def test(self, rule: str, *key: str) -> Verdict:
        """Would one more hit pass every window of ``rule``? Counts nothing."""
        if not self.enabled:
            return Verdict(True, 0)
        k = _key((rule, *key))
        waits = [self._retry_after(item, k) for item in self._items(rule) if not self._run("test", item, k)]
        return Verdict(not waits, max(waits, default=0))

    def hit(self, rule: str, *key: str, cost: int = 1) -> Verdict:
        """Count ``cost`` hits in every window of ``rule``; not allowed if any window has no room for them."""
        if not self.enabled:
            return Verdict(True, 0)
        k = _key((rule, *key))
        waits: list[int] = []
        for item in self._items(rule):
            if not self._run("hit", item, k, cost=cost):
                waits.append(self._retry_after(item, k))
        return Verdict(not waits, max(waits, default=0))

    def clear(self, rule: str, *key: str) -> None:
        if not self.enabled:
            return
        k = _key((rule, *key))
        for item in self._items(rule):
            try:
                self._limiter.clear(item, k)
            except StorageError:
                self._memory.clear(item, k)

    def remaining(self, rule: str, *key: str) -> int:
        """Hits left before the tightest window of ``rule`` is full."""
        if not self.enabled:
            return 1_000_000
        k = _key((rule, *key))
        return min(int(self._run("get_window_stats", item, k).remaining) for item in self._items(rule))

    # -- what routes call ----------------------------------------------------------------------------------
    def enforce(self, rule: str, *key: str, field: str | None = None, what: str = "requests",
                cost: int = 1) -> None:
        """Count a request (``cost`` units of it) against ``rule``; raise :class:`TooManyRequests` when over."""
        verdict = self.hit(rule, *key, cost=cost)
        if not verdict.allowed:
            raise too_many(verdict.retry_after, what, field=field)


def too_many(retry_after: int, what: str = "requests", *, field: str | None = None) -> TooManyRequests:
    return TooManyRequests(
        {"message": f"Too many {what}; try again in {retry_after} s.",
         "message_zh": f"请求过于频繁，请 {retry_after} 秒后再试。", "retry_after": retry_after},
        field=field, retry_after=retry_after)


RULES: tuple[str, ...] = ("face_client", "face_id_client", "face_id_new", "face_fail_throttle", "login_user",
                          "login_client", "token_client", "public_client", "status_allocation", "status_entries")


_build_lock = threading.Lock()


def rate_limits(ctx: AppContext) -> RateLimits:
    """The app context's rate limits, built once from its settings (kept in ``ctx.rate_limits``)."""
    found = ctx.rate_limits
    if found is None:
        with _build_lock:
            found = ctx.rate_limits
            if found is None:
                found = from_settings(ctx.settings)
                ctx.trusted_proxies = parse_networks(ctx.settings.trusted_proxies)
                ctx.rate_limits = found
    return found


def trusted_proxies(ctx: AppContext) -> list[IpNetwork]:
    rate_limits(ctx)
    return list(ctx.trusted_proxies or ())


def from_settings(settings: Any) -> RateLimits:
    """The rules ``rate_*`` / ``face_fail_throttle`` of :class:`exchange.config.Settings`."""
    specs = {name: str(getattr(settings, name if name == "face_fail_throttle" else f"rate_{name}"))
             for name in RULES}
    return RateLimits(specs, redis_url=settings.redis_url, prefix=settings.rate_limit_prefix,
                      enabled=settings.rate_limits)
