"""Engine and session plumbing. Engines are built in the app's lifespan (or by the CLI), never at import."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import DateTime, MetaData, Table, TypeDecorator, create_engine, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend (SQLite stores naive values; we re-attach UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def table_of(model: type[Base]) -> Table:
    """A mapped class's table, for Core statements on hot paths (an ORM flush costs about twice the CPU of the
    one-row insert it sends)."""
    table = model.__table__
    if not isinstance(table, Table):  # pragma: no cover - every model here maps one table
        raise TypeError(f"{model.__name__} does not map a table")
    return table


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, *, pool_size: int = 20, **kwargs: Any) -> Engine:
    """An engine for ``url``. PostgreSQL: ``pool_size`` connections kept open and as many again opened under a
    burst; a request waits at most 10 s for one. Measured (16 counters on one process, pool of 10): about one
    connection opened and closed per 4 counter flows, each a PostgreSQL backend started and stopped; a pool of
    24 opened none."""
    # a failed statement's message leaves out SQLAlchemy's listing of its parameters (docs/hardening.md: faults)
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if "poolclass" not in kwargs:
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_timeout=10)
    # a database that is down or restarting fails a connection at once or within 5 s, never hangs a worker
    kwargs.setdefault("connect_args", {}).setdefault("connect_timeout", 5)
    engine = create_engine(url, **kwargs)
    _ping_rested_connections(engine)
    return engine


#: A pooled connection back in the pool for longer than this is pinged before use (pool_pre_ping pays a
#: round trip on every checkout; a busy server checks a connection out several times per request).
PING_AFTER_REST_S = 1.0


def _ping_rested_connections(engine: Engine) -> None:
    """Pessimistic disconnect handling for connections that rested: a ``SELECT 1`` at checkout when the
    connection was idle for more than :data:`PING_AFTER_REST_S`; a failed ping discards it and the pool tries a
    fresh one (SQLAlchemy retries a checkout that raises ``DisconnectionError``). A connection that dies within
    the second after its last use fails the one request that uses it (the request answers 503, and the pool
    drops the connection)."""
    from sqlalchemy import exc as sa_exc

    @event.listens_for(engine, "checkin")
    def _rested_since(_dbapi_conn: Any, record: Any) -> None:
        record.info["licex_checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_rested(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("licex_checked_in")
        if since is None or time.monotonic() - since <= PING_AFTER_REST_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise sa_exc.DisconnectionError(f"a pooled connection failed its ping: {exc}") from exc


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Commit on success, roll back on any error. Services never commit; the caller's unit of work does."""
    session = factory()
    try:
        yield session
    except BaseException as exc:
        end_unit_of_work(session, exc)
        raise
    end_unit_of_work(session, None)


def end_unit_of_work(session: Session, error: BaseException | None) -> None:
    """End a unit of work: commit when the work raised nothing (``error`` None), else roll back; a failed commit
    is rolled back and re-raised. The session is closed either way."""
    try:
        if error is None:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
