"""A witness for the usage log (``licex log witness``): follows the log's checkpoints, checks that each is
consistent with the last one it cosigned and that the published tiles and entry bundles hash to it, then cosigns
(C2SP tlog-cosignature, Ed25519) and hands the cosignature back to the log.

State directory: ``witness.key`` (the witness's Ed25519 key, PKCS#8, mode 0600), ``log.vkey`` (the log key,
pinned on first run) and ``checkpoint`` (the last checkpoint it verified). On any inconsistency it refuses to
cosign, writes ``alert-<time>.txt`` with both checkpoints as evidence and reports the problem; the state is not
advanced.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from verifier.tlog.merkle import HASH_SIZE, leaf_hash, verify_consistency
from verifier.tlog.note import ALG_COSIGNATURE_V1, Checkpoint, NoteError, NoteSigner, NoteVerifier, open_checkpoint
from verifier.tlog.tiles import ENTRIES, TILE_WIDTH, TileError, TileHashes, decode_bundle, tile_path, tile_width

MAX_TILE_BYTES = 256 * 1026


@dataclass
class WitnessResult:
    ok: bool
    size: int
    problem: str | None = None
    cosigned: bool = False


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def witness_signer(state: Path, name: str) -> NoteSigner:
    state.mkdir(parents=True, exist_ok=True)
    path = state / "witness.key"
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        _write_private(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    name_file = state / "name"
    if name_file.exists():
        name = name_file.read_text().strip()
    else:
        name_file.write_text(name + "\n")
    return NoteSigner(name, loaded, ALG_COSIGNATURE_V1)


def http_tiles(client: httpx.Client, base: str) -> Callable[[int, int, int], bytes]:
    def get(level: int, index: int, width: int) -> bytes:
        resp = client.get(f"{base}/log/{tile_path(level, index, width)}")
        if resp.status_code != 200:
            raise TileError(f"{tile_path(level, index, width)}: HTTP {resp.status_code}")
        if len(resp.content) > MAX_TILE_BYTES:
            raise TileError("tile too large")
        return resp.content
    return get


def check_entries(tiles: TileHashes, get: Callable[[int, int, int], bytes], start: int) -> str | None:
    """Entry bundles for leaves [start, size) must hash to the level-0 tiles."""
    size = tiles.size
    first = start // TILE_WIDTH
    for n in range(first, (size + TILE_WIDTH - 1) // TILE_WIDTH):
        width = tile_width(size, 0, n)
        entries = decode_bundle(get(ENTRIES, n, width))
        if len(entries) < width:
            return f"entry bundle {n} holds {len(entries)} entries, expected {width}"
        level0 = tiles.tile(0, n)
        for i in range(width):
            if leaf_hash(entries[i]) != level0[i * HASH_SIZE:(i + 1) * HASH_SIZE]:
                return f"entry {n * TILE_WIDTH + i} does not match its leaf hash in tile 0/{n}"
    return None


def audit(old: Checkpoint | None, new: Checkpoint, get: Callable[[int, int, int], bytes]) -> str | None:
    """None if ``new`` may be cosigned after ``old``; else what is wrong."""
    if old is not None:
        if new.size < old.size:
            return f"ROLLBACK: checkpoint size {new.size} is smaller than the cosigned {old.size}"
        if new.size == old.size and new.root != old.root:
            return f"FORK: two different roots for tree size {new.size}"
    tiles = TileHashes(new.size, get)
    try:
        if tiles.root() != new.root:
            return f"TILES: the published tiles do not hash to the checkpoint root (size {new.size})"
        if old is not None and 0 < old.size < new.size and not verify_consistency(
                old.size, new.size, tiles.consistency(old.size), old.root, new.root):
            return f"FORK: checkpoint {new.size} is not consistent with the cosigned {old.size}"
        return check_entries(tiles, get, old.size if old is not None else 0)
    except (TileError, httpx.HTTPError) as exc:
        return f"TILES: {exc}"


def run_once(log_url: str, state: Path, *, log_key: str | None = None, name: str = "witness.local/licex",
             client: httpx.Client | None = None, now: Callable[[], float] = time.time) -> WitnessResult:
    signer = witness_signer(state, name)
    vkey_file = state / "log.vkey"
    if log_key:
        if vkey_file.exists() and vkey_file.read_text().strip() != log_key.strip():
            raise ValueError("this state directory follows a different log key")
        vkey_file.write_text(log_key.strip() + "\n")
    if not vkey_file.exists():
        raise ValueError("first run: give the log's key (--log-key VKEY, from the trust list or /log/key)")
    verifier = NoteVerifier.from_vkey(vkey_file.read_text())
    base = log_url.rstrip("/")
    own = client is None
    http = client or httpx.Client(timeout=10)
    try:
        resp = http.get(f"{base}/log/checkpoint")
        resp.raise_for_status()
        try:
            new, _ = open_checkpoint(resp.text, verifier)
        except NoteError as exc:
            return _alert(state, None, resp.text, f"BAD_CHECKPOINT: {exc}")
        cp_file = state / "checkpoint"
        old_note = cp_file.read_text() if cp_file.exists() else None
        old = open_checkpoint(old_note, verifier)[0] if old_note else None
        problem = audit(old, new, http_tiles(http, base))
        if problem is not None:
            return _alert(state, old_note, resp.text, problem)
        body = new.body()
        line = signer.signature_line(body, timestamp=int(now()))
        cosigned_note = body + "\n" + resp.text.split("\n\n", 1)[1].split("\n")[0] + "\n" + line
        post = http.post(f"{base}/log/cosignature", content=cosigned_note.encode(),
                         headers={"Content-Type": "text/plain; charset=utf-8"})
        tmp = cp_file.with_suffix(".tmp")
        tmp.write_text(resp.text)
        tmp.replace(cp_file)
        return WitnessResult(True, new.size, None, post.status_code == 200)
    finally:
        if own:
            http.close()


def _alert(state: Path, old_note: str | None, new_note: str, problem: str) -> WitnessResult:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    (state / f"alert-{stamp}.txt").write_text(
        f"{problem}\n\n--- last cosigned checkpoint ---\n{old_note or '(none)'}\n--- offered checkpoint ---\n"
        f"{new_note}")
    size = -1
    with contextlib.suppress(IndexError, ValueError):
        size = int(new_note.split("\n")[1])
    return WitnessResult(False, size, problem)
