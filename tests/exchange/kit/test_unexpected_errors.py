"""An error no handler knows answers in the API's JSON error shape with the request's id, logged once under that
id; a failed statement's parameter listing stays out of the exception text that reaches the logs."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from exchange.kit.db import make_engine
from exchange.kit.http import install_error_handlers
from exchange.ops.logs import JsonFormatter
from exchange.ops.middleware import ObservabilityMiddleware

SECRET = "430104199003071234"


def test_unexpected_error_is_a_json_500_with_its_request_id() -> None:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(ObservabilityMiddleware)

    @app.get("/boom")
    def boom() -> None:
        raise KeyError(SECRET)

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("licex.errors")
    logger.addHandler(handler)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            answer = client.get("/boom", headers={"X-Request-ID": "req-12345678"})
    finally:
        logger.removeHandler(handler)
    assert answer.status_code == 500
    assert answer.json() == {"error": "INTERNAL_ERROR", "detail": "internal error"}
    assert answer.headers["x-request-id"] == "req-12345678"
    assert SECRET not in answer.text
    logged = json.loads(stream.getvalue().splitlines()[0])  # one line, with the traceback, for that request
    assert logged["request_id"] == "req-12345678" and logged["msg"] == "unhandled error"
    assert "KeyError" in logged["exc"] and SECRET not in logged["exc"]  # the ID number masked


def test_failed_statement_hides_its_parameters(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": SECRET})
    with pytest.raises(sa_exc.IntegrityError) as failed, engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": SECRET})
    assert SECRET not in str(failed.value)
    assert "hidden due to hide_parameters" in str(failed.value)
    engine.dispose()
