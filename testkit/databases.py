"""Throwaway databases: a temp SQLite file, or a fresh schema in the PostgreSQL test database (dropped after)."""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("LICEX_TEST_POSTGRES_URL", DEFAULT_PG)


@functools.cache
def postgres_available() -> tuple[bool, str]:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(postgres_url(), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True, ""
    except Exception as exc:  # any driver/network failure means "not reachable"
        return False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"


@contextmanager
def database_url(kind: str, tmp_dir: Path) -> Iterator[str]:
    """A database URL of ``kind`` ("sqlite" or "postgresql"); RuntimeError when PostgreSQL is unreachable."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_dir / 'exchange.sqlite'}"
        return
    ok, reason = postgres_available()
    if not ok:
        raise RuntimeError(f"PostgreSQL not reachable at {postgres_url()} ({reason})")
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url())
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in postgres_url() else "?"
    try:
        yield f"{postgres_url()}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
