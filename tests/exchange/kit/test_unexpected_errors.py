"""An error no handler knows answers in the API's JSON error shape, and a failed statement's parameters stay out
of the exception text that reaches the logs."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from exchange.kit.db import make_engine
from exchange.kit.http import install_error_handlers

SECRET = "430104199003071234"


def test_unexpected_error_is_a_json_500() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise KeyError(SECRET)

    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/boom")
    assert answer.status_code == 500
    assert answer.json() == {"error": "INTERNAL_ERROR", "detail": "internal error"}
    assert SECRET not in answer.text


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
