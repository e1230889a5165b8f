"""The catalogue: departments, licence types (GB/T 36902 catalogue entries), service matters and proof types.

Everything lives in data files under ``schemas/data/``; adding a licence type, matter or proof type is
adding a JSON file, no code::

    departments.json               a JSON list of departments
    licence_types/<key>.json       one licence type each; ``fields`` is a JSON Schema (draft 2020-12)
    matters/<key>.json             one service matter each
    proof_types/<key>.json         one proof type each

:func:`load_catalogue` reads and cross-checks them all and raises :class:`CatalogueError` naming the file at
fault.  The models are frozen pydantic v2 models.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal, TypeVar

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from schemas.dates import add_years, age_on
from schemas.fastcheck import FastCheck, compile_fast_check
from schemas.identifiers import (
    IdentifierError,
    parse_citizen_id,
    validate_marriage_cert_no,
    validate_realty_unit_number,
    validate_teacher_cert_no,
    validate_uscc,
)

__all__ = [
    "DEFAULT_DATA_DIR",
    "IDENTIFIER_CODECS",
    "RESERVED_FIELD_NAMES",
    "SATISFACTION_MODES",
    "AgeBandValidity",
    "Authority",
    "Catalogue",
    "CatalogueError",
    "Commitment",
    "Department",
    "DepartmentCheck",
    "FieldProblem",
    "LicenceType",
    "LongTermValidity",
    "Material",
    "MaterialAlternative",
    "Matter",
    "ProofField",
    "ProofTemplate",
    "ProofType",
    "UntilFieldValidity",
    "Validity",
    "YearsValidity",
    "load_catalogue",
]

DEFAULT_DATA_DIR: Final = Path(__file__).resolve().parent / "data"

#: Names a licence face field may not use: they are metadata/claim names in the SD-JWT VC and registry.
RESERVED_FIELD_NAMES: Final[frozenset[str]] = frozenset(
    [
        "iss",
        "iat",
        "nbf",
        "exp",
        "vct",
        "cnf",
        "status",
        "licence_id",
        "licence_type",
        "licence_name",
        "licence_no",
        "version",
        "issuer",
        "issued_on",
        "valid_from",
        "valid_until",
        "jurisdiction",
        "holder_code_type",
        "holder_name",
        "holder_code",
        "_sd",
        "_sd_alg",
    ]
)

#: ``x-identifier`` keyword values and the codec each runs (value, field) -> normalised value.
IDENTIFIER_CODECS: Final[Mapping[str, Callable[[str, str], object]]] = MappingProxyType(
    {
        "citizen_id": lambda v, f: parse_citizen_id(v, field=f),
        "uscc": lambda v, f: validate_uscc(v, field=f),
        "realty_unit": lambda v, f: validate_realty_unit_number(v, field=f),
        "marriage_cert": lambda v, f: validate_marriage_cert_no(v, field=f),
        "teacher_cert": lambda v, f: validate_teacher_cert_no(v, field=f),
    }
)

#: Values of an ``until_field`` validity field that mean "no end date".
LONG_TERM_WORDS: Final = frozenset({"长期", "long_term"})

_SLUG_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
_FIELD_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
_DRAFT_2020_12: Final = "https://json-schema.org/draft/2020-12/schema"
_M = TypeVar("_M", bound=BaseModel)


class CatalogueError(ValueError):
    """A catalogue data file is invalid.  ``file`` is its path relative to the data directory."""

    code: Final = "BAD_CATALOGUE"

    def __init__(self, message: str, *, file: str | None = None) -> None:
        super().__init__(f"{file}: {message}" if file else message)
        self.file = file


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One problem with a licence's face fields.  ``code`` is stable: MISSING, UNKNOWN_FIELD, BAD_TYPE,
    BAD_LENGTH, BAD_PATTERN, BAD_FORMAT, BAD_VALUE, OUT_OF_RANGE, BAD_ENCODING, BAD_MEDIA_TYPE, INVALID, or an
    :class:`~schemas.identifiers.IdentifierError` code (BAD_CHECK_DIGIT, BAD_DATE, …).  Messages never echo
    the value."""

    field: str
    code: str
    message: str


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _slug(v: str) -> str:
    if not _SLUG_RE.fullmatch(v):
        raise ValueError(f"{v!r} is not a lower-case slug ([a-z][a-z0-9_]*)")
    return v


