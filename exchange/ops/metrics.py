"""Prometheus metrics of the exchange (prometheus-client).

With ``licex serve --workers N`` every worker is a separate process: ``licex serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at an empty directory before the workers start, each worker writes its samples
there, and ``/metrics`` aggregates the directory (``MultiProcessCollector``), so any worker answers for all.
Without that variable (tests, one process) the default in-process registry is used.

Labels are bounded sets (route templates, outcome codes): never an ID number, token or licence id.
"""

from __future__ import annotations

import os
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
FACE_OUTCOMES = Counter("licex_face_outcomes_total", "Face gate outcomes", ("outcome",))
SEQUENCER_LAG = Gauge(
    "licex_log_sequencer_lag_entries", "Usage-log entries accepted but not yet in a published checkpoint",
    multiprocess_mode="max")


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(method, route, f"{status // 100}xx").observe(seconds)


def counter_flow_completed(outcome: str = "ok") -> None:
    COUNTER_FLOWS.labels(outcome).inc()


def licence_verified(where: str, codes: tuple[str, ...]) -> None:
    """``codes`` of a verification result: empty = VALID, else the first code."""
    LICENCES_VERIFIED.labels(where, codes[0] if codes else "VALID").inc()


def proof_sealed(proof_type: str) -> None:
    PROOFS_SEALED.labels(proof_type).inc()


def face_outcome(outcome: str) -> None:
    FACE_OUTCOMES.labels(outcome).inc()


def set_sequencer_lag(entries: int) -> None:
    """For the log sequencer: how many accepted entries wait for the next checkpoint."""
    SEQUENCER_LAG.set(entries)


def render() -> bytes:
    """The text exposition of every metric (all workers' when running multi-process)."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped in the library
        return generate_latest(registry)
    return generate_latest()
