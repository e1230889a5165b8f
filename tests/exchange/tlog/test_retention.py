"""Acceptance 3: the retention job deletes event content older than LICEX_USAGE_RETENTION_DAYS; the commitments
and tiles stay, the tree still hashes to its signed root, and newer events still verify."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from pymerkle import InmemoryTree
from sqlalchemy import func, select

from exchange.config import Settings
from exchange.kit.db import unit_of_work, utcnow
from exchange.models import UsageEntry
from exchange.tlog.models import LogEntry
from exchange.tlog.sequencer import sequence_all
from exchange.usage import service as usage
from tests.exchange.counter.flow import bearer, citizen_token
from tests.exchange.tlog.helpers import all_entries, checkpoint
from tests.fixtures.exchange import ExchangeEnv
from verifier.tlog.events import verify_export
from verifier.tlog.note import NoteVerifier

LICEX = str(Path(sys.executable).parent / "licex")
PERSON = 9


def test_retention_must_be_at_least_180_days(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, demo=True, usage_retention_days=179)
    assert Settings(data_dir=tmp_path, demo=True, usage_retention_days=180).usage_retention_days == 180


def test_retention_deletes_old_content_keeps_commitments(exchange: ExchangeEnv, monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    holder = exchange.ctx.protector.holder_hash(exchange.records.citizens[PERSON].id_number)
    days = exchange.settings.usage_retention_days
    old_time = utcnow() - timedelta(days=days + 30)
    monkeypatch.setattr(usage, "utcnow", lambda: old_time)
    actor = usage.Actor("clerk", "旧窗口", "长沙市政务服务中心")
    with unit_of_work(exchange.ctx.sessions) as s:
        old = [usage.record(s, holder, "pull", actor, matter_key="hpf_loan") for _ in range(3)]
    old_ids, old_entries = [e.id for e in old], [e.log_entry_id for e in old]
    monkeypatch.undo()
    with unit_of_work(exchange.ctx.sessions) as s:
        new = [usage.record(s, holder, "counter_scan", actor, matter_key="hpf_loan") for _ in range(2)]
    new_ids = {e.id for e in new}
    sequence_all(exchange.ctx)
    cp_before, _ = checkpoint(exchange.client)
    with exchange.session() as s:
        old_leaves = {e.id: e.leaf_input for e in s.scalars(select(LogEntry).where(LogEntry.id.in_(old_entries)))}

    base = {k: v for k, v in os.environ.items() if not k.startswith("LICEX_")}
    res = subprocess.run([LICEX, "maintenance", "--data-dir", str(exchange.settings.data_dir)],
                         env={**base, "LICEX_DATABASE_URL": exchange.settings.sqlalchemy_url},
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "deleted 3 usage entries" in res.stdout

    with exchange.session() as s:
        # content gone
        assert s.scalar(select(func.count()).select_from(UsageEntry).where(UsageEntry.id.in_(old_ids))) == 0
        assert s.scalar(select(func.count()).select_from(UsageEntry).where(UsageEntry.at < utcnow() - timedelta(
            days=days))) == 0
        # commitments stay, at their indices
        kept = {e.id: e for e in s.scalars(select(LogEntry).where(LogEntry.id.in_(old_entries)))}
        assert {i: e.leaf_input for i, e in kept.items()} == old_leaves
        assert all(e.leaf_index is not None for e in kept.values())
        assert usage.verify_holder(s, holder) == (True, None)
    # the tree is untouched and still hashes (pymerkle) to the signed root
    cp_after, _ = checkpoint(exchange.client)
    assert cp_after.size >= cp_before.size
    leaves = all_entries(exchange.client, cp_after.size)
    tree = InmemoryTree(algorithm="sha256")
    for leaf in leaves:
        tree.append_entry(leaf)
    assert bytes(tree.get_root()) == cp_after.root
    for e in kept.values():
        assert e.leaf_index is not None and leaves[e.leaf_index] == e.leaf_input
    # the citizen's newer events still verify end to end
    token = citizen_token(exchange, PERSON)
    events = exchange.client.get("/api/v1/citizen/usage", headers=bearer(token)).json()
    assert new_ids <= {e["seq"] for e in events} and not set(old_ids) & {e["seq"] for e in events}
    export = exchange.client.get("/api/v1/citizen/usage/export", headers=bearer(token)).json()
    key = NoteVerifier.from_vkey(exchange.client.get("/log/key").text)
    report = verify_export(export, key)
    assert report.ok and report.verified >= 2, report.problems
    assert base64.b64decode(export["events"][0]["log"]["leaf_input"])