Slug = Annotated[str, Field(min_length=1, max_length=64)]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class Authority(_Model):
    """A defining authority (定义机构), e.g. 公安部."""

    name: Text
    name_en: Text
    uscc: str

    @field_validator("uscc")
    @classmethod
    def _uscc(cls, v: str) -> str:
        return validate_uscc(v, field="uscc")


class DepartmentSpec(_Model):
    """A department as written in ``departments.json``."""

    id: Slug
    name: Text
    name_en: Text
    uscc: str
    kind: Literal["agency", "institution"]
    division: Annotated[str, Field(pattern=r"^[0-9]{6}$")]

    _id = field_validator("id")(_slug)

    @field_validator("uscc")
    @classmethod
    def _uscc(cls, v: str) -> str:
        return validate_uscc(v, field="uscc")


class Department(DepartmentSpec):
    """A department.  ``may_issue`` (licence type keys) is derived from the licence types'
    ``issuing_departments`` and cannot be set in the data file."""

    may_issue: tuple[str, ...] = ()


class LongTermValidity(_Model):
    rule: Literal["long_term"]


class YearsValidity(_Model):
    rule: Literal["years"]
    years: Annotated[int, Field(ge=1, le=100)]


class AgeBandValidity(_Model):
    """居民身份证 rule: age at issue < 16 → 5 years, 16–25 → 10, 26–45 → 20, ≥ 46 → long-term.

    The birth date comes from ``birth_field`` (ISO date) if set, else from the holder's citizen ID number.
    """

    rule: Literal["age_band"]
    birth_field: str | None = None


class UntilFieldValidity(_Model):
    """Valid until the date in face field ``field`` (ISO date, or 长期 = no end)."""

    rule: Literal["until_field"]
    field: str


Validity = Annotated[
    LongTermValidity | YearsValidity | AgeBandValidity | UntilFieldValidity, Field(discriminator="rule")
]


_SCHEMA_CODES: Final = {
    "type": "BAD_TYPE",
    "maxLength": "BAD_LENGTH",
    "minLength": "BAD_LENGTH",
    "maxItems": "BAD_LENGTH",
    "minItems": "BAD_LENGTH",
    "pattern": "BAD_PATTERN",
    "format": "BAD_FORMAT",
    "enum": "BAD_VALUE",
    "const": "BAD_VALUE",
    "minimum": "OUT_OF_RANGE",
    "maximum": "OUT_OF_RANGE",
    "exclusiveMinimum": "OUT_OF_RANGE",
    "exclusiveMaximum": "OUT_OF_RANGE",
    "multipleOf": "OUT_OF_RANGE",
}


def _schema_message(err: ValidationError) -> str:
    kw, val = err.validator, err.validator_value
    if kw == "type":
        return f"must be of type {val}"
    if kw in ("maxLength", "maxItems"):
        return f"longer than {val}"
    if kw in ("minLength", "minItems"):
        return f"shorter than {val}"
    if kw == "pattern":
        return "does not match the expected pattern"
    if kw == "format":
        return f"not a valid {val}"
    if kw in ("enum", "const"):
        return f"must be one of {val!r}" if kw == "enum" else f"must be {val!r}"
    if kw in ("minimum", "exclusiveMinimum"):
        return f"below the minimum {val}"
    if kw in ("maximum", "exclusiveMaximum"):
        return f"above the maximum {val}"
    return f"fails the {kw} constraint"


