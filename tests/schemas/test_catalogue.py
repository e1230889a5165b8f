"""Tests for schemas.catalogue and its data files."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from schemas.catalogue import (
    DEFAULT_DATA_DIR,
    RESERVED_FIELD_NAMES,
    Catalogue,
    CatalogueError,
    load_catalogue,
)
from schemas.identifiers import make_licence_identifier, parse_licence_identifier, validate_uscc
from tests.schemas.sample_faces import SAMPLE_FACES, TINY_JPEG_B64


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load_catalogue()


def test_loads_and_is_cached(cat: Catalogue) -> None:
    assert load_catalogue() is cat
    assert len(cat.licence_types) >= 12
    assert len(cat.matters) >= 5
    assert len(cat.proof_types) >= 7
    for key in [
        "resident_id_card", "household_register", "business_licence", "driving_licence", "vehicle_licence",
        "realty_certificate", "marriage_certificate", "teacher_qualification", "diploma", "blood_donation",
        "social_security_card", "birth_certificate",
    ]:  # fmt: skip
        assert key in cat.licence_types
    for key in ["teacher_qualification_recognition", "spouse_household_transfer", "residence_permit",
                "company_setup", "hpf_loan"]:  # fmt: skip
        assert key in cat.matters
    for key in ["realty_query", "hpf_deposit", "household_registration", "blood_donation_proof",
                "gov_data_query_sheet", "no_criminal_record", "lawyer_no_penalty"]:  # fmt: skip
        assert key in cat.proof_types
    assert {
        "psb",
        "traffic",
        "housing",
        "hpf",
        "amr",
        "edu",
        "civil",
        "hrss",
        "health",
        "blood",
        "justice",
    } <= set(cat.departments)
    assert "exchange" not in cat.departments


def test_departments(cat: Catalogue) -> None:
    for d in cat.departments.values():
        assert validate_uscc(d.uscc) == d.uscc
        assert d.uscc[0] == "1"  # 机构编制
        assert d.uscc[1] == ("1" if d.kind == "agency" else "2")
        assert d.uscc[2:8] == d.division
    assert cat.department_by_uscc(cat.departments["psb"].uscc).id == "psb"


def test_every_reference_exists(cat: Catalogue) -> None:
    for lt in cat.licence_types.values():
        for dep in lt.issuing_departments:
            assert dep in cat.departments
    for m in cat.matters.values():
        assert m.department in cat.departments
        for mat in m.materials:
            for alt in mat.satisfied_by:
                lt = cat.licence_types[alt.licence_type]
                for f in alt.fields:
                    assert f in lt.properties, (m.key, mat.id, f)
    for p in cat.proof_types.values():
        for dep in p.departments:
            assert dep in cat.departments


def test_may_issue_is_derived(cat: Catalogue) -> None:
    assert set(cat.departments["psb"].may_issue) == {
        "resident_id_card",
        "household_register",
        "residence_permit",
    }
    assert cat.departments["traffic"].may_issue == ("driving_licence", "vehicle_licence", "vehicle_registration")
    assert cat.departments["justice"].may_issue == ("lawyer_licence", "notary_licence")
    assert cat.departments["tax"].may_issue == ("tax_credit_rating",)
    assert cat.may_issue("amr", "business_licence")
    assert not cat.may_issue("psb", "business_licence")
    assert not cat.may_issue("psb", "no_such_type")


def test_type_codes_unique_and_well_formed(cat: Catalogue) -> None:
    codes = [lt.code for lt in cat.licence_types.values()]
    assert len(codes) == len(set(codes))
    for lt in cat.licence_types.values():
        assert len(lt.code) == 21 and lt.code[18:].isdigit()
        assert lt.code[:18] == validate_uscc(lt.defining_authority.uscc)
        assert cat.licence_type_by_code(lt.code) is lt
        issuer = cat.departments[lt.issuing_departments[0]].uscc
        lid = parse_licence_identifier(make_licence_identifier(lt.code, issuer, "2024000001"))
        assert lid.type_code == lt.code
    assert cat.licence_type_by_code("11100000000013338W001").key == "resident_id_card"
    with pytest.raises(KeyError):
        cat.licence_type_by_code("11100000000013338W999")


def test_field_names_and_schema_rules(cat: Catalogue) -> None:
    for lt in cat.licence_types.values():
        assert lt.fields["additionalProperties"] is False
        for name, prop in lt.properties.items():
            assert name not in RESERVED_FIELD_NAMES
            assert name.isascii() and name == name.lower()
            assert prop["title"] and prop["title_en"]
            if prop["type"] == "string":
                assert isinstance(prop["maxLength"], int)
        for s in lt.sensitive:
            assert s in lt.properties
        assert lt.holder_code_field in lt.sensitive or lt.holder_kind == "organisation"


def test_id_card_photo_field(cat: Catalogue) -> None:
    photo = cat.licence_types["resident_id_card"].properties["photo"]
    assert photo["contentEncoding"] == "base64"
    assert photo["contentMediaType"] == "image/jpeg"
    assert 100_000 <= photo["maxLength"] <= 300_000


@pytest.mark.parametrize("key", sorted(SAMPLE_FACES))
def test_sample_faces_are_valid(cat: Catalogue, key: str) -> None:
    assert cat.licence_types[key].validate_fields(SAMPLE_FACES[key]) == []


def test_every_type_has_a_sample(cat: Catalogue) -> None:
    assert set(SAMPLE_FACES) == set(cat.licence_types)


def _problems(cat: Catalogue, key: str, **changes: Any) -> list[tuple[str, str]]:
    face = {**SAMPLE_FACES[key], **changes}
    face = {k: v for k, v in face.items() if v is not None}
    return [(p.field, p.code) for p in cat.licence_types[key].validate_fields(face)]


def test_validate_fields_bad_check_digit_names_field(cat: Catalogue) -> None:
    problems = cat.licence_types["resident_id_card"].validate_fields(
        {**SAMPLE_FACES["resident_id_card"], "id_number": "430102199003071235"}
    )
    assert [(p.field, p.code) for p in problems] == [("id_number", "BAD_CHECK_DIGIT")]
    assert "430102199003071235" not in problems[0].message


def test_validate_fields_problems(cat: Catalogue) -> None:
    assert _problems(cat, "resident_id_card", name=None) == [("name", "MISSING")]
    assert _problems(cat, "resident_id_card", nickname="x") == [("nickname", "UNKNOWN_FIELD")]
    assert _problems(cat, "resident_id_card", sex="M") == [("sex", "BAD_VALUE")]
    assert _problems(cat, "resident_id_card", address="长" * 129) == [("address", "BAD_LENGTH")]
    assert _problems(cat, "resident_id_card", birth_date="1990-02-30") == [("birth_date", "BAD_FORMAT")]
    assert _problems(cat, "resident_id_card", photo="not base64!") == [("photo", "BAD_ENCODING")]
    assert _problems(cat, "resident_id_card", photo="iVBORw0KGgo=") == [("photo", "BAD_MEDIA_TYPE")]
    assert _problems(cat, "resident_id_card", id_number=430102199003071234) == [("id_number", "BAD_TYPE")]
    assert _problems(cat, "business_licence", uscc="91350200776049653B") == [("uscc", "BAD_CHECK_DIGIT")]
    assert _problems(cat, "realty_certificate", unit_number="430102001001GB00012A00010001") == [
        ("unit_number", "BAD_STRUCTURE")
    ]
    assert _problems(cat, "teacher_qualification", cert_no="19804300141012345") == [("cert_no", "BAD_DATE")]
    assert _problems(cat, "blood_donation", volume_ml=0) == [("volume_ml", "OUT_OF_RANGE")]
    assert cat.licence_types["resident_id_card"].validate_fields([]) != []  # type: ignore[arg-type]


def test_photo_ok(cat: Catalogue) -> None:
    assert _problems(cat, "resident_id_card", photo=TINY_JPEG_B64) == []


@pytest.mark.parametrize(
    ("birth", "issued", "until"),
    [
        ("2015-06-01", "2025-01-01", date(2030, 1, 1)),  # 9 → 5 years
        ("2009-01-01", "2025-01-01", date(2035, 1, 1)),  # 16 → 10 years
        ("1999-01-02", "2025-01-01", date(2035, 1, 1)),  # 25 → 10 years
        ("1999-01-01", "2025-01-01", date(2045, 1, 1)),  # 26 → 20 years
        ("1979-01-02", "2025-01-01", date(2045, 1, 1)),  # 45 → 20 years
        ("1979-01-01", "2025-01-01", None),  # 46 → long-term
        ("2000-02-29", "2016-02-29", date(2026, 2, 28)),  # leap day
    ],
)
def test_id_card_age_band(cat: Catalogue, birth: str, issued: str, until: date | None) -> None:
    lt = cat.licence_types["resident_id_card"]
    assert lt.validity_until(date.fromisoformat(issued), {"birth_date": birth}) == until


def test_other_validity_rules(cat: Catalogue) -> None:
    d = date(2024, 5, 1)
    assert cat.licence_types["social_security_card"].validity_until(d, {}) == date(2034, 5, 1)
    assert cat.licence_types["residence_permit"].validity_until(d, {}) == date(2025, 5, 1)
    assert cat.licence_types["marriage_certificate"].validity_until(d, {}) is None
    biz = cat.licence_types["business_licence"]
    assert biz.validity_until(d, {"operating_until": "长期"}) is None
    assert biz.validity_until(d, {"operating_until": "2044-05-01"}) == date(2044, 5, 1)
    with pytest.raises(ValueError, match="operating_until"):
        biz.validity_until(d, {})
    assert cat.licence_types["driving_licence"].validity_until(d, SAMPLE_FACES["driving_licence"]) == date(
        2028, 8, 1
    )


# -- broken data files ---------------------------------------------------------------------------------------


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, dst)
    return dst


def _edit(path: Path, fn: Any) -> None:
    obj = json.loads(path.read_text(encoding="utf-8"))
    fn(obj)
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")


def test_copy_loads(data_copy: Path) -> None:
    assert set(load_catalogue(data_copy).licence_types) == set(load_catalogue().licence_types)


def test_new_type_needs_no_code(data_copy: Path) -> None:
    src = data_copy / "licence_types" / "residence_permit.json"
    obj = json.loads(src.read_text(encoding="utf-8"))
    obj.update(key="temporary_permit", code=obj["code"][:18] + "099", name="临时证")
    (data_copy / "licence_types" / "temporary_permit.json").write_text(json.dumps(obj), encoding="utf-8")
    cat = load_catalogue(data_copy)
    assert "temporary_permit" in cat.licence_types
    assert "temporary_permit" in cat.departments["psb"].may_issue


DELETE = object()


def _set(path: list[str], value: Any) -> Any:
    def fn(obj: Any) -> None:
        for p in path[:-1]:
            obj = obj[int(p)] if isinstance(obj, list) else obj[p]
        if value is DELETE:
            del obj[path[-1]]
        else:
            obj[path[-1]] = value

    return fn


def _same_code_as_blood_donation(obj: Any) -> None:
    obj["code"] = "111000000000180670001"
    obj["defining_authority"]["uscc"] = "111000000000180670"


BROKEN = [
    ("licence_types/diploma.json", None, "not valid JSON"),
    ("licence_types/diploma.json", _set(["issuing_departments"], ["nobody"]), "nobody"),
    (
        "licence_types/diploma.json",
        _set(["fields", "properties", "school", "maxLength"], DELETE),
        "maxLength",
    ),
    (
        "licence_types/diploma.json",
        _set(
            ["fields", "properties", "issuer"],
            {"type": "string", "title": "x", "title_en": "x", "maxLength": 2},
        ),
        "reserved",
    ),
    (
        "licence_types/diploma.json",
        _set(
            ["fields", "properties", "名字"],
            {"type": "string", "title": "x", "title_en": "x", "maxLength": 2},
        ),
        "snake_case",
    ),
    ("licence_types/diploma.json", _set(["fields", "additionalProperties"], True), "additionalProperties"),
    (
        "licence_types/diploma.json",
        _set(["fields", "properties", "school", "x-identifier"], "passport"),
        "x-identifier",
    ),
    ("licence_types/diploma.json", _set(["holder_code_field"], "school"), "x-identifier"),
    ("licence_types/diploma.json", _set(["sensitive"], ["shoe_size"]), "shoe_size"),
    ("licence_types/diploma.json", _set(["key"], "diploma2"), "file name"),
    ("licence_types/diploma.json", _same_code_as_blood_donation, "already used"),
    ("licence_types/diploma.json", _set(["code"], "111000000000180408ABC"), "code"),
    ("licence_types/diploma.json", _set(["validity"], {"rule": "weeks", "weeks": 2}), "validity"),
    ("licence_types/diploma.json", _set(["holder_code_type"], "001"), "holder_code_type"),
    ("licence_types/diploma.json", _set(["fields", "properties", "school", "type"], "strin"), "JSON Schema"),
    (
        "matters/hpf_loan.json",
        _set(["materials", "0", "satisfied_by", "0", "fields"], ["blood_type"]),
        "blood_type",
    ),
    (
        "matters/hpf_loan.json",
        _set(["materials", "0", "satisfied_by", "0", "licence_type"], "space_licence"),
        "space_licence",
    ),
    ("matters/hpf_loan.json", _set(["department"], "exchange"), "exchange"),
    ("proof_types/hpf_deposit.json", _set(["departments"], ["bank"]), "bank"),
    ("proof_types/hpf_deposit.json", _set(["mode"], "whenever"), "mode"),
    ("departments.json", _set(["0", "uscc"], "11430100007501019M"), "uscc"),
    ("departments.json", _set(["0", "may_issue"], ["business_licence"]), "may_issue"),
]


@pytest.mark.parametrize(("rel", "change", "needle"), BROKEN)
def test_broken_file_is_reported_with_its_name(data_copy: Path, rel: str, change: Any, needle: str) -> None:
    path = data_copy / rel
    if change is None:
        path.write_text("{ not json", encoding="utf-8")
    else:
        _edit(path, change)
    with pytest.raises(CatalogueError) as info:
        load_catalogue(data_copy)
    assert info.value.file == rel
    assert rel in str(info.value)
    assert needle in str(info.value)
