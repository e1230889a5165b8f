"""Browser (e2e) tests: fixtures from ``tests/fixtures/browser.py``; every test here is marked ``e2e``.

Run them: ``.venv/bin/pytest -m e2e``. Skipped without ``/usr/bin/chromium``; with ``CI=true`` they fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.browser import (
    browser_factory,
    live_app_builder,
    live_server,
    live_server_factory,
    new_page,
    playwright_instance,
    require_chromium,
    screenshot_fixture,
)

__all__ = [
    "browser_factory",
    "live_app_builder",
    "live_server",
    "live_server_factory",
    "new_page",
    "playwright_instance",
    "screenshot_fixture",
]

_E2E_DIR = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _E2E_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _needs_chromium() -> None:
    """Skip every e2e test with the reason when there is no browser (fail instead when CI=true)."""
    require_chromium()
