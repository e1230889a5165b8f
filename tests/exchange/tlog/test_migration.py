"""Migration 0003_i10_tlog on SQLite and PostgreSQL: existing per-holder-chain entries get a salt and a commitment
in the log (and then verify); downgrade restores the old shape."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from exchange.config import Settings
from exchange.context import AppContext
from exchange.kit import migrate
from exchange.tlog.sequencer import sequence_all
from exchange.usage.service import verify_holder
from tests.fixtures.databases import database_url

HOLDER = "cd" * 32


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_upgrade_commits_existing_entries_and_downgrades(kind: str, tmp_path: Path) -> None:
    with database_url(kind, tmp_path) as url:
        migrate.upgrade(url, "0003_i12_archive")
        engine = create_engine(url)
        with engine.begin() as conn:
            for seq in (1, 2):
                conn.execute(text(
                    "insert into usage_log (holder_hash, seq, at, action, outcome, actor_kind, actor, place, "
                    "matter_key, subject, prev_hash, entry_hash) values (:h, :s, :at, 'pull', 'ok', 'clerk', "
                    "'陈晓梅', null, 'hpf_loan', '{\"case_id\": \"c1\"}', :p, :e)"),
                    {"h": HOLDER, "s": seq, "at": datetime(2026, 1, seq, tzinfo=UTC), "p": "0" * 64, "e": "1" * 64})
        migrate.upgrade(url)
        cols = {c["name"] for c in inspect(engine).get_columns("usage_log")}
        assert {"salt", "log_entry_id"} <= cols and not {"seq", "prev_hash", "entry_hash"} & cols
        settings = Settings(data_dir=tmp_path / "data", database_url=url, demo=True)
        ctx = AppContext.build(settings)
        try:
            assert sequence_all(ctx) == 2
            with ctx.sessions() as s:
                assert verify_holder(s, HOLDER) == (True, None)
        finally:
            ctx.close()
        migrate.downgrade(url, "0003_i12_archive")
        cols = {c["name"] for c in inspect(engine).get_columns("usage_log")}
        assert {"seq", "prev_hash", "entry_hash"} <= cols and "tlog_tiles" not in inspect(engine).get_table_names()
        engine.dispose()
