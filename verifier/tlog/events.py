"""Usage-event commitments and offline checking of a citizen's exported usage log (用证记录).

The public log holds, per event, only ``leaf_input`` = SHA-256(``licex-usage/v1\\n`` ‖ salt ‖ canonical event):
without the 32-byte random salt (which only the citizen receives) the log reveals nothing about the event. The
canonical event is the JSON object of :data:`COMMITTED_FIELDS`, keys sorted, no whitespace, UTF-8.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from schemas.canonical import canonical_json

from .merkle import leaf_hash, verify_consistency, verify_inclusion
from .note import Checkpoint, NoteError, NoteVerifier, open_checkpoint

DOMAIN = b"licex-usage/v1\n"
SALT_BYTES = 32
COMMITTED_FIELDS = ("holder", "at", "action", "outcome", "actor_kind", "actor", "place", "matter", "subject")


def committed_event(view: dict[str, Any]) -> dict[str, Any]:
    return {k: view.get(k) for k in COMMITTED_FIELDS}


def commitment(event: dict[str, Any], salt: bytes) -> bytes:
    if len(salt) != SALT_BYTES:
        raise ValueError("salt must be 32 bytes")
    return hashlib.sha256(DOMAIN + salt + canonical_json(committed_event(event))).digest()


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} missing")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"{what} is not base64") from exc


@dataclass
class ExportReport:
    checkpoint: Checkpoint | None = None
    verified: int = 0
    pending: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.checkpoint is not None


def verify_export(export: dict[str, Any], log_key: NoteVerifier, *, trusted: list[str] | None = None,
                  previous: dict[str, Any] | None = None) -> ExportReport:
    """Check an export from ``GET /api/v1/citizen/usage/export``: the checkpoint's signature, every event's
    commitment and inclusion proof, consistency with each ``trusted`` checkpoint note (e.g. one a witness
    cosigned, or one saved earlier), and — with ``previous`` (an earlier export) — that no event seen before
    and still within retention has disappeared or changed."""
    report = ExportReport()
    try:
        cp, _ = open_checkpoint(str(export.get("checkpoint", "")), log_key)
    except NoteError as exc:
        report.problems.append(f"checkpoint: {exc}")
        return report
    report.checkpoint = cp
    consistency = export.get("consistency") or {}
    for note in trusted or []:
        try:
            ref, _ = open_checkpoint(note, log_key)
        except NoteError as exc:
            report.problems.append(f"trusted checkpoint: {exc}")
            continue
        if ref.size > cp.size:
            report.problems.append(f"ROLLBACK: export checkpoint size {cp.size} is older than a trusted "
                                   f"checkpoint of size {ref.size}")
        elif ref.size == cp.size:
            if not hmac.compare_digest(ref.root, cp.root):
                report.problems.append(f"FORK: two different roots for tree size {cp.size}")
        else:
            proof = consistency.get(str(ref.size))
            if proof is None:
                report.problems.append(f"no consistency proof from size {ref.size} in the export")
            elif not verify_consistency(ref.size, cp.size, [_b64(p, "proof") for p in proof], ref.root, cp.root):
                report.problems.append(f"FORK: checkpoint {cp.size} is not consistent with trusted {ref.size}")
    events = export.get("events")
    if not isinstance(events, list):
        report.problems.append("export has no event list")
        return report
    seen: dict[int, bytes] = {}
    for pos, ev in enumerate(events):
        if not isinstance(ev, dict):
            report.problems.append(f"event {pos}: not an object")
            continue
        log = ev.get("log") or {}
        index = log.get("index")
        if index is None:
            report.pending += 1
            continue
        try:
            leaf = _b64(log.get("leaf_input"), "leaf_input")
            salt = _b64((ev.get("opening") or {}).get("salt"), "salt")
            recomputed = commitment(ev, salt)
            proof = [_b64(p, "proof") for p in log.get("inclusion") or []]
        except (ValueError, TypeError) as exc:
            report.problems.append(f"event {pos}: {exc}")
            continue
        if not hmac.compare_digest(recomputed, leaf):
            report.problems.append(f"REWRITTEN: event at index {index} does not match its commitment")
            continue
        if not isinstance(index, int) or not verify_inclusion(leaf_hash(leaf), index, cp.size, proof, cp.root):
            report.problems.append(f"NOT_INCLUDED: event at index {index} is not in checkpoint {cp.size}")
            continue
        seen[index] = leaf
        report.verified += 1
    if previous is not None:
        horizon = str(export.get("retained_since") or "")
        for ev in previous.get("events") or []:
            log = ev.get("log") or {} if isinstance(ev, dict) else {}
            index = log.get("index")
            if not isinstance(index, int):
                continue
            if str(ev.get("at", "")) < horizon:
                continue  # expired under the published retention period
            if index not in seen:
                report.problems.append(f"DELETED: event at index {index} seen before is missing")
            elif not hmac.compare_digest(seen[index], _b64(log.get("leaf_input"), "leaf_input")):
                report.problems.append(f"REWRITTEN: event at index {index} changed since the earlier export")
    return report
