"""Dynamic QR across two real exchange processes (uvicorn) sharing one database: single use holds because the
store refuses the replay, not process memory. Also: the served QR decodes with zxing-cpp at version ≤ 7-M."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO

import httpx
import numpy as np
import pytest
import segno
import zxingcpp
from PIL import Image

from exchange.qr.service import QR_MASK, render_svg
from tests.exchange.counter.flow import bearer, citizen_token
from tests.fixtures.exchange import ExchangeEnv

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: IO[bytes]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(env: ExchangeEnv) -> Server:
    port = _free_port()
    # a file, not a pipe: an unread pipe fills up and blocks the server (closed when the fixture ends)
    log = tempfile.TemporaryFile()  # noqa: SIM115
    environ = {**os.environ, "LICEX_DATA_DIR": str(env.settings.data_dir), "LICEX_DEMO": "true",
               "LICEX_DATABASE_URL": env.settings.sqlalchemy_url, "LICEX_PUBLIC_BASE_URL": "http://testserver",
               "LICEX_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "exchange.app:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"], cwd=ROOT, env=environ,
        stdout=subprocess.DEVNULL, stderr=log)
    return Server(f"http://127.0.0.1:{port}", proc, log)


def _wait(server: Server, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            server.log.seek(0)
            raise RuntimeError(f"exchange process exited: {server.log.read().decode(errors='replace')[-2000:]}")
        try:
            if httpx.get(server.url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("exchange process did not become ready")


@pytest.fixture(scope="module")
def servers(exchange: ExchangeEnv) -> Iterator[tuple[Server, Server]]:
    a, b = _start(exchange), _start(exchange)
    try:
        deadline = time.monotonic() + 90
        _wait(a, deadline)
        _wait(b, deadline)
        yield a, b
    finally:
        for server in (a, b):
            server.proc.terminate()
        for server in (a, b):
            try:
                server.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait()
            server.log.close()


def _clerk(env: ExchangeEnv, server: Server, username: str = "clerk01") -> str:
    from exchange.counter.provision import demo_clerk_passwords

    resp = httpx.post(server.url + "/api/v1/counter/login", timeout=30, json={
        "username": username, "password": demo_clerk_passwords(env.settings.data_dir)[username]})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["token"])


def _qr(server: Server, citizen: str) -> dict[str, str]:
    resp = httpx.post(server.url + "/api/v1/citizen/qr", headers=bearer(citizen), timeout=30)
    assert resp.status_code == 200, resp.text
    data: dict[str, str] = resp.json()
    return data


def _scan(server: Server, clerk: str, text: str) -> httpx.Response:
    return httpx.post(server.url + "/api/v1/counter/scan", headers=bearer(clerk), timeout=60,
                      json={"matter": "driving_licence_renewal", "qr_text": text})


def test_scan_on_one_process_replay_on_the_other(exchange: ExchangeEnv, servers: tuple[Server, Server]) -> None:
    a, b = servers
    citizen, clerk = citizen_token(exchange), _clerk(exchange, a)
    text = _qr(a, citizen)["qr_text"]
    first = _scan(a, clerk, text)
    assert first.status_code == 200, first.text
    replay = _scan(b, clerk, text)
    assert replay.status_code == 409 and replay.json()["error"] == "QR_USED"
    # and the other way round, with a QR minted by the second process
    text = _qr(b, citizen)["qr_text"]
    assert _scan(b, clerk, text).status_code == 200
    replay = _scan(a, clerk, text)
    assert replay.status_code == 409 and replay.json()["error"] == "QR_USED"


def test_simultaneous_scans_on_two_processes_succeed_once(exchange: ExchangeEnv,
                                                          servers: tuple[Server, Server]) -> None:
    a, b = servers
    citizen = citizen_token(exchange)
    clerk_a, clerk_b = _clerk(exchange, a, "clerk01"), _clerk(exchange, b, "clerk02")
    for _ in range(3):
        text = _qr(a, citizen)["qr_text"]
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda args: _scan(*args), [(a, clerk_a, text), (b, clerk_b, text),
                                                                 (a, clerk_a, text), (b, clerk_b, text)]))
        codes = sorted(r.status_code for r in results)
        assert codes == [200, 409, 409, 409], [r.text for r in results]


def test_served_qr_is_small_and_decodes(exchange: ExchangeEnv, servers: tuple[Server, Server]) -> None:
    a, _ = servers
    served = _qr(a, citizen_token(exchange))
    text = served["qr_text"]
    assert served["svg"] == render_svg(text)
    assert served["svg"].startswith("<svg") and int(served["refresh_in_s"]) <= 30
    qr = segno.make(text, error="m", mode="alphanumeric", mask=QR_MASK, micro=False, boost_error=False)
    assert qr.error == "M" and qr.mode == "alphanumeric"
    assert isinstance(qr.version, int) and qr.version <= 7
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=5, border=4)
    image = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))
    decoded = zxingcpp.read_barcodes(image)
    assert [d.text for d in decoded] == [text]
    # no personal data in clear: the payload is the prefix and base32 of random bytes
    person = exchange.records.citizens[0]
    assert person.id_number not in text and person.id_number[-6:] not in text
