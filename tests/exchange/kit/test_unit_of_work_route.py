"""A plain ``def`` endpoint on a :class:`UnitOfWorkRoute` runs and ends its unit of work in one worker-thread
call: the commit is kept before the answer, an error rolls back, a failed commit is an error answer, and neither
``get_session`` nor the response validation hands the request to the thread pool again."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio.to_thread
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

import exchange.deps as deps
from exchange.deps import DbSession, UnitOfWorkRoute
from exchange.kit.db import make_engine
from exchange.kit.errors import Conflict
from exchange.kit.http import install_error_handlers

#: the app, what happened (each worker-thread hand-off, each end of a unit of work), the sessions
Env = tuple[FastAPI, list[Any], sessionmaker[Session]]


@pytest.fixture
def app_and_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    engine = make_engine(f"sqlite:///{tmp_path / 'uow.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE things (name TEXT PRIMARY KEY)"))
        conn.execute(text("CREATE TABLE tags (name TEXT REFERENCES things (name) DEFERRABLE INITIALLY DEFERRED)"))
    sessions = sessionmaker(engine)
    calls: list[Any] = []
    original = deps.end_unit_of_work

    def recording(session: Session, error: BaseException | None) -> None:
        calls.append((threading.get_ident(), type(error).__name__ if error else None))
        original(session, error)

    monkeypatch.setattr(deps, "end_unit_of_work", recording)
    real_run_sync = anyio.to_thread.run_sync

    async def counting_run_sync(func: Any, *args: Any, **kwargs: Any) -> Any:  # every worker-thread hand-off
        calls.append("hand-off")
        return await real_run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting_run_sync)
    app = FastAPI()
    install_error_handlers(app)
    app.state.ctx = SimpleNamespace(sessions=sessions)
    router = APIRouter(route_class=UnitOfWorkRoute)

    @router.post("/things/{name}")
    def add(session: DbSession, name: str) -> dict[str, Any]:
        session.execute(text("INSERT INTO things VALUES (:n)"), {"n": name})
        return {"thread": threading.get_ident()}

    @router.post("/refused/{name}")
    def refused(session: DbSession, name: str) -> None:
        session.execute(text("INSERT INTO things VALUES (:n)"), {"n": name})
        raise Conflict("refused after writing", code="REFUSED")

    @router.post("/misfit/{name}", response_model=Count)  # writes, then answers what its model refuses
    def misfit(session: DbSession, name: str) -> Any:
        session.execute(text("INSERT INTO things VALUES (:n)"), {"n": name})
        return {"n": "not a number"}

    @router.post("/tags/{name}")  # the foreign key is checked at COMMIT: a tag of no thing fails there
    def tag(session: DbSession, name: str) -> dict[str, Any]:
        session.execute(text("INSERT INTO tags VALUES (:n)"), {"n": name})
        return {"tagged": name}

    @router.post("/async/{name}")
    async def add_async(session: DbSession, name: str) -> dict[str, Any]:
        session.execute(text("INSERT INTO things VALUES (:n)"), {"n": name})
        return {"thread": threading.get_ident()}

    app.include_router(router)
    return app, calls, sessions


class Count(BaseModel):
    n: int


def _names(sessions: sessionmaker[Session], table: str = "things") -> list[str]:
    with sessions() as s:
        return [r[0] for r in s.execute(text(f"SELECT name FROM {table} ORDER BY name"))]  # noqa: S608 - fixed names


def _post(app: FastAPI, path: str) -> Any:
    with TestClient(app, raise_server_exceptions=False) as client:
        return client.post(path)


def test_the_endpoint_commits_in_its_own_thread(app_and_calls: Env) -> None:
    app, calls, sessions = app_and_calls
    resp = _post(app, "/things/a")
    assert resp.status_code == 200
    # one worker-thread call: the endpoint, the check of its answer and its commit
    assert calls == ["hand-off", (resp.json()["thread"], None)]
    assert _names(sessions) == ["a"]


def test_an_error_rolls_back_in_the_endpoint_thread(app_and_calls: Env) -> None:
    app, calls, sessions = app_and_calls
    resp = _post(app, "/refused/b")
    assert resp.status_code == 409 and resp.json()["error"] == "REFUSED"
    assert calls[0] == "hand-off" and [c[1] for c in calls[1:]] == ["Conflict"]
    assert _names(sessions) == []


def test_a_failed_commit_is_an_error_answer(app_and_calls: Env) -> None:
    app, calls, sessions = app_and_calls
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/things/c").status_code == 200
        assert client.post("/tags/c").json() == {"tagged": "c"}
        resp = client.post("/tags/nothing")
    assert resp.status_code >= 500 and "tagged" not in resp.text  # not the endpoint's answer
    assert [c[1] for c in calls if c != "hand-off"] == [None, None, None]  # the failure came from the commit
    assert calls.count("hand-off") == 3
    assert _names(sessions, "tags") == ["c"]


def test_an_async_endpoint_is_left_to_get_session(app_and_calls: Env) -> None:
    app, calls, sessions = app_and_calls
    resp = _post(app, "/async/e")
    assert resp.status_code == 200
    assert calls[0] == "hand-off" and len(calls) == 2  # ended by get_session, in a worker thread
    assert calls[1][0] != resp.json()["thread"]  # (the endpoint ran on the event loop)
    assert _names(sessions) == ["e"]


def test_an_answer_that_does_not_fit_its_model_is_an_error_and_nothing_is_kept(app_and_calls: Env) -> None:
    app, calls, sessions = app_and_calls
    resp = _post(app, "/misfit/f")
    assert resp.status_code == 500
    assert [c[1] for c in calls if c != "hand-off"] == ["ResponseValidationError"]  # checked before the commit
    assert _names(sessions) == []
