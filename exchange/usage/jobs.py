"""Background jobs of a serving process: the log sequencer (every ``LICEX_LOG_SEQUENCE_INTERVAL_S``) and the
usage retention purge (hourly). Both are safe with several processes: the sequencer takes a lock, the purge is
an idempotent delete."""

from __future__ import annotations

import logging
import threading

from ..context import AppContext
from ..kit.db import unit_of_work
from ..tlog.sequencer import SequencerThread
from . import service

log = logging.getLogger(__name__)
PURGE_INTERVAL_S = 3600.0


def purge_now(ctx: AppContext) -> int:
    with unit_of_work(ctx.sessions) as session:
        return service.purge_expired(session, ctx.settings.usage_retention_days)


class _PurgeThread:
    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="usage-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(PURGE_INTERVAL_S):
            try:
                removed = purge_now(self._ctx)
                if removed:
                    log.info("usage retention: deleted %d entries older than %d days", removed,
                             self._ctx.settings.usage_retention_days)
            except Exception:
                log.exception("usage retention purge failed")


def start(ctx: AppContext) -> None:
    if not ctx.settings.log_sequencer or ctx.background_jobs is not None:
        return
    jobs = (SequencerThread(ctx, ctx.settings.log_sequence_interval_s), _PurgeThread(ctx))
    for job in jobs:
        job.start()
    ctx.background_jobs = jobs


def stop(ctx: AppContext) -> None:
    jobs, ctx.background_jobs = ctx.background_jobs or (), None
    for job in jobs:
        job.stop()
