"""Test helpers for the transparency log: read the published log over HTTP like any outside party would."""

from __future__ import annotations

from typing import Any

from verifier.tlog.note import Checkpoint, NoteVerifier, open_checkpoint
from verifier.tlog.tiles import ENTRIES, TILE_WIDTH, TileHashes, decode_bundle, tile_path, tile_width


def log_key(client: Any) -> NoteVerifier:
    resp = client.get("/log/key")
    assert resp.status_code == 200, resp.text
    return NoteVerifier.from_vkey(resp.text)


def checkpoint(client: Any) -> tuple[Checkpoint, str]:
    resp = client.get("/log/checkpoint")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    cp, _ = open_checkpoint(resp.text, log_key(client))
    return cp, resp.text


def tile_getter(client: Any) -> Any:
    def get(level: int, index: int, width: int) -> bytes:
        resp = client.get(f"/log/{tile_path(level, index, width)}")
        assert resp.status_code == 200, (tile_path(level, index, width), resp.text)
        assert "immutable" in resp.headers["cache-control"]
        return bytes(resp.content)
    return get


def tiles(client: Any, size: int) -> TileHashes:
    return TileHashes(size, tile_getter(client))


def all_entries(client: Any, size: int) -> list[bytes]:
    get = tile_getter(client)
    out: list[bytes] = []
    for n in range((size + TILE_WIDTH - 1) // TILE_WIDTH):
        out.extend(decode_bundle(get(ENTRIES, n, tile_width(size, 0, n))))
    assert len(out) == size
    return out
