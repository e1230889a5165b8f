"""What a department signs: an unsigned licence (:class:`LicenceDraft`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = ["LicenceDraft"]


@dataclass(frozen=True, slots=True)
class LicenceDraft:
    """An unsigned licence: what a department's :class:`issuers.department.DepartmentSigner` signs.

    ``fields`` are the face fields and match the catalogue type's JSON Schema; ``valid_until`` None = 长期.
    Do not mutate ``fields``."""

    type_key: str
    department_id: str
    holder_code: str
    holder_name: str
    licence_no: str
    serial: str
    fields: dict[str, Any] = field(hash=False)
    issued_on: date
    valid_from: date
    valid_until: date | None
