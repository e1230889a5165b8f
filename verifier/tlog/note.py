"""C2SP signed notes (signed-note), checkpoints (tlog-checkpoint) and Ed25519 cosignatures (tlog-cosignature).

A note is UTF-8 text ending in a newline, a blank line, then signature lines ``— <name> base64(keyid ‖ sig)``.
Ed25519 note keys have key id SHA-256(name ‖ 0x0A ‖ 0x01 ‖ pub)[:4]; cosigner keys use 0x04 and sign
``cosignature/v1\\ntime <t>\\n`` + the checkpoint body with a big-endian u64 timestamp before the signature.
Verifier keys are written as vkeys: ``<name>+<hex keyid>+base64(type ‖ pub)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
SIG_PREFIX = "\u2014 "
MAX_NOTE_BYTES = 1_000_000
MAX_SIGNATURES = 100


class NoteError(ValueError):
    """A note, checkpoint or key that cannot be parsed or whose signature does not verify."""

    def __init__(self, message: str, code: str = "MALFORMED") -> None:
        super().__init__(message)
        self.code = code


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise NoteError(f"invalid key name {name!r}")


def key_id(name: str, alg: int, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class NoteVerifier:
    """A (name, Ed25519 public key, signature type) triple: a log key (0x01) or a cosigner key (0x04)."""

    name: str
    public: bytes
    alg: int = ALG_ED25519

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.alg, self.public)

    @property
    def vkey(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([self.alg]) + self.public).decode()}"

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError("a vkey is <name>+<hex key id>+<base64 key>")
        name, kid_hex, b64 = parts
        _check_name(name)
        try:
            raw = base64.b64decode(b64, validate=True)
            kid = bytes.fromhex(kid_hex)
        except (binascii.Error, ValueError) as exc:
            raise NoteError("vkey is not hex/base64") from exc
        if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1) or len(kid) != 4:
            raise NoteError("only Ed25519 note (0x01) and cosignature (0x04) keys are supported")
        verifier = cls(name, raw[1:], raw[0])
        if not hmac.compare_digest(verifier.key_id, kid):
            raise NoteError("vkey key id does not match its key")
        return verifier

    def _verify(self, signature: bytes, message: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def verify_line(self, body: str, sig: bytes) -> int | None:
        """Check one decoded signature (key id stripped) over ``body``; returns the cosignature time (0 for a
        plain note signature) or None."""
        if self.alg == ALG_ED25519:
            return 0 if len(sig) == 64 and self._verify(sig, body.encode()) else None
        if len(sig) != 72:
            return None
        (timestamp,) = struct.unpack(">Q", sig[:8])
        if timestamp >= 1 << 63:
            return None
        message = f"cosignature/v1\ntime {timestamp}\n{body}".encode()
        return timestamp if self._verify(sig[8:], message) else None


@dataclass(frozen=True)
class NoteSigner:
    name: str
    key: Ed25519PrivateKey
    alg: int = ALG_ED25519

    def __post_init__(self) -> None:
        _check_name(self.name)

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, _raw_public(self.key.public_key()), self.alg)

    def signature_line(self, body: str, *, timestamp: int = 0) -> str:
        if self.alg == ALG_ED25519:
            sig = self.key.sign(body.encode())
        else:
            message = f"cosignature/v1\ntime {timestamp}\n{body}".encode()
            sig = struct.pack(">Q", timestamp) + self.key.sign(message)
        return f"{SIG_PREFIX}{self.name} {base64.b64encode(self.verifier.key_id + sig).decode()}\n"


@dataclass(frozen=True)
class SignatureLine:
    name: str
    key_id: bytes
    signature: bytes
    text: str


def split_note(note: str) -> tuple[str, list[SignatureLine]]:
    """Split a signed note into its body (ending in a newline) and its signature lines (not yet verified)."""
    if len(note.encode()) > MAX_NOTE_BYTES:
        raise NoteError("note too large")
    pos = note.rfind("\n\n")
    if pos < 0 or not note.endswith("\n"):
        raise NoteError("a signed note is text, a blank line and signature lines, ending in a newline")
    body, sig_block = note[:pos + 1], note[pos + 2:]
    sigs: list[SignatureLine] = []
    for line in sig_block[:-1].split("\n"):
        if not line.startswith(SIG_PREFIX):
            raise NoteError("signature lines start with an em dash and a space")
        parts = line[len(SIG_PREFIX):].split(" ")
        if len(parts) != 2:
            raise NoteError("a signature line is '— <name> <base64>'")
        try:
            raw = base64.b64decode(parts[1], validate=True)
        except binascii.Error as exc:
            raise NoteError("signature is not base64") from exc
        if len(raw) < 5:
            raise NoteError("signature too short")
        sigs.append(SignatureLine(parts[0], raw[:4], raw[4:], line + "\n"))
    if not sigs or len(sigs) > MAX_SIGNATURES:
        raise NoteError("a signed note carries 1–100 signatures")
    return body, sigs


def verified_by(note: str, verifiers: list[NoteVerifier]) -> tuple[str, dict[str, int]]:
    """The note body and {verifier name: cosignature time} for every known verifier whose signature checks.
    A known key (name and id match) whose signature fails raises: a bad signature from a trusted key is not
    silently ignored."""
    body, sigs = split_note(note)
    ok: dict[str, int] = {}
    for line in sigs:
        for v in verifiers:
            if v.name == line.name and hmac.compare_digest(v.key_id, line.key_id):
                when = v.verify_line(body, line.signature)
                if when is None:
                    raise NoteError(f"signature by {v.name} does not verify", code="BAD_SIGNATURE")
                ok[v.name] = when
    return body, ok


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        ext = "".join(e + "\n" for e in self.extensions)
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n{ext}"

    @classmethod
    def parse_body(cls, body: str) -> Checkpoint:
        lines = body.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not lines[0]:
            raise NoteError("a checkpoint body is origin, size and root hash lines")
        size_text, root_text = lines[1], lines[2]
        if not size_text.isascii() or not size_text.isdigit() or (size_text != "0" and size_text[0] == "0"):
            raise NoteError("tree size must be a decimal without leading zeros")
        try:
            root = base64.b64decode(root_text, validate=True)
        except binascii.Error as exc:
            raise NoteError("root hash is not base64") from exc
        if len(root) != 32:
            raise NoteError("root hash must be 32 bytes")
        return cls(lines[0], int(size_text), root, tuple(lines[3:-1]))


def open_checkpoint(note: str, log_key: NoteVerifier, *, origin: str | None = None,
                    cosigners: list[NoteVerifier] | None = None) -> tuple[Checkpoint, dict[str, int]]:
    """Verify a checkpoint note's log signature (required) and any known cosignatures."""
    body, ok = verified_by(note, [log_key, *(cosigners or [])])
    if log_key.name not in ok:
        raise NoteError("checkpoint is not signed by the log key", code="BAD_SIGNATURE")
    cp = Checkpoint.parse_body(body)
    if cp.origin != (origin or log_key.name):
        raise NoteError(f"checkpoint origin {cp.origin!r} is not the log's", code="WRONG_ORIGIN")
    ok.pop(log_key.name)
    return cp, ok


def sign_checkpoint(cp: Checkpoint, signer: NoteSigner) -> str:
    body = cp.body()
    return body + "\n" + signer.signature_line(body)
