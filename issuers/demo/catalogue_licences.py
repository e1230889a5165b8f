"""Licences made from the catalogue itself: the face fields come from the licence type's JSON Schema.

For the licence types the hand-written system of record (:mod:`issuers.demo`) does not model, a demo
licence's face is: the holder's identity (``holder_code_field``, ``holder_name_field``, and ``sex`` /
``birth_date`` / ``ethnicity`` when the type has them) from the person or organisation, and every other field
from the first of the field's JSON Schema ``examples`` (the catalogue data). Which persona holds which type is
data too: ``data/holdings.json``. A type without examples for a required field cannot be made (``ValueError``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any, Final

from schemas.catalogue import Catalogue, LicenceType

DATA_DIR: Final = Path(__file__).resolve().parent / "data"


def holdings(path: Path | None = None) -> tuple[dict[int, tuple[str, ...]], dict[int, tuple[str, ...]]]:
    """(persona index → licence type keys held in person, persona index → types held by their organisation)."""
    raw = json.loads((path or DATA_DIR / "holdings.json").read_text(encoding="utf-8"))
    persons = {int(k): tuple(v) for k, v in raw["persons"].items()}
    orgs = {int(k): tuple(v) for k, v in raw["organisations"].items()}
    return persons, orgs


def _unique_no(example: str, salt: str, prop: Mapping[str, Any]) -> str:
    """The example licence number with its last digits replaced by digits derived from the holder, so two
    holders never share a number; kept only if it still matches the field's pattern."""
    digits = re.search(r"[0-9]{4,}(?=[^0-9]*$)", example)
    if digits is None:
        return example
    n = len(digits.group(0))
    sub = str(int(hashlib.sha256(salt.encode()).hexdigest(), 16))[-min(n, 6):].rjust(min(n, 6), "0")
    candidate = example[: digits.end() - len(sub)] + sub + example[digits.end():]
    pattern = prop.get("pattern")
    if isinstance(pattern, str) and not re.fullmatch(pattern.strip("^$"), candidate):
        return example
    return candidate


def face_fields(lt: LicenceType, identity: Mapping[str, Any]) -> dict[str, Any]:
    """The face of a ``lt`` licence: ``identity`` values where the type has such fields, examples elsewhere."""
    out: dict[str, Any] = {}
    for name, prop in lt.properties.items():
        if name in identity:
            out[name] = identity[name]
            continue
        examples = prop.get("examples")
        if isinstance(examples, list) and examples:
            out[name] = examples[0]
        elif name in lt.required_fields:
            raise ValueError(f"{lt.key}.{name}: required, but neither an identity value nor an example")
    no = lt.licence_no_field
    if no not in identity and isinstance(out.get(no), str):
        out[no] = _unique_no(out[no], f"{lt.key}:{identity.get(lt.holder_code_field, '')}", lt.properties[no])
    return out


def person_identity(lt: LicenceType, *, id_number: str, name: str, sex: str, birth: date,
                    ethnicity: str) -> dict[str, Any]:
    ident: dict[str, Any] = {lt.holder_code_field: id_number, lt.holder_name_field: name}
    for field, value in (("sex", sex), ("birth_date", birth.isoformat()), ("ethnicity", ethnicity)):
        if field in lt.properties:
            ident[field] = value
    return ident


def org_identity(lt: LicenceType, *, uscc: str, name: str, legal_representative: str,
                 legal_representative_id: str) -> dict[str, Any]:
    ident: dict[str, Any] = {lt.holder_code_field: uscc, lt.holder_name_field: name}
    if "legal_representative" in lt.properties:
        ident["legal_representative"] = legal_representative
    for field, prop in lt.properties.items():
        if prop.get("x-identifier") == "citizen_id":
            ident[field] = legal_representative_id
    return ident


def plan(catalogue: Catalogue, handled: frozenset[str]) -> Iterator[tuple[str, int, bool]]:
    """(licence type key, persona index, held by the persona's organisation?) for every catalogue-made licence.

    Raises ``ValueError`` if ``holdings.json`` names a type the catalogue lacks or one :mod:`issuers.demo`
    already makes (``handled``)."""
    persons, orgs = holdings()
    for table, is_org in ((persons, False), (orgs, True)):
        for index, keys in sorted(table.items()):
            for key in keys:
                if key not in catalogue.licence_types or key in handled:
                    raise ValueError(f"holdings.json: {key!r} is not a catalogue-made licence type")
                yield key, index, is_org
