"""The OpenAPI document is a contract: every JSON route declares what it returns, errors included, and integer
query parameters have bounds (the fuzzer found ``before_seq`` overflowing the database integer → 500)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from tests.exchange.counter.flow import bearer, citizen_token
from tests.fixtures.exchange import ExchangeEnv


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m.upper(), path, op) for path, ops in doc["paths"].items() for m, op in ops.items()]


def _named(schema: dict[str, Any]) -> bool:
    """A $ref to a named model, or an array of them."""
    if "$ref" in schema:
        return True
    return schema.get("type") == "array" and "$ref" in schema.get("items", {})


def test_every_json_route_declares_a_response_model(exchange: ExchangeEnv) -> None:
    doc = exchange.client.get("/openapi.json").json()
    missing = []
    for method, path, op in _operations(doc):
        for status, response in op["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if schema is not None and str(status).startswith("2") and not _named(schema):
                missing.append(f"{method} {path} {status}")
    assert not missing, missing
    assert len(_operations(doc)) >= 30


def test_errors_are_documented_as_the_error_shape(exchange: ExchangeEnv) -> None:
    doc = exchange.client.get("/openapi.json").json()
    error = doc["components"]["schemas"]["ErrorOut"]
    assert set(error["required"]) == {"error"} and {"error", "detail", "field"} <= set(error["properties"])
    for method, path, op in _operations(doc):
        if path.startswith("/api/"):
            assert "4XX" in op["responses"], f"{method} {path}"
            assert "HTTPValidationError" not in str(op["responses"]), f"{method} {path}"


def test_integer_query_parameters_are_bounded(exchange: ExchangeEnv) -> None:
    doc = exchange.client.get("/openapi.json").json()
    for method, path, op in _operations(doc):
        for param in op.get("parameters", []):
            schema = param.get("schema", {})
            options = schema.get("anyOf", [schema])
            for option in options:
                if option.get("type") == "integer":
                    assert "maximum" in option and "minimum" in option, f"{method} {path} {param['name']}"


def test_before_seq_overflow_is_a_422_not_a_500(exchange: ExchangeEnv) -> None:
    headers = bearer(citizen_token(exchange))
    for value in ("14526186245295009792", "2147483648", "0", "-1", "1e9"):
        resp = exchange.client.get(f"/api/v1/citizen/usage?before_seq={value}", headers=headers)
        assert resp.status_code == 422, (value, resp.text)
        assert resp.json()["error"] == "INVALID_INPUT" and resp.json()["field"] == "before_seq"
    assert exchange.client.get("/api/v1/citizen/usage?before_seq=2147483647", headers=headers).status_code == 200


def test_every_def_route_with_a_session_runs_in_one_worker_thread_call(exchange: ExchangeEnv) -> None:
    """A plain ``def`` endpoint taking ``DbSession`` on a plain APIRoute would pay three or four thread hand-offs
    per request; on :class:`UnitOfWorkRoute` it pays one (see :mod:`exchange.deps`)."""
    from fastapi.routing import APIRoute

    from exchange.deps import UnitOfWorkRoute, get_session

    def api_routes(routes: list[Any]) -> Iterator[APIRoute]:  # FastAPI may keep included routers nested
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "original_router"):
                yield from api_routes(route.original_router.routes)

    plain = []
    wrapped = 0
    for route in api_routes(exchange.client.app.routes):  # type: ignore[attr-defined]
        takes_session = any(d.call is get_session for d in route.dependant.dependencies)
        is_def = not inspect.iscoroutinefunction(inspect.unwrap(route.endpoint))
        if takes_session and is_def:
            if not isinstance(route, UnitOfWorkRoute) or not inspect.iscoroutinefunction(route.endpoint):
                plain.append(route.path)
            else:
                wrapped += 1
    assert not plain, plain
    assert wrapped >= 25
