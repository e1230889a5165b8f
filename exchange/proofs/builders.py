"""Department data → the :class:`ProofDocument` printed on the page, driven by the proof type's catalogue entry.

The catalogue (``schemas/data/proof_types/*.json``) says which fields a proof has, their titles, which one is a
table and which values are sensitive; :class:`~exchange.proofs.datasource.HolderData` supplies the values. What
the catalogue cannot say — the sentence before the table, the result sentence, the "no record" wording — is in
:data:`WORDING`, one small entry per type (a type without an entry gets neutral wording).

Besides the document, :func:`build` returns the structured record (field name, title, value, sensitive) the
exchange stores encrypted and shows, masked as entitled, on the verification API and the public page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from exchange.kit.cntime import china_time, cn_datetime, normalise_dates
from schemas.catalogue import Catalogue, ProofField, ProofType
from schemas.identifiers import mask_citizen_id, mask_name

from .datasource import HolderData
from .document import ProofDocument, ProofTable

_ID_RE = re.compile(r"\d{17}[\dXx]")
local_time = china_time


@dataclass(frozen=True)
class Wording:
    body: Callable[[HolderData], tuple[str, ...]] = lambda _d: ()
    result: Callable[[HolderData], str] = lambda _d: "特此证明。"


def _realty_body(d: HolderData) -> tuple[str, ...]:
    if d.tables.get("records"):
        return ("经查询长沙市不动产登记信息系统，截至查询时点，申请人名下不动产登记信息如下：",)
    return ()


def _realty_result(d: HolderData) -> str:
    if d.tables.get("records"):
        return "以上为申请人名下全部不动产登记记录。"
    return f"{d.name}名下无不动产登记记录。"


WORDING: Mapping[str, Wording] = {
    "realty_query": Wording(body=_realty_body, result=_realty_result),
    "hpf_deposit": Wording(result=lambda d: "该职工在本中心缴存住房公积金，情况如上。"),
    "household_registration": Wording(body=lambda d: ("兹证明以上人员户籍登记信息属实。",)),
    "blood_donation_proof": Wording(
        body=lambda d: ("经查询湖南省献血信息管理系统，该同志无偿献血记录如下：",),
        result=lambda d: f"{d.name}累计无偿献血{d.fields.get('total_volume_ml', '')}毫升，特此证明。",
    ),
    "gov_data_query_sheet": Wording(
        body=lambda d: ("根据部门核验需要，经政务数据共享平台查询，结果如下：",),
        result=lambda d: "以上查询结果由各数据来源部门共享数据生成。",
    ),
    "no_criminal_record": Wording(
        body=lambda d: (f"兹证明{d.name}（公民身份号码见上）在我局辖区内，经查询，截至出具之日无犯罪记录。",)
    ),
    "lawyer_no_penalty": Wording(
        body=lambda d: (f"经查询，{d.name}律师自执业以来至出具之日，未受到司法行政机关行政处罚和律师协会行业处分。",)
    ),
}


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "—"


def _template_wording(pt: ProofType) -> Wording:
    """Wording from the proof type's catalogue ``template`` ({field} placeholders), or neutral wording."""
    t = pt.template
    if t is None:
        return Wording()

    def values(d: HolderData) -> _Values:
        return _Values({**{k: str(v) for k, v in d.fields.items()}, "name": d.name})

    return Wording(body=lambda d: tuple(b.format_map(values(d)) for b in t.body),
                   result=lambda d: t.result.format_map(values(d)))
#: The footer says how the proof came about: generated at once from department data, or issued after review.
FOOTERS: Mapping[str, str] = {
    "instant": "本证明由电子证照共享平台根据部门数据即时生成，加盖电子印章，与纸质证明具有同等效力。",
    "reviewed": "本证明经出具单位审核后出具，加盖电子印章，与纸质证明具有同等效力。",
}


@dataclass(frozen=True)
class BuiltProof:
    doc: ProofDocument  # without the QR (added when sealing)
    record: dict[str, Any]  # JSON-able: what the exchange stores and shows (masked as entitled)


def is_id_field(name: str) -> bool:
    return name == "id_number" or name.endswith("_id_number")


