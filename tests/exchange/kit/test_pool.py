"""The PostgreSQL pool keeps the configured number of connections: ``LICEX_DB_POOL_SIZE`` reaches the engine."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.pool import QueuePool

from exchange.config import Settings
from exchange.context import AppContext
from tests.fixtures.databases import database_url


def test_pool_size_setting_reaches_the_engine(tmp_path: Path) -> None:
    with database_url("postgresql", tmp_path) as url:
        ctx = AppContext.build(Settings(data_dir=tmp_path / "data", database_url=url, demo=True, db_pool_size=7))
        try:
            pool = ctx.engine.pool
            assert isinstance(pool, QueuePool)
            assert pool.size() == 7
            assert pool._max_overflow == 7  # the burst allowance: as many again (no public accessor)
        finally:
            ctx.close()
