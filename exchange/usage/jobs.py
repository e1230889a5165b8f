"""Background jobs of a serving process: the log sequencer (every ``LICEX_LOG_SEQUENCE_INTERVAL_S``) and the
usage retention purge (hourly). Both are safe with several processes: the sequencer takes a lock, the purge is
an idempotent delete."""

from __future__ import annotations

import logging

from ..context import AppContext
from ..kit.db import unit_of_work
from ..kit.periodic import PeriodicJob
from ..tlog.sequencer import sequencer_job
from . import service

log = logging.getLogger(__name__)
PURGE_INTERVAL_S = 3600.0


def purge_now(ctx: AppContext) -> int:
    with unit_of_work(ctx.sessions) as session:
        return service.purge_expired(session, ctx.settings.usage_retention_days)


def _purge_tick(ctx: AppContext) -> None:
    removed = purge_now(ctx)
    if removed:
        log.info("usage retention: deleted %d entries older than %d days", removed, ctx.settings.usage_retention_days)


def start(ctx: AppContext) -> None:
    if not ctx.settings.log_sequencer or ctx.background_jobs is not None:
        return
    jobs = (sequencer_job(ctx, ctx.settings.log_sequence_interval_s),
            PeriodicJob("usage-retention", PURGE_INTERVAL_S, lambda: _purge_tick(ctx)))
    for job in jobs:
        job.start()
    ctx.background_jobs = jobs


def stop(ctx: AppContext) -> None:
    jobs, ctx.background_jobs = ctx.background_jobs or (), None
    for job in jobs:
        job.stop()
