"""Prometheus metrics of the exchange (prometheus-client).

With ``licex serve --workers N`` every worker is a separate process: ``licex serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at an empty directory before the workers start, each worker writes its samples
there, and ``/metrics`` aggregates the directory (``MultiProcessCollector``), so any worker answers for all.
Without that variable (tests, one process) the default in-process registry is used.

Labels are bounded sets (route templates, outcome codes): never an ID number, token or licence id.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

__all__ = [
    "CONTENT_TYPE_LATEST",
    "counter_flow_completed",
    "face_outcome",
    "licence_verified",
    "observe_request",
    "on_scrape",
    "proof_sealed",
    "render",
    "set_sequencer_lag",
]

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
#: Seconds; the counter-flow budget is 100 ms p99, so the buckets are fine below 0.25 s.
LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS = Histogram(
    "licex_http_request_duration_seconds", "HTTP request latency by route template",
    ("method", "route", "status"), buckets=LATENCY_BUCKETS)
COUNTER_FLOWS = Counter(
    "licex_counter_flows_total", "Counter flows that reached the pull (QR, scan, consent, pull)", ("outcome",))
LICENCES_VERIFIED = Counter(
    "licex_licences_verified_total", "Licences verified by the exchange, by first outcome code",
    ("where", "outcome"))
PROOFS_SEALED = Counter("licex_proofs_sealed_total", "Proof PDFs sealed", ("proof_type",))
FACE_OUTCOMES = Counter(
    "licex_face_outcomes_total",
    "Face gate outcomes (match, no_match, liveness_failed, throttled, locked, unusable_frames, ...)",
    ("mode", "outcome"))
# "mostrecent": the value is a property of the shared log, not of one process — whichever process measured it
# last (the sequencer after its batch, or the worker answering a scrape) reports for all.
SEQUENCER_LAG = Gauge(
    "licex_log_sequencer_lag_entries", "Usage-log entries appended but not yet in a signed checkpoint",
    multiprocess_mode="mostrecent")
SEQUENCER_LAG_SECONDS = Gauge(
    "licex_log_sequencer_lag_seconds", "Age of the oldest usage-log entry not yet in a signed checkpoint (0: none)",
    multiprocess_mode="mostrecent")

_log = logging.getLogger(__name__)
#: Called by :func:`render` before each scrape, to refresh gauges that measure shared state (the log backlog).
_refresh: list[Callable[[], None]] = []


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(method, route, f"{status // 100}xx").observe(seconds)


def counter_flow_completed(outcome: str = "ok") -> None:
    COUNTER_FLOWS.labels(outcome).inc()


def licence_verified(where: str, codes: tuple[str, ...]) -> None:
    """``codes`` of a verification result: empty = VALID, else the first code."""
    LICENCES_VERIFIED.labels(where, codes[0] if codes else "VALID").inc()


def proof_sealed(proof_type: str) -> None:
    PROOFS_SEALED.labels(proof_type).inc()


def face_outcome(mode: str, outcome: str) -> None:
    """``mode``: local | assertion; ``outcome``: the gate's own (``exchange.citizens.face.GATE_OUTCOMES``)."""
    FACE_OUTCOMES.labels(mode, outcome).inc()


def set_sequencer_lag(entries: int, seconds: float = 0.0) -> None:
    """For the log sequencer: how many appended entries wait for the next checkpoint, and the oldest one's age."""
    SEQUENCER_LAG.set(entries)
    SEQUENCER_LAG_SECONDS.set(max(0.0, seconds) if entries else 0.0)


def on_scrape(refresh: Callable[[], None]) -> Callable[[], None]:
    """Run ``refresh`` before every scrape (until the returned function removes it)."""
    _refresh.append(refresh)
    return lambda: _refresh.remove(refresh) if refresh in _refresh else None


def render() -> bytes:
    """The text exposition of every metric (all workers' when running multi-process)."""
    for refresh in list(_refresh):
        try:
            refresh()
        except Exception:  # a scrape still answers (with the last values) when the database does not
            _log.warning("metrics refresh %s failed", getattr(refresh, "__qualname__", refresh), exc_info=True)
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped in the library
        return generate_latest(registry)
    return generate_latest()
