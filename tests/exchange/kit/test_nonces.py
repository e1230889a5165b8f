"""Single-use values on SQLite and PostgreSQL: a value is accepted once per scope, scopes are apart, a replay in
the same transaction or another is refused, and of many sessions racing with one value exactly one wins."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from exchange.kit import migrate
from exchange.kit.db import make_engine, make_session_factory
from exchange.kit.nonces import UsedNonce, consume_nonce
from tests.fixtures.databases import database_url

LATER = datetime.now(UTC) + timedelta(minutes=5)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[sessionmaker[Session]]:
    tmp: Path = tmp_path_factory.mktemp(f"nonces-{request.param}")
    with database_url(request.param, tmp) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        yield make_session_factory(engine)
        engine.dispose()


def test_once_per_scope(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        assert consume_nonce(s, "qr", "n-1", LATER) is True
        assert consume_nonce(s, "qr", "n-1", LATER) is False  # the same transaction
        assert consume_nonce(s, "assert", "n-1", LATER) is True  # another scope
    with sessions() as s, s.begin():
        assert consume_nonce(s, "qr", "n-1", LATER) is False  # a later transaction
        row = s.scalar(select(UsedNonce).where(UsedNonce.scope == "qr", UsedNonce.nonce == "n-1"))
        assert row is not None and row.used_at is not None


def test_a_refused_replay_leaves_the_transaction_usable(sessions: sessionmaker[Session]) -> None:
    with sessions() as s, s.begin():
        assert consume_nonce(s, "face-chal", "n-2", LATER) is True
        assert consume_nonce(s, "face-chal", "n-2", LATER) is False
        assert consume_nonce(s, "face-chal", "n-3", LATER) is True  # no aborted transaction after a conflict
    with sessions() as s:
        names = set(s.scalars(select(UsedNonce.nonce).where(UsedNonce.scope == "face-chal")))
    assert names == {"n-2", "n-3"}


def test_racing_sessions_one_winner(sessions: sessionmaker[Session]) -> None:
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def attempt() -> None:
        with sessions() as s, s.begin():
            start.wait(timeout=30)
            won = consume_nonce(s, "qr", "contested", LATER)
        with lock:
            results.append(won)

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [False] * 5 + [True]
