"""verifier.tlog against outside references: the Go sumdb/note test vector (golang.org/x/mod), a transparency-dev
vkey whose base64 holds a '+', the C2SP tlog-tiles path example, and the RFC 9162 recursive definitions for
every index and size up to 70."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.exchange.tlog import rfc9162
from verifier.tlog.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    perfect_root,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from verifier.tlog.note import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    NoteSigner,
    NoteVerifier,
    open_checkpoint,
    sign_checkpoint,
    verified_by,
)
from verifier.tlog.tiles import TileError, decode_bundle, encode_bundle, parse_tile_path, tile_path

# golang.org/x/mod/sumdb/note: the package documentation's example note and its verifier key
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_NOTE = GO_TEXT + ("\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdng"
                     "otpRZb6KE6RyyBwJnAM=\n")
# transparency-dev/formats note tests: a type-0x01 vkey whose base64 contains '+'
PLUS_VKEY = "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"


def test_go_sumdb_note_vector_verifies() -> None:
    verifier = NoteVerifier.from_vkey(GO_VKEY)
    assert verifier.vkey == GO_VKEY  # our key-id computation matches Go's
    body, ok = verified_by(GO_NOTE, [verifier])
    assert body == GO_TEXT and ok == {"PeterNeumann": 0}
    with pytest.raises(NoteError):
        verified_by(GO_NOTE.replace("cryptography", "cryptographY"), [verifier])


def test_vkey_with_plus_in_base64_and_mangled_keys() -> None:
    assert NoteVerifier.from_vkey(PLUS_VKEY).vkey == PLUS_VKEY
    for bad in (GO_VKEY.replace("c74f20a3", "c74f20a4"), GO_VKEY[:-2], "PeterNeumann+c74f20a3", "a b+00000000+AA=="):
        with pytest.raises(NoteError):
            NoteVerifier.from_vkey(bad)


def test_checkpoint_and_cosignature_round_trip() -> None:
    log = NoteSigner("example.com/log", Ed25519PrivateKey.generate())
    witness = NoteSigner("witness.example/w1", Ed25519PrivateKey.generate(), ALG_COSIGNATURE_V1)
    cp = Checkpoint("example.com/log", 12, hashlib.sha256(b"r").digest())
    note = sign_checkpoint(cp, log)
    cosigned = note + witness.signature_line(cp.body(), timestamp=1_700_000_000)
    got, cosigs = open_checkpoint(cosigned, log.verifier, cosigners=[witness.verifier])
    assert got == cp and cosigs == {"witness.example/w1": 1_700_000_000}
    assert witness.verifier.vkey.split("+")[2].startswith("B")  # type byte 0x04 → base64 'B…'
    forged = note.replace("\n12\n", "\n13\n")
    with pytest.raises(NoteError):
        open_checkpoint(forged, log.verifier)
    with pytest.raises(NoteError):
        open_checkpoint(note, witness.verifier)  # a cosigner key is not the log key
    for body in ("example.com/log\n012\n" + cp.body().split("\n")[2] + "\n", "example.com/log\n1\nAAAA\n"):
        with pytest.raises(NoteError):
            Checkpoint.parse_body(body)


def test_tile_paths_and_bundles() -> None:
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(-1, 5, 7) == "tile/entries/005.p/7"
    assert parse_tile_path("0/x001/x234/067") == (0, 1234067, 256)
    assert parse_tile_path("entries/000.p/255") == (-1, 0, 255)
    for bad in ("0/1", "0/x001", "0/001/002", "0/000.p/0", "0/000.p/256", "8/000", "0/x000/001"):
        with pytest.raises(TileError):
            parse_tile_path(bad)
    entries = [b"a", b"", b"x" * 300]
    assert decode_bundle(encode_bundle(entries)) == entries
    with pytest.raises(TileError):
        decode_bundle(b"\x00\x05abc")


@pytest.mark.parametrize("n", range(1, 71))
def test_merkle_matches_rfc_definitions(n: int) -> None:
    leaves = [b"leaf %d" % i for i in range(n)]
    hashes = [leaf_hash(x) for x in leaves]

    def sub(h: int, i: int) -> bytes:
        return perfect_root(hashes[i << h:(i + 1) << h])

    root = tree_root(n, sub)
    assert root == rfc9162.mth(leaves)
    for m in range(n):
        proof = inclusion_proof(m, n, sub)
        assert proof == rfc9162.path(m, leaves)
        assert verify_inclusion(hashes[m], m, n, proof, root)
        assert not verify_inclusion(hashes[m], (m + 1) % n, n, proof, root) or n == 1
    for m in range(1, n + 1):
        proof = consistency_proof(m, n, sub)
        assert proof == rfc9162.proof(m, leaves)
        assert verify_consistency(m, n, proof, rfc9162.mth(leaves[:m]), root)
        if m < n:
            assert not verify_consistency(m, n, proof, rfc9162.mth(leaves[1:m + 1]), root)
