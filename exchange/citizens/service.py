"""What a signed-in citizen sees of their own data: licences (sensitive fields masked) and the usage log.

Masking (server-side, catalogue ``sensitive`` fields): citizen ID numbers ``4301**********1234``; other
identifier codes keep their first and last 4 characters; dates keep the year (``1978-**-**``); binary fields
(the ID photo) are withheld (``value`` null); other text keeps its first third (at most 6 characters) and
stars the rest. Non-sensitive fields are shown as they are: it is the citizen's own licence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from schemas.catalogue import LicenceType
from schemas.identifiers import mask_citizen_id
from verifier.errors import MalformedInput
from verifier.sdjwt import parse_sd_jwt, unpack

from ..auth.citizen import CitizenSession
from ..context import AppContext
from ..kit.errors import InvalidInput
from ..licences import service as licence_service
from ..licences.service import credential_of, effective_status
from ..usage import service as usage


def mask_value(schema: Mapping[str, Any], value: Any) -> Any:
    if value is None:
        return None
    if "contentEncoding" in schema or "contentMediaType" in schema:
        return None
    text = value if isinstance(value, str) else str(value)
    ident = schema.get("x-identifier")
    if ident == "citizen_id":
        return mask_citizen_id(text)
    if ident is not None:
        return text[:4] + "*" * max(len(text) - 8, 0) + text[-4:] if len(text) >= 12 else "*" * len(text)
    if schema.get("format") == "date" and len(text) == 10:
        return text[:4] + "-**-**"
    keep = min(len(text) // 3, 6)
    return text[:keep] + "*" * max(len(text) - keep, 1)


def licence_view(lt: LicenceType, disclosed: Mapping[str, Any], *, issuer: str, licence_id: str, status: str,
                 valid_until: str | None) -> dict[str, Any]:
    fields = []
    for name, schema in lt.properties.items():
        if name not in disclosed:
            continue
        sensitive = name in lt.sensitive
        fields.append({"name": name, "title": lt.title(name), "title_en": lt.title(name, "en"),
                       "value": mask_value(schema, disclosed[name]) if sensitive else disclosed[name],
                       "masked": sensitive})
    return {"licence_id": licence_id, "type": lt.key, "type_name": lt.name, "issuer": issuer, "status": status,
            "valid_until": valid_until, "fields": fields}


def list_my_licences(ctx: AppContext, session: Session, caller: CitizenSession) -> list[dict[str, Any]]:
    out = []
    by_code = {lt.code: lt for lt in ctx.catalogue.licence_types.values()}
    for row in licence_service.for_holder(session, caller.holder_hash):
        lt = by_code.get(row.type_code)
        if lt is None:
            continue
        try:
            disclosed = unpack(parse_sd_jwt(credential_of(row, ctx.protector))).disclosed
        except MalformedInput:
            disclosed = {}
        dept = ctx.catalogue.departments.get(row.department_id)
        out.append(licence_view(lt, disclosed, issuer=dept.name if dept else row.department_id,
                                licence_id=row.licence_id, status=effective_status(row),
                                valid_until=row.valid_until.isoformat() if row.valid_until else None))
    return out


#: The largest usage-log sequence number a query may name (a 32-bit signed column on PostgreSQL).
MAX_SEQ = 2_147_483_647


def list_usage(ctx: AppContext, session: Session, caller: CitizenSession, *, limit: int = 100,
               before_seq: int | None = None) -> list[dict[str, Any]]:
    if not 1 <= limit <= 500:
        raise InvalidInput("limit must be 1–500", field="limit")
    if before_seq is not None and not 1 <= before_seq <= MAX_SEQ:
        raise InvalidInput(f"before_seq must be 1–{MAX_SEQ}", field="before_seq")
    out = []
    for view in usage.views(session, usage.list_for_holder(session, caller.holder_hash, limit=limit,
                                                           before_seq=before_seq)):
        matter = ctx.catalogue.matters.get(view["matter"]) if view["matter"] else None
        view["matter_name"] = matter.name if matter else None
        view["matter_name_en"] = (matter.name_en or matter.name) if matter else None
        out.append(view)
    return out


def export_usage(ctx: AppContext, session: Session, caller: CitizenSession, *,
                 consistency_from: list[int] | None = None) -> dict[str, Any]:
    """My usage log with inclusion proofs and the signed checkpoint, for `licex log verify` (offline)."""
    if consistency_from and (len(consistency_from) > 8 or min(consistency_from) < 1
                             or max(consistency_from) > 2**62):
        raise InvalidInput("consistency_from: up to 8 positive tree sizes", field="consistency_from")
    return usage.export_for_holder(session, caller.holder_hash, retention_days=ctx.settings.usage_retention_days,
                                   consistency_from=consistency_from)
