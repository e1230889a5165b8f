"""Data-driven identifier tests over tests/vectors/identifiers/*.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from schemas.identifiers import (
    IdentifierError,
    mod37_36_check,
    parse_citizen_id,
    parse_licence_identifier,
    validate_marriage_cert_no,
    validate_realty_unit_number,
    validate_teacher_cert_no,
    validate_uscc,
)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "identifiers"

CODECS: dict[str, Callable[[str], Any]] = {
    "citizen_id": parse_citizen_id,
    "uscc": validate_uscc,
    "licence_identifier": parse_licence_identifier,
    "mod37_36": mod37_36_check,
    "realty_unit": validate_realty_unit_number,
    "marriage_cert": validate_marriage_cert_no,
    "teacher_cert": validate_teacher_cert_no,
}


def _cases() -> list[Any]:
    out = []
    for path in sorted(VECTORS.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc["codec"] in CODECS, f"{path.name}: unknown codec"
        for i, case in enumerate(doc["cases"]):
            out.append(pytest.param(doc["codec"], case, id=f"{path.stem}-{i}-{case.get('error', 'ok')}"))
    return out


def test_vector_files_present() -> None:
    names = {p.stem for p in VECTORS.glob("*.json")}
    assert {"citizen_id", "uscc", "licence_identifier", "mod37_36"} <= names


@pytest.mark.parametrize(("codec", "case"), _cases())
def test_vector(codec: str, case: dict[str, Any]) -> None:
    fn = CODECS[codec]
    if case.get("valid"):
        result = fn(case["input"])
        expect: dict[str, Any] = dict(case.get("expect", {}))
        expect.pop("note", None)
        if not expect:
            return
        if is_dataclass(result) and not isinstance(result, type):
            got = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(result).items()}
            for k, v in expect.items():
                assert got[k] == v, k
        elif "value" in expect:
            assert result == expect["value"]
        elif "check" in expect:
            assert result == expect["check"]
    else:
        with pytest.raises(IdentifierError) as info:
            fn(case["input"])
        assert info.value.code == case["error"], case["note"]
        assert info.value.field
