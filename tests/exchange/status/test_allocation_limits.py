"""Status entries are never freed, so allocation is throttled per department: requests and entries, each with
429 + Retry-After; one department's exhaustion does not touch another's; the defaults are set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from exchange.config import Settings
from tests.fixtures.databases import database_url
from tests.fixtures.exchange import ExchangeEnv, make_env

ALLOCATIONS = "/api/v1/status-lists/allocations"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExchangeEnv]:
    tmp: Path = tmp_path_factory.mktemp("alloc-limits")
    with database_url("sqlite", tmp) as url:
        # the demo itself allocates (165 entries in ~18 requests) before these limits are tested: generous
        # enough for that, tight enough to reach in a test
        yield from make_env(tmp, url, "sqlite", rate_status_allocation="40/minute",
                            rate_status_entries="260/hour")


def _allocate(env: ExchangeEnv, token: str, count: int) -> tuple[int, dict[str, object], str | None]:
    resp = env.client.post(ALLOCATIONS, json={"count": count}, headers={"Authorization": f"Bearer {token}"})
    return resp.status_code, resp.json(), resp.headers.get("Retry-After")


def test_entries_per_department_are_bounded(limited: ExchangeEnv) -> None:
    token = limited.department_token("edu")
    used = 0
    while True:
        status, body, retry = _allocate(limited, token, 7)
        if status != 200:
            break
        assert len(body["references"]) == 7  # type: ignore[arg-type]
        used += 7
        assert used <= 260
    assert status == 429 and body["error"] == "RATE_LIMITED" and body.get("field") == "count"
    assert retry is not None and int(retry) >= 1
    assert used > 0
    # another department is counted apart
    other = limited.department_token("civil")
    assert _allocate(limited, other, 5)[0] == 200


def test_requests_per_department_are_bounded(limited: ExchangeEnv) -> None:
    token = limited.department_token("natres")
    codes = [_allocate(limited, token, 1)[0] for _ in range(45)]
    assert codes.count(200) <= 40 and codes[-1] == 429
    assert set(codes) == {200, 429} and codes.index(429) == codes.count(200)  # refused from the limit on


def test_defaults_allow_a_working_day_and_bound_a_leaked_key() -> None:
    settings = Settings(demo=True)
    assert settings.rate_status_allocation == "600/minute"
    assert settings.rate_status_entries == "200000/hour;1000000/day"
