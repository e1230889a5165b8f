"""C2SP tlog-tiles: tile paths, entry bundles, and Merkle proofs computed from (untrusted) tiles.

A level-L tile holds up to 256 hashes of tree level 8·L; tile N covers hashes N·256 … N·256+255. Paths encode N
in three-digit groups, all but the last prefixed with ``x`` (1234067 → ``x001/x234/067``); a partial tile of
width W ends ``.p/W``. Entry bundles hold the leaf inputs as big-endian u16 length + bytes.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

from .merkle import HASH_SIZE, consistency_proof, inclusion_proof, perfect_root, tree_root

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_LEVEL = 7
ENTRIES = -1  # level used for entry bundles

TileGetter = Callable[[int, int, int], bytes]  # (level or ENTRIES, index, width) -> bytes

_PATH = re.compile(r"^(?:(?P<level>[0-9])|entries)/(?P<n>(?:x[0-9]{3}/)*[0-9]{3})(?:\.p/(?P<w>[0-9]{1,3}))?$")


class TileError(ValueError):
    pass


def encode_index(n: int) -> str:
    if n < 0:
        raise ValueError("negative tile index")
    groups = []
    while True:
        groups.append(f"{n % 1000:03d}")
        n //= 1000
        if n == 0:
            break
    groups.reverse()
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    head = "entries" if level == ENTRIES else str(level)
    tail = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{head}/{encode_index(index)}{tail}"


def parse_tile_path(path: str) -> tuple[int, int, int]:
    """``<L>/<N>[.p/<W>]`` or ``entries/<N>[.p/<W>]`` (without the ``tile/`` prefix) → (level, index, width)."""
    m = _PATH.match(path)
    if m is None:
        raise TileError("not a tile path")
    groups = m.group("n").split("/")
    if any(g.startswith("x") for g in groups[-1:]) or not all(g.startswith("x") for g in groups[:-1]):
        raise TileError("not a tile path")
    if len(groups) > 6:
        raise TileError("tile index out of range")
    index = int("".join(g.lstrip("x") for g in groups))
    if len(groups) > 1 and groups[0] == "x000":
        raise TileError("tile index has a leading zero group")
    width = TILE_WIDTH if m.group("w") is None else int(m.group("w"))
    if not 1 <= width <= TILE_WIDTH or (m.group("w") is not None and width == TILE_WIDTH):
        raise TileError("partial tile width must be 1–255")
    level = ENTRIES if m.group("level") is None else int(m.group("level"))
    if level > MAX_LEVEL:
        raise TileError("tile level out of range")
    return level, index, width


def encode_bundle(entries: list[bytes]) -> bytes:
    return b"".join(struct.pack(">H", len(e)) + e for e in entries)


def decode_bundle(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise TileError("truncated entry bundle")
        (n,) = struct.unpack_from(">H", data, pos)
        pos += 2
        if pos + n > len(data):
            raise TileError("truncated entry bundle")
        out.append(data[pos:pos + n])
        pos += n
    if len(out) > TILE_WIDTH:
        raise TileError("entry bundle holds more than 256 entries")
    return out


def tile_width(size: int, level: int, index: int) -> int:
    """Width of tile (level, index) in a tree of ``size`` leaves (0 if it does not exist yet)."""
    count = size >> (TILE_HEIGHT * max(level, 0))
    return max(0, min(TILE_WIDTH, count - index * TILE_WIDTH))


class TileHashes:
    """Perfect-subtree hashes of a tree of ``size`` leaves, read from tiles through ``get`` (cached)."""

    def __init__(self, size: int, get: TileGetter) -> None:
        self.size = size
        self._get = get
        self._cache: dict[tuple[int, int, int], bytes] = {}
        self.fetched = 0

    def tile(self, level: int, index: int) -> bytes:
        width = tile_width(self.size, level, index)
        if width == 0:
            raise TileError(f"tile {level}/{index} is beyond the tree")
        key = (level, index, width)
        data = self._cache.get(key)
        if data is None:
            data = self._get(level, index, width)
            self.fetched += 1
            if len(data) < width * HASH_SIZE:
                raise TileError(f"tile {tile_path(level, index, width)} is too short")
            data = data[:width * HASH_SIZE]
            self._cache[key] = data
        return data

    def subtree(self, height: int, index: int) -> bytes:
        level, rest = divmod(height, TILE_HEIGHT)
        first = index << rest  # first hash at tree level 8·level
        data = self.tile(level, first >> TILE_HEIGHT)
        off = first & (TILE_WIDTH - 1)
        hashes = [data[(off + i) * HASH_SIZE:(off + i + 1) * HASH_SIZE] for i in range(1 << rest)]
        if any(len(h) != HASH_SIZE for h in hashes):
            raise TileError("tile does not cover the requested subtree")
        return perfect_root(hashes)

    def root(self) -> bytes:
        return tree_root(self.size, self.subtree)

    def inclusion(self, index: int) -> list[bytes]:
        return inclusion_proof(index, self.size, self.subtree)

    def consistency(self, old_size: int) -> list[bytes]:
        return consistency_proof(old_size, self.size, self.subtree)