def _meta_check_property(name: str, prop: Any, where: str) -> list[str]:
    errs: list[str] = []
    if not isinstance(prop, dict):
        return [f"{where}: property schema must be an object"]
    types = prop.get("type")
    type_list = types if isinstance(types, list) else [types]
    if types is None:
        errs.append(f"{where}: 'type' is required")
    if "object" in type_list:
        errs.append(f"{where}: nested objects are not supported on a licence face")
    if "string" in type_list and not isinstance(prop.get("maxLength"), int):
        errs.append(f"{where}: a string needs maxLength")
    if "array" in type_list:
        if not isinstance(prop.get("maxItems"), int):
            errs.append(f"{where}: an array needs maxItems")
        items = prop.get("items")
        if not isinstance(items, dict):
            errs.append(f"{where}: an array needs an 'items' schema")
        else:
            errs += [
                e for e in _meta_check_property(name, {"title": "-", "title_en": "-", **items}, where + "[]")
            ]
    ident = prop.get("x-identifier")
    if ident is not None and (ident not in IDENTIFIER_CODECS or type_list != ["string"]):
        errs.append(f"{where}: x-identifier must be one of {sorted(IDENTIFIER_CODECS)} on a string")
    return errs


class LicenceType(_Model):
    """A licence type (证照类型).

    ``code`` is the GB/T 36904 type code: the defining authority's USCC + 3 digits."""

    code: Annotated[str, Field(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}[0-9]{3}$")]
    key: Slug
    name: Text
    name_en: Text
    defining_authority: Authority
    issuing_departments: Annotated[tuple[Slug, ...], Field(min_length=1)]
    holder_kind: Literal["person", "organisation"]
    holder_code_type: Literal["111", "001"]
    holder_code_field: str
    holder_name_field: str
    licence_no_field: str
    validity: Validity
    fields: dict[str, Any]
    sensitive: tuple[str, ...] = ()

    _validator: Draft202012Validator = PrivateAttr()
    _fast_check: FastCheck | None = PrivateAttr(default=None)
    _key = field_validator("key")(_slug)

    @model_validator(mode="after")
    def _consistent(self) -> LicenceType:
        if self.code[:18] != self.defining_authority.uscc:
            raise ValueError("code must start with the defining authority's USCC")
        if (self.holder_kind, self.holder_code_type) not in (("person", "111"), ("organisation", "001")):
            raise ValueError("holder_code_type must be 111 for a person and 001 for an organisation")
        schema = self.fields
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            raise ValueError(f"fields is not a valid JSON Schema: {exc.message}") from None
        errs: list[str] = []
        if schema.get("$schema", _DRAFT_2020_12) != _DRAFT_2020_12:
            errs.append(f"fields.$schema must be {_DRAFT_2020_12}")
        if schema.get("type") != "object":
            errs.append("fields.type must be 'object'")
        if schema.get("additionalProperties") is not False:
            errs.append("fields.additionalProperties must be false")
        props = schema.get("properties")
        if not isinstance(props, dict) or not props:
            raise ValueError("; ".join([*errs, "fields.properties must be a non-empty object"]))
        for name, prop in props.items():
            where = f"fields.properties.{name}"
            if not _FIELD_RE.fullmatch(name):
                errs.append(f"{where}: field names are ASCII snake_case")
            if name in RESERVED_FIELD_NAMES:
                errs.append(f"{where}: {name!r} is a reserved name")
            if isinstance(prop, dict):
                for k in ("title", "title_en"):
                    if not isinstance(prop.get(k), str) or not prop.get(k):
                        errs.append(f"{where}: {k} is required")
            errs += _meta_check_property(name, prop, where)
        for name in schema.get("required", []):
            if name not in props:
                errs.append(f"fields.required: {name!r} is not a property")
        refs = {
            "holder_code_field": self.holder_code_field,
            "holder_name_field": self.holder_name_field,
            "licence_no_field": self.licence_no_field,
        }
        if isinstance(self.validity, UntilFieldValidity):
            refs["validity.field"] = self.validity.field
        if isinstance(self.validity, AgeBandValidity) and self.validity.birth_field:
            refs["validity.birth_field"] = self.validity.birth_field
        refs.update({f"sensitive[{i}]": s for i, s in enumerate(self.sensitive)})
        for what, name in refs.items():
            if name not in props:
                errs.append(f"{what}: {name!r} is not a field")
        want = "citizen_id" if self.holder_code_type == "111" else "uscc"
        holder = props.get(self.holder_code_field)
        if isinstance(holder, dict) and holder.get("x-identifier") != want:
            errs.append(f"holder_code_field must carry x-identifier {want!r}")
        required = set(schema.get("required", []))
        for what in ("holder_code_field", "holder_name_field", "licence_no_field"):
            if refs[what] in props and refs[what] not in required:
                errs.append(f"{what}: {refs[what]!r} must be required")
        if errs:
            raise ValueError("; ".join(errs))
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._validator = Draft202012Validator(
            self.fields, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        self._fast_check = compile_fast_check(self.fields)

    # -- reading ---------------------------------------------------------------------------------------------
    @property
    def properties(self) -> Mapping[str, Mapping[str, Any]]:
        """Face field name → its JSON Schema."""
        props: dict[str, Mapping[str, Any]] = self.fields["properties"]
        return MappingProxyType(props)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(self.fields["properties"])

    @property
    def required_fields(self) -> tuple[str, ...]:
        return tuple(self.fields.get("required", ()))

    def title(self, field: str, lang: Literal["zh", "en"] = "zh") -> str:
        """The display title of a face field (Chinese by default)."""
        prop = self.properties[field]
        return str(prop["title"] if lang == "zh" else prop["title_en"])

    # -- checking --------------------------------------------------------------------------------------------
    def validate_fields(self, fields: Mapping[str, Any]) -> list[FieldProblem]:
        """All problems with a licence's face fields: JSON Schema, then the ``x-identifier`` codecs and
        base64 / JPEG content of ``contentEncoding``/``contentMediaType`` fields.  Empty list = valid."""
        if not isinstance(fields, Mapping):
            return [FieldProblem("", "BAD_TYPE", "fields must be an object")]
        instance = dict(fields)
        problems: list[FieldProblem] = []
        failed: set[str] = set()
        props = self.fields["properties"]
        private = self.__pydantic_private__ or {}  # one slot read (``self._fast_check`` goes through __getattr__)
        fast = private.get("_fast_check")
        schema_errors = [] if fast is not None and fast(instance) else self._validator.iter_errors(instance)
        for err in sorted(schema_errors, key=lambda e: list(e.absolute_path)):
            if err.validator == "required":
                for name in err.validator_value:
                    if name not in instance and name not in failed:
                        problems.append(FieldProblem(name, "MISSING", "required field is missing"))
                        failed.add(name)
            elif err.validator == "additionalProperties":
                for name in sorted(set(instance) - set(props) - failed):
                    problems.append(FieldProblem(name, "UNKNOWN_FIELD", "not a field of this licence type"))
                    failed.add(name)
            else:
                name = str(err.absolute_path[0]) if err.absolute_path else ""
                code = _SCHEMA_CODES.get(str(err.validator), "INVALID")
                problems.append(FieldProblem(name, code, _schema_message(err)))
                failed.add(name)
        for name, prop in props.items():
            value = instance.get(name)
            if name in failed or not isinstance(value, str):
                continue
            ident = prop.get("x-identifier")
            if ident is not None:
                try:
                    IDENTIFIER_CODECS[ident](value, name)
                except IdentifierError as exc:
                    problems.append(FieldProblem(name, exc.code, exc.detail))
            if prop.get("contentEncoding") == "base64":
                try:
                    raw = base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    problems.append(FieldProblem(name, "BAD_ENCODING", "not valid base64"))
                    continue
                if prop.get("contentMediaType") == "image/jpeg" and not raw.startswith(b"\xff\xd8\xff"):
                    problems.append(FieldProblem(name, "BAD_MEDIA_TYPE", "not a JPEG image"))
        return problems

    def validity_until(self, issue_date: date, fields: Mapping[str, Any]) -> date | None:
        """Last day of validity of a licence issued on ``issue_date`` with these fields; None = long-term.

        Raises ``ValueError`` if a field the rule needs is missing or malformed.
        """
        v = self.validity
        if isinstance(v, LongTermValidity):
            return None
        if isinstance(v, YearsValidity):
            return add_years(issue_date, v.years)
        if isinstance(v, AgeBandValidity):
            if v.birth_field:
                birth = _date_field(fields, v.birth_field)
            else:
                birth = parse_citizen_id(
                    str(fields.get(self.holder_code_field, "")), field=self.holder_code_field
                ).birth
            age = age_on(birth, issue_date)
            if age < 0:
                raise ValueError("issue date before the holder's birth")
            if age < 16:
                return add_years(issue_date, 5)
            if age <= 25:
                return add_years(issue_date, 10)
            if age <= 45:
                return add_years(issue_date, 20)
            return None
        raw = fields.get(v.field)
        if isinstance(raw, str) and raw in LONG_TERM_WORDS:
            return None
        return _date_field(fields, v.field)


def _date_field(fields: Mapping[str, Any], name: str) -> date:
    raw = fields.get(name)
    if not isinstance(raw, str):
        raise ValueError(f"{name}: a date (YYYY-MM-DD) is required")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{name}: not a date (YYYY-MM-DD)") from None


class MaterialAlternative(_Model):
    """One way to satisfy a material: a licence of ``licence_type`` (key); the counter gets ``fields``."""

    licence_type: Slug
    fields: Annotated[tuple[str, ...], Field(min_length=1)]


class DepartmentCheck(_Model):
    """部门核验: the exchange asks ``department``'s system check ``check`` about the applicant and records its
    signed yes/no."""

    check: Slug
    department: Slug
    name: Text


class Commitment(_Model):
    """告知承诺制: the applicant confirms ``statement`` in the app instead of bringing a proof."""

    statement: Annotated[str, Field(min_length=1, max_length=500)]
    statement_en: Annotated[str, Field(min_length=1, max_length=500)]


#: How a material can be satisfied, in the order the exchange tries them.
SATISFACTION_MODES: Final = ("licence", "instant_proof", "department_check", "archive", "commitment")


class Material(_Model):
    """A material (申请材料) a matter needs, and every way the exchange may satisfy it, declared in the data:

    ``satisfied_by`` e-licences (pulled with consent); ``instant_proof`` an instant proof type generated for
    the case; ``department_check`` a department data check; ``archive`` an archive material type (a material
    the citizen uploaded before and a clerk accepted, reused with consent); ``commitment`` a statement the
    citizen confirms.  With none of them the citizen brings or uploads the material at the counter."""

    id: Slug
    name: Text
    name_en: Text
    required: bool
    satisfied_by: tuple[MaterialAlternative, ...] = ()
    instant_proof: Slug | None = None
    department_check: DepartmentCheck | None = None
    archive: Slug | None = None
    commitment: Commitment | None = None

    @property
    def modes(self) -> tuple[str, ...]:
        """The satisfaction modes this material declares, in :data:`SATISFACTION_MODES` order."""
        have = {"licence": bool(self.satisfied_by), "instant_proof": self.instant_proof is not None,
                "department_check": self.department_check is not None, "archive": self.archive is not None,
                "commitment": self.commitment is not None}
        return tuple(m for m in SATISFACTION_MODES if have[m])


class Matter(_Model):
    """A service matter (政务服务事项) and the materials it needs."""

    key: Slug
    name: Text
    name_en: Text
    department: Slug
    materials: Annotated[tuple[Material, ...], Field(min_length=1)]

    _key = field_validator("key")(_slug)

    @model_validator(mode="after")
    def _unique_materials(self) -> Matter:
        ids = [m.id for m in self.materials]
        if len(ids) != len(set(ids)):
            raise ValueError("material ids must be unique")
        return self

    @property
    def licence_types(self) -> frozenset[str]:
        """Keys of every licence type that can satisfy some material of this matter."""
        return frozenset(a.licence_type for m in self.materials for a in m.satisfied_by)


class ProofField(_Model):
    """A field printed on a proof.  A field with ``columns`` is a table (e.g. the rows of 有无房证明)."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    title: Text
    title_en: Text
    sensitive: bool = False
    columns: tuple[ProofField, ...] = ()


_PLACEHOLDER_RE: Final = re.compile(r"\{([a-z][a-z0-9_]*)\}")


class ProofTemplate(_Model):
    """The proof's wording: sentences before the table (``body``) and the result sentence.  ``{name}`` and
    ``{<field>}`` (a scalar field of the proof type) are replaced by the department's values."""

    body: tuple[Annotated[str, Field(min_length=1, max_length=500)], ...] = ()
    result: Annotated[str, Field(min_length=1, max_length=500)] = "特此证明。"

    @field_validator("body", "result")
    @classmethod
    def _braces(cls, v: Any) -> Any:
        for text in v if isinstance(v, tuple) else (v,):
            if _PLACEHOLDER_RE.sub("", text).count("{") or _PLACEHOLDER_RE.sub("", text).count("}"):
                raise ValueError("only {field} placeholders are allowed")
        return v

    def placeholders(self) -> set[str]:
        return {m for text in (*self.body, self.result) for m in _PLACEHOLDER_RE.findall(text)}


class ProofType(_Model):
    """A proof type (证明): issued instantly from department data, or online after department review."""

    key: Slug
    name: Text
    name_en: Text
    mode: Literal["instant", "reviewed"]
    departments: Annotated[tuple[Slug, ...], Field(min_length=1)]
    seal_purpose: Text
    validity_days: Annotated[int, Field(ge=1, le=3650)]
    notes: tuple[Annotated[str, Field(min_length=1, max_length=500)], ...] = ()
    fields: Annotated[tuple[ProofField, ...], Field(min_length=1)]
    template: ProofTemplate | None = None
    #: the name people ask for at a counter or a kiosk (有无房证明), shown beside the official ``name``
    common_name: Text | None = None
    common_name_en: Text | None = None

    _key = field_validator("key")(_slug)

    @model_validator(mode="after")
    def _unique_fields(self) -> ProofType:
        names = [f.name for f in self.fields]
        if len(names) != len(set(names)):
            raise ValueError("field names must be unique")
        if self.template is not None:
            unknown = self.template.placeholders() - {f.name for f in self.fields if not f.columns} - {"name"}
            if unknown:
                raise ValueError(f"template uses unknown field(s) {sorted(unknown)}")
        return self


@dataclass(frozen=True)
class Catalogue:
    """The loaded catalogue.  Mappings are read-only and keyed by key / id."""

    departments: Mapping[str, Department]
    licence_types: Mapping[str, LicenceType]
    matters: Mapping[str, Matter]
    proof_types: Mapping[str, ProofType]
    path: Path

    @cached_property
    def _types_by_code(self) -> Mapping[str, LicenceType]:
        by_code: dict[str, LicenceType] = {}
        for lt in self.licence_types.values():
            by_code.setdefault(lt.code, lt)  # the first listed wins, as the scan it replaces did
        return MappingProxyType(by_code)

    def licence_type_by_code(self, code: str) -> LicenceType:
        """The licence type with this GB/T 36904 type code; ``KeyError`` if none."""
        found = self._types_by_code.get(code.upper())
        if found is None:
            raise KeyError(code)
        return found

    def department_by_uscc(self, uscc: str) -> Department:
        """The department with this USCC; ``KeyError`` if none."""
        for d in self.departments.values():
            if d.uscc == uscc.upper():
                return d
        raise KeyError(uscc)

    def may_issue(self, department_id: str, licence_type_key: str) -> bool:
        lt = self.licence_types.get(licence_type_key)
        return lt is not None and department_id in lt.issuing_departments


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def _read_json(path: Path, rel: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(f"cannot read: {exc}", file=rel) from exc
    except json.JSONDecodeError as exc:
        raise CatalogueError(f"not valid JSON: {exc}", file=rel) from exc


def _pydantic_message(exc: PydanticValidationError) -> str:
    parts = []
    for e in exc.errors()[:5]:
        loc = ".".join(str(x) for x in e["loc"])
        parts.append(f"{loc}: {e['msg']}" if loc else str(e["msg"]))
    more = len(exc.errors()) - 5
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _load_dir(root: Path, sub: str, model: type[_M]) -> dict[str, tuple[_M, str]]:
    out: dict[str, tuple[_M, str]] = {}
    folder = root / sub
    if not folder.is_dir():
        raise CatalogueError("missing folder", file=sub)
    for path in sorted(folder.glob("*.json")):
        rel = f"{sub}/{path.name}"
        data = _read_json(path, rel)
        try:
            obj = model.model_validate(data)
        except PydanticValidationError as exc:
            raise CatalogueError(_pydantic_message(exc), file=rel) from exc
        key = getattr(obj, "key")  # noqa: B009 - every catalogue file model has a key
        if key != path.stem:
            raise CatalogueError(f"key {key!r} must equal the file name {path.stem!r}", file=rel)
        out[key] = (obj, rel)
    return out


def _load(root: Path) -> Catalogue:
    rel = "departments.json"
    raw = _read_json(root / rel, rel)
    if not isinstance(raw, list):
        raise CatalogueError("must be a JSON list of departments", file=rel)
    specs: dict[str, DepartmentSpec] = {}
    for i, item in enumerate(raw):
        try:
            spec = DepartmentSpec.model_validate(item)
        except PydanticValidationError as exc:
            raise CatalogueError(f"[{i}] {_pydantic_message(exc)}", file=rel) from exc
        if spec.id in specs:
            raise CatalogueError(f"duplicate department id {spec.id!r}", file=rel)
        specs[spec.id] = spec
    usccs = [s.uscc for s in specs.values()]
    if len(usccs) != len(set(usccs)):
        raise CatalogueError("department USCCs must be unique", file=rel)

    types = _load_dir(root, "licence_types", LicenceType)
    codes: dict[str, str] = {}
    for lt, f in types.values():
        for dep in lt.issuing_departments:
            if dep not in specs:
                raise CatalogueError(f"issuing department {dep!r} is not in departments.json", file=f)
        if lt.code in codes:
            raise CatalogueError(f"type code {lt.code} already used by {codes[lt.code]}", file=f)
        codes[lt.code] = f

    matters = _load_dir(root, "matters", Matter)
    for m, f in matters.values():
        if m.department not in specs:
            raise CatalogueError(f"department {m.department!r} is not in departments.json", file=f)
        for mat in m.materials:
            for alt in mat.satisfied_by:
                entry = types.get(alt.licence_type)
                if entry is None:
                    raise CatalogueError(
                        f"material {mat.id!r}: unknown licence type {alt.licence_type!r}", file=f
                    )
                missing = [n for n in alt.fields if n not in entry[0].properties]
                if missing:
                    raise CatalogueError(
                        f"material {mat.id!r}: {alt.licence_type} has no field(s) {missing}", file=f
                    )

    proofs = _load_dir(root, "proof_types", ProofType)
    for p, f in proofs.values():
        for dep in p.departments:
            if dep not in specs:
                raise CatalogueError(f"department {dep!r} is not in departments.json", file=f)
    for m, f in matters.values():
        for mat in m.materials:
            if mat.instant_proof is not None:
                pt = proofs.get(mat.instant_proof)
                if pt is None or pt[0].mode != "instant":
                    raise CatalogueError(f"material {mat.id!r}: {mat.instant_proof!r} is not an instant proof type",
                                         file=f)
            if mat.department_check is not None and mat.department_check.department not in specs:
                raise CatalogueError(f"material {mat.id!r}: check department {mat.department_check.department!r}"
                                     " is not in departments.json", file=f)

    departments = {
        i: Department(
            **s.model_dump(),
            may_issue=tuple(k for k, (lt, _) in types.items() if i in lt.issuing_departments),
        )
        for i, s in specs.items()
    }
    return Catalogue(
        departments=MappingProxyType(departments),
        licence_types=MappingProxyType({k: v for k, (v, _) in types.items()}),
        matters=MappingProxyType({k: v for k, (v, _) in matters.items()}),
        proof_types=MappingProxyType({k: v for k, (v, _) in proofs.items()}),
        path=root,
    )


@functools.cache
def _load_default() -> Catalogue:
    return _load(DEFAULT_DATA_DIR)


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Load and cross-check the catalogue from ``path`` (default: the packaged ``schemas/data``; cached)."""
    if path is None:
        return _load_default()
    return _load(Path(path))
