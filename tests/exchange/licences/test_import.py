"""Bulk JSONL import: verified, progress reported, resumable after kill -9 with no duplicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, func, select, text

from exchange.licences.importer import import_jsonl
from exchange.models import ImportRun, Licence
from tests.fixtures.exchange import ExchangeEnv

LICEX = str(Path(sys.executable).parent / "licex")


def _write_jsonl(env: ExchangeEnv, path: Path, n: int, *, seed: int, bad_every: int = 0) -> int:
    """Sign n bulk drafts; every bad_every-th line is a broken credential. Returns the number of good lines."""
    from issuers.demo import bulk_drafts

    signers: dict[str, object] = {}
    good = 0
    with path.open("w") as fh:
        for i, draft in enumerate(bulk_drafts(n, seed=seed), start=1):
            if bad_every and i % bad_every == 0:
                fh.write(json.dumps({"credential": "not.an.sd-jwt~"}) + "\n")
                continue
            signer = signers.get(draft.department_id) or env.signer(draft.department_id)
            signers[draft.department_id] = signer
            fh.write(json.dumps({"credential": signer.sign(draft)}) + "\n")  # type: ignore[attr-defined]
            good += 1
    return good


def test_import_counts_rejects_and_is_idempotent(exchange: ExchangeEnv, tmp_path: Path) -> None:
    path = tmp_path / "small.jsonl"
    good = _write_jsonl(exchange, path, 300, seed=11, bad_every=50)
    before = exchange.count(Licence)
    seen: list[tuple[int, int]] = []
    report = import_jsonl(exchange.ctx, path, batch_size=64, progress=lambda d, t: seen.append((d, t)))
    assert report.imported == good and report.rejected == 300 - good
    assert exchange.count(Licence) == before + good
    assert seen[-1] == (300, 300) and len(seen) > 3
    again = import_jsonl(exchange.ctx, path, batch_size=64)
    assert again.imported == 0 and again.resumed_from == 300
    assert exchange.count(Licence) == before + good


@pytest.mark.slow
def test_kill_9_mid_import_then_rerun_gives_exactly_all(exchange: ExchangeEnv, tmp_path: Path) -> None:
    """100k licences (the acceptance size), on each database."""
    n = 100_000
    path = tmp_path / "bulk.jsonl"
    _write_jsonl(exchange, path, n, seed=99)
    before = exchange.count(Licence)
    env = {**os.environ, "LICEX_DATABASE_URL": exchange.settings.sqlalchemy_url,
           "LICEX_DATA_DIR": str(exchange.settings.data_dir)}
    cmd = [LICEX, "import", str(path), "--data-dir", str(exchange.settings.data_dir), "--batch-size", "1000"]
    # its output is not read: DEVNULL, not pipes (an unread pipe fills up and blocks the importer's progress line)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine = create_engine(exchange.settings.sqlalchemy_url)
    killed_at = 0
    helpers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            with engine.connect() as conn:
                done = conn.execute(text("select coalesce(max(lines_done), 0) from import_runs")).scalar() or 0
            if done >= n // 4:
                helpers = psutil.Process(proc.pid).children(recursive=True)  # fork server and workers
                os.kill(proc.pid, signal.SIGKILL)
                killed_at = int(done)
                break
            time.sleep(0.2)
        proc.wait(timeout=30)
    finally:
        engine.dispose()
    assert 0 < killed_at < n, "import finished before it could be killed"
    assert proc.returncode == -signal.SIGKILL
    # the verification processes end with the importer: none is left waiting for work
    assert len(helpers) >= 2
    _gone, alive = psutil.wait_procs(helpers, timeout=20)
    assert not alive, [p.pid for p in alive]
    mid = exchange.count(Licence) - before
    assert killed_at <= mid < n
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    report = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert report["resumed_from"] >= killed_at
    with exchange.ctx.sessions() as s:
        total = s.scalar(select(func.count()).select_from(Licence)) - before
        distinct = s.scalar(select(func.count(func.distinct(Licence.licence_id))))
        run = s.get(ImportRun, report["file_digest"])
    assert total == n
    assert distinct == before + n
    assert run is not None and run.lines_done == n and run.imported == n
