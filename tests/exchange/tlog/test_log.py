"""Acceptance 1: the published log checked with implementations we did not write (pymerkle) or wrote
independently from the RFC text (``rfc9162.py``): tiles hash to the signed checkpoint's root, every event a
citizen sees is included at its index, and a later checkpoint is consistent with an earlier one."""

from __future__ import annotations

import base64
import hashlib
import json

from pymerkle import InmemoryTree

from exchange.kit.db import unit_of_work
from exchange.tlog import service as tlog
from exchange.tlog.sequencer import sequence_all
from tests.exchange.counter.flow import bearer, citizen_token, clerk_token, decide, scan, usage
from tests.exchange.tlog import rfc9162
from tests.exchange.tlog.helpers import all_entries, checkpoint, log_key, tiles
from tests.fixtures.exchange import ExchangeEnv
from verifier.tlog.merkle import verify_consistency, verify_inclusion
from verifier.trust import TrustList


def _pymerkle_root(leaves: list[bytes]) -> bytes:
    tree = InmemoryTree(algorithm="sha256")
    for leaf in leaves:
        tree.append_entry(leaf)
    return bytes(tree.get_root())


def _commitment(event: dict[str, object]) -> bytes:
    """The commitment recomputed by hand from the documented formula (not the library function)."""
    body = {k: event[k] for k in ("holder", "at", "action", "outcome", "actor_kind", "actor", "place", "matter",
                                  "subject")}
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    salt = base64.b64decode(str(event["opening"]["salt"]))  # type: ignore[index]
    return hashlib.sha256(b"licex-usage/v1\n" + salt + canon).digest()


def _flows(env: ExchangeEnv, citizens: list[int]) -> None:
    clerk = clerk_token(env)
    for i in citizens:
        token = citizen_token(env, i)
        case = scan(env, clerk, token)
        assert decide(env, token, case["consent_id"]).status_code == 200
        resp = env.client.post(f"/api/v1/counter/cases/{case['case_id']}/pull", headers=bearer(clerk))
        assert resp.status_code == 200, resp.text


def test_checkpoint_is_signed_by_the_key_in_the_trust_list(exchange: ExchangeEnv) -> None:
    sequence_all(exchange.ctx)
    trust = TrustList.load(exchange.client.get("/api/v1/trust-list").content)
    assert trust.document.log_keys == (log_key(exchange.client).vkey,)
    cp, note = checkpoint(exchange.client)
    assert cp.origin == exchange.settings.log_origin
    assert note.split("\n")[3] == "" and note.split("\n")[4].startswith("\u2014 " + cp.origin + " ")


def test_tiles_hash_to_root_and_citizen_events_are_included(exchange: ExchangeEnv) -> None:
    _flows(exchange, [0, 1, 2])
    # enough raw leaves to cross tile boundaries (level-1 tiles and a partial level-0 tile)
    with unit_of_work(exchange.ctx.sessions) as s:
        for i in range(600):
            tlog.append(s, hashlib.sha256(b"filler %d" % i).digest())
    sequence_all(exchange.ctx)
    cp, _ = checkpoint(exchange.client)
    assert cp.size > 600
    leaves = all_entries(exchange.client, cp.size)
    # pymerkle (PyPI) and the RFC's recursive definition agree with the signed root
    assert _pymerkle_root(leaves) == cp.root
    assert rfc9162.mth(leaves) == cp.root
    th = tiles(exchange.client, cp.size)
    assert th.root() == cp.root
    # level-1 tile hashes are the roots of 256-leaf subtrees
    level1 = th.tile(1, 0)
    assert level1[:32] == rfc9162.mth(leaves[:256])
    for person in (0, 1, 2):
        events = usage(exchange, citizen_token(exchange, person))
        assert events
        for ev in events:
            index = ev["log"]["index"]
            assert index is not None and index < cp.size
            leaf = base64.b64decode(ev["log"]["leaf_input"])
            assert _commitment(ev) == leaf == leaves[index]
            proof = th.inclusion(index)
            assert proof == rfc9162.path(index, leaves)
            assert verify_inclusion(hashlib.sha256(b"\x00" + leaf).digest(), index, cp.size, proof, cp.root)


def test_later_checkpoint_is_consistent(exchange: ExchangeEnv) -> None:
    sequence_all(exchange.ctx)
    old, _ = checkpoint(exchange.client)
    _flows(exchange, [3, 4])
    sequence_all(exchange.ctx)
    new, _ = checkpoint(exchange.client)
    assert new.size > old.size
    leaves = all_entries(exchange.client, new.size)
    assert _pymerkle_root(leaves[:old.size]) == old.root and _pymerkle_root(leaves) == new.root
    proof = tiles(exchange.client, new.size).consistency(old.size)
    assert proof == rfc9162.proof(old.size, leaves)
    assert verify_consistency(old.size, new.size, proof, old.root, new.root)
    assert not verify_consistency(old.size, new.size, proof, hashlib.sha256(b"x").digest(), new.root)
    for m in (1, 2, 3, 255, 256, 257, old.size):
        if m <= new.size:
            assert verify_consistency(m, new.size, tiles(exchange.client, new.size).consistency(m),
                                      rfc9162.mth(leaves[:m]), new.root)


def test_tile_routes_validate_and_cache(exchange: ExchangeEnv) -> None:
    with unit_of_work(exchange.ctx.sessions) as s:
        for i in range(300):
            tlog.append(s, hashlib.sha256(b"route filler %d" % i).digest())
    sequence_all(exchange.ctx)
    cp, _ = checkpoint(exchange.client)
    c = exchange.client
    assert c.get("/log/tile/0/000").status_code == 200  # full
    assert c.get("/log/tile/0/000.p/5").content == c.get("/log/tile/0/000").content[:160]
    for bad in ("/log/tile/0/0", "/log/tile/9/000", "/log/tile/0/x000/001", "/log/tile/0/000.p/256",
                "/log/tile/0/000.p/0", "/log/tile/entries/abc", "/log/tile/0/000.p/7x",
                "/log/tile/0/x999/x999/x999/x999/x999/x999/999"):
        assert c.get(bad).status_code in (400, 422), bad
    assert c.get("/log/tile/0/x999/999").status_code == 404
    assert c.get("/log/tile/entries/000").status_code == 200
    assert cp.size > 0
