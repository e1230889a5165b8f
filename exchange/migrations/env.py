"""Alembic environment: runs on SQLite and PostgreSQL; the URL comes from the caller's Config."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from exchange import models  # noqa: F401  (registers the tables)
from exchange.archive import models as _archive_models  # noqa: F401  (registers the archive tables)
from exchange.kit.db import Base, make_engine
from exchange.tlog import models as tlog_models  # noqa: F401  (transparency-log tables)

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no sqlalchemy.url in the Alembic config")
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
