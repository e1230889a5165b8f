"""The demo departments' registers (``data/registers.json``): what each department's system says about a person
for the proof types and department checks (部门核验) that the hand-written system of record does not model.

Entries are keyed by persona index (:data:`issuers.demo.PERSONAS`); ``"*"`` answers for any other known
citizen. A type or check with no entry for the person means the department holds nothing (no proof / "no").
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

DATA_FILE: Final = Path(__file__).resolve().parent / "data" / "registers.json"


@dataclass(frozen=True)
class RegisterEntry:
    department_id: str
    extracted_by: str
    fields: Mapping[str, str]
    tables: Mapping[str, list[dict[str, str]]]


@dataclass(frozen=True)
class CheckAnswer:
    """A department's answer to a check: ``result`` yes/no and a short ``detail`` from its ``source`` system."""

    check: str
    name: str
    department_id: str
    source: str
    result: bool
    detail: str


@functools.cache
def _load(path: Path = DATA_FILE) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _entry(holders: Mapping[str, Any], persona: int | None) -> Any:
    if persona is not None and str(persona) in holders:
        return holders[str(persona)]
    return holders.get("*")


def proof_types() -> frozenset[str]:
    return frozenset(_load()["proofs"])


def check_keys() -> frozenset[str]:
    return frozenset(_load()["checks"])


def proof_entry(proof_type: str, persona: int | None) -> RegisterEntry | None:
    reg = _load()["proofs"].get(proof_type)
    if reg is None:
        return None
    e = _entry(reg["holders"], persona)
    if e is None:
        return None
    return RegisterEntry(reg["department"], reg["extracted_by"], dict(e.get("fields", {})),
                         {k: list(v) for k, v in e.get("tables", {}).items()})


def check(check_key: str, persona: int | None) -> CheckAnswer | None:
    """The department's answer, or None for an unknown check. An unknown person is a "no"."""
    spec = _load()["checks"].get(check_key)
    if spec is None:
        return None
    e = _entry(spec["holders"], persona) or {"result": False, "detail": "未查询到相关记录"}
    return CheckAnswer(check_key, spec["name"], spec["department"], spec["source"], bool(e["result"]),
                       str(e["detail"]))
