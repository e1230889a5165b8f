"""RFC 9162 §2.1 Merkle tree hashing, inclusion and consistency proofs.

Proof *generation* works over any source of perfect-subtree hashes (``SubtreeHashes``): the exchange backs it
with stored tiles, browsers and witnesses with fetched tiles. Proof *verification* follows RFC 9162 §2.1.3.2 and
§2.1.4.2 literally and needs nothing but the proof.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

# (height, index) -> hash of the perfect subtree of 2**height leaves starting at leaf index * 2**height
SubtreeHashes = Callable[[int, int], bytes]


def leaf_hash(leaf_input: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf_input).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_pow2_below(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_hash(start: int, end: int, subtree: SubtreeHashes) -> bytes:
    """MTH(D[start:end]) for a range the RFC's recursion produces (start aligned to the range's split)."""
    size = end - start
    if size <= 0:
        raise ValueError("empty range")
    if size & (size - 1) == 0 and start % size == 0:
        height = size.bit_length() - 1
        return subtree(height, start >> height)
    k = _largest_pow2_below(size)
    return node_hash(range_hash(start, start + k, subtree), range_hash(start + k, end, subtree))


def tree_root(size: int, subtree: SubtreeHashes) -> bytes:
    return EMPTY_ROOT if size == 0 else range_hash(0, size, subtree)


def inclusion_proof(index: int, size: int, subtree: SubtreeHashes) -> list[bytes]:
    """PATH(m, D[0:n]) of RFC 9162 §2.1.3.1, leaf-side first."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} not in a tree of size {size}")
    proof: list[bytes] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = _largest_pow2_below(end - start)
        if m < k:
            proof.append(range_hash(start + k, end, subtree))
            end = start + k
        else:
            proof.append(range_hash(start, start + k, subtree))
            start, m = start + k, m - k
    proof.reverse()
    return proof


def consistency_proof(old_size: int, new_size: int, subtree: SubtreeHashes) -> list[bytes]:
    """PROOF(m, D[0:n]) of RFC 9162 §2.1.4.1."""
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from {old_size} to {new_size}")
    if old_size == new_size:
        return []
    out: list[bytes] = []

    def subproof(m: int, start: int, end: int, b: bool) -> None:
        n = end - start
        if m == n:
            if not b:
                out.append(range_hash(start, end, subtree))
            return
        k = _largest_pow2_below(n)
        if m <= k:
            subproof(m, start, start + k, b)
            out.append(range_hash(start + k, end, subtree))
        else:
            subproof(m - k, start + k, end, False)
            out.append(range_hash(start, start + k, subtree))

    subproof(old_size, 0, new_size, True)
    return out


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2 with ``leaf`` the leaf *hash*."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if len(p) != HASH_SIZE or sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and _eq(r, root)


def verify_consistency(old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes,
                       new_root: bytes) -> bool:
    """RFC 9162 §2.1.4.2."""
    if old_size > new_size or old_size < 0:
        return False
    if old_size == new_size:
        return len(proof) == 0 and _eq(old_root, new_root)
    if old_size == 0:
        return len(proof) == 0
    if not proof or any(len(p) != HASH_SIZE for p in proof):
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and _eq(fr, old_root) and _eq(sr, new_root)


def _eq(a: bytes, b: bytes) -> bool:
    import hmac

    return hmac.compare_digest(a, b)


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """Root of a perfect subtree given its 2**k bottom hashes."""
    level = list(hashes)
    if not level or len(level) & (len(level) - 1):
        raise ValueError("need a power-of-two number of hashes")
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]