def mask_value(value: str, *, holder_name: str) -> str:
    """Public masking of one printed value: ID numbers and the holder's name masked, the rest starred."""
    if _ID_RE.fullmatch(value):
        return mask_citizen_id(value)
    if holder_name and holder_name in value:
        return value.replace(holder_name, mask_name(holder_name))
    if len(value) <= 2:
        return "*" * len(value)
    keep = min(3, len(value) // 3)
    return value[:keep] + "*" * 4


def _scalar_fields(pt: ProofType) -> list[ProofField]:
    return [f for f in pt.fields if not f.columns and f.name != "proof_no"]


def _table_field(pt: ProofType) -> ProofField | None:
    return next((f for f in pt.fields if f.columns), None)


def _extra_scalars(pt: ProofType, data: HolderData, at: datetime) -> dict[str, str]:
    """Values the exchange itself supplies (time and scope of a query), when the type declares the field."""
    names = {f.name for f in pt.fields}
    extra: dict[str, str] = {}
    if "queried_at" in names:
        extra["queried_at"] = cn_datetime(at)
    if "query_scope" in names:
        extra["query_scope"] = "长沙市内六区、望城区及长沙县不动产登记簿"
    if "no_record_statement" in names and not any(data.tables.values()):
        extra["no_record_statement"] = f"{data.name}名下无不动产登记记录。"
    return extra


def build(
    catalogue: Catalogue,
    pt: ProofType,
    data: HolderData,
    *,
    number: str,
    issued_at: datetime,
    produced_by: str,
    mask_id: bool = False,
) -> BuiltProof:
    """Lay ``data`` out as ``pt`` says. ``mask_id``: print ID numbers masked (when the purpose allows)."""
    if data.department_id not in pt.departments:
        raise ValueError(f"department {data.department_id} does not issue {pt.key}")
    issuer = catalogue.departments[data.department_id].name
    values = {**data.fields, **_extra_scalars(pt, data, issued_at)}

    def shown(name: str, value: str) -> str:
        if mask_id and is_id_field(name) and _ID_RE.fullmatch(value):
            return mask_citizen_id(value)
        return normalise_dates(value)  # one date/time format on the page, whatever the department sent

    holder_rows: list[tuple[str, str]] = []
    fields_out: list[dict[str, Any]] = [
        {"name": "proof_no", "title": "编号", "value": number, "sensitive": False}
    ]
    for f in _scalar_fields(pt):
        value = values.get(f.name)
        if value is None or value == "":
            continue
        printed = shown(f.name, value)
        if f.name != "no_record_statement":  # printed as the result sentence instead
            holder_rows.append((f.title, printed))
        fields_out.append({"name": f.name, "title": f.title, "value": printed, "sensitive": f.sensitive})

    table: ProofTable | None = None
    tables_out: dict[str, Any] = {}
    tf = _table_field(pt)
    if tf is not None:
        rows = data.tables.get(tf.name, ())
        printed_rows = [[shown(col.name, str(row.get(col.name, ""))) for col in tf.columns] for row in rows]
        if printed_rows:
            table = ProofTable.of([col.title for col in tf.columns], printed_rows)
        tables_out[tf.name] = {
            "title": tf.title,
            "columns": [{"name": c.name, "title": c.title, "sensitive": c.sensitive} for c in tf.columns],
            "rows": printed_rows,
        }

    wording = WORDING.get(pt.key) or _template_wording(pt)
    local = local_time(issued_at)
    doc = ProofDocument(
        title=pt.name,
        number=number,
        proof_type=pt.key,
        holder_rows=tuple(holder_rows),
        body=tuple(normalise_dates(p) for p in wording.body(data)),
        table=table,
        result_text=normalise_dates(wording.result(data)),
        notes=tuple(normalise_dates(n) for n in pt.notes),
        validity_note=f"本证明自出具之日起{pt.validity_days}日内有效，过期请重新申请。",
        extracted_by=data.extracted_by or issuer,
        produced_by=produced_by,
        extracted_at=local.replace(microsecond=0),
        issuer_name=issuer,
        issued_on=local.date(),
        seal_purpose=pt.seal_purpose,
        footer=FOOTERS[pt.mode],
    )
    record = {
        "type": pt.key,
        "type_name": pt.name,
        "number": number,
        "issuer": {"id": data.department_id, "name": issuer},
        "holder": {"name": data.name, "id_number": data.id_number},
        "fields": fields_out,
        "tables": tables_out,
        "result": doc.result_text,
        "id_masked_on_print": mask_id,
    }
    return BuiltProof(doc=doc, record=record)


_PERSON_FIELD_RE = re.compile(r"(?:^|_)(?:name|holder|holders|owner|owners|co_owners?|spouse|applicant|guardian"
                              r"|parent|father|mother|child|children|member|members|relative|householder)(?:_|$)")
_NOT_A_PERSON = ("employer", "firm", "company", "school", "unit", "department", "dept", "org", "issuer", "bank",
                 "hospital", "institution", "agency", "station", "type", "project", "matter", "hall")
_NAME_SEPARATORS_RE = re.compile(r"([、，,；;／/\s]+)")


def is_person_field(name: str) -> bool:
    """Whether a catalogue field or column holds people's names (the holder, a co-owner, a spouse, …)."""
    key = name.lower()
    if "id_number" in key or key.rsplit("_", 1)[-1] == "no":
        return False
    return bool(_PERSON_FIELD_RE.search(key)) and not any(word in key for word in _NOT_A_PERSON)


def mask_names(value: str) -> str:
    """Every name in a list of names masked the same way (``李建华、孙涛`` → ``李**、孙*``)."""
    parts = _NAME_SEPARATORS_RE.split(value)
    return "".join(p if _NAME_SEPARATORS_RE.fullmatch(p) or not p else mask_name(p) for p in parts)


def masked_record(record: Mapping[str, Any], *, mask_all: bool) -> dict[str, Any]:
    """The stored record with sensitive values masked (``mask_all``, for public pages: every person's name —
    the holder's, a co-owner's, a spouse's — and every ID number masked the same way too)."""
    name = str(record.get("holder", {}).get("name", ""))

    def m(value: str, sensitive: bool, field_name: str = "") -> str:
        if mask_all and field_name and is_person_field(field_name) and not _ID_RE.fullmatch(value):
            value = mask_names(value)
            return value
        if sensitive or (mask_all and (_ID_RE.fullmatch(value) or (name and name in value))):
            return mask_value(value, holder_name=name)
        return value

    fields = [{**f, "value": m(str(f["value"]), bool(f["sensitive"]), str(f.get("name", "")))}
              for f in record.get("fields", [])]
    tables = {}
    for key, t in record.get("tables", {}).items():
        cols = t["columns"]
        rows = [[m(str(cell), bool(col["sensitive"]), str(col.get("name", ""))) for cell, col in
                 zip(row, cols, strict=True)] for row in t["rows"]]
        tables[key] = {**t, "rows": rows}
    holder_id = str(record.get("holder", {}).get("id_number", ""))
    return {
        **{k: v for k, v in record.items() if k not in ("fields", "tables", "holder")},
        "holder": {"name": mask_name(name) if mask_all else name, "id_number": mask_citizen_id(holder_id)},
        "result": m(str(record.get("result", "")), False),
        "fields": fields,
        "tables": tables,
    }


def with_english_titles(record: dict[str, Any], pt: ProofType | None) -> dict[str, Any]:
    """``record`` with ``title_en`` beside each field's and column's title (from the catalogue), so an English
    page shows English labels; the values stay as the department recorded them."""
    if pt is None:
        return record
    titles = {f.name: f.title_en for f in pt.fields}
    columns = {(f.name, c.name): c.title_en for f in pt.fields for c in f.columns}
    fields = [{**f, "title_en": titles.get(str(f.get("name")), f.get("title"))} for f in record.get("fields", [])]
    tables = {key: {**t, "title_en": titles.get(key, t.get("title")),
                    "columns": [{**c, "title_en": columns.get((key, c.get("name")), c.get("title"))}
                                for c in t.get("columns", [])]}
              for key, t in record.get("tables", {}).items()}
    return {**record, "fields": fields, "tables": tables}
