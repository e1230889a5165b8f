"""Suite-wide fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``LICEX_TEST_POSTGRES_URL`` (default: the local server on 127.0.0.1:5432, database
``test``). When it is unreachable the PostgreSQL half is skipped with a visible reason — except under
``CI=true``, where an unreachable PostgreSQL fails the run instead of hiding half the suite.
"""

from __future__ import annotations

import os

import pytest

from tests.fixtures.databases import postgres_available

pytest_plugins = ["tests.fixtures.exchange"]


def pytest_report_header(config: pytest.Config) -> list[str]:
    ok, reason = postgres_available()
    return [f"postgresql: {'available' if ok else 'NOT available — PostgreSQL tests will be skipped: ' + reason}"]


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("LICEX_LOG_LEVEL", "WARNING")
