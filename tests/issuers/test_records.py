"""The synthetic system of record: determinism, valid identifiers, hard text, drafts fitting the catalogue."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import fields as dc_fields
from datetime import date
from io import BytesIO

import pytest
from PIL import Image

from issuers.demo import (
    DEFAULT_AS_OF,
    PERSONAS,
    PHOTO_DIR,
    LicenceDraft,
    SystemOfRecord,
    bulk_drafts,
    photo_bytes,
)
from schemas.catalogue import load_catalogue
from schemas.identifiers import (
    make_licence_identifier,
    parse_citizen_id,
    validate_realty_unit_number,
    validate_uscc,
)

CAT = load_catalogue()


@pytest.fixture(scope="module")
def sor() -> SystemOfRecord:
    return SystemOfRecord.generate(seed=2024)


@pytest.fixture(scope="module")
def drafts(sor: SystemOfRecord) -> list[LicenceDraft]:
    return list(sor.licences())


def _snapshot(s: SystemOfRecord) -> tuple[object, ...]:
    return (
        s.citizens, s.households, s.household_registrations, s.organisations, s.properties, s.hpf_accounts,
        s.driving_licences, s.vehicles, s.marriages, s.teacher_qualifications, s.diplomas, s.blood_donations,
        s.social_security_cards, s.birth_certificates, s.residence_permits, s.criminal_entries,
    )  # fmt: skip


# -- determinism ------------------------------------------------------------------------------------------


def test_same_seed_same_data(sor: SystemOfRecord, drafts: list[LicenceDraft]) -> None:
    again = SystemOfRecord.generate(seed=2024)
    assert _snapshot(again) == _snapshot(sor)
    assert list(again.licences()) == drafts


def test_other_seed_other_data_same_personas(sor: SystemOfRecord) -> None:
    other = SystemOfRecord.generate(seed=7)
    assert _snapshot(other) != _snapshot(sor)
    for p in PERSONAS:
        assert other.persona(p.index).id_number == sor.persona(p.index).id_number == p.id_number
        assert other.persona(p.index).name == p.name


def test_sizes_are_respected() -> None:
    s = SystemOfRecord.generate(seed=3, citizens=40, organisations=5)
    assert len(s.citizens) == 40
    assert len(s.organisations) == 5
    with pytest.raises(ValueError):
        SystemOfRecord.generate(citizens=5)


# -- identifiers -----------------------------------------------------------------------------------------


def test_every_citizen_id_is_valid_and_consistent(sor: SystemOfRecord) -> None:
    ids = [c.id_number for c in sor.citizens]
    assert len(ids) == len(set(ids)) == 120
    for c in sor.citizens:
        cid = parse_citizen_id(c.id_number)
        assert cid.birth == c.birth_date
        assert {"M": "男", "F": "女"}[cid.sex] == c.sex
        assert cid.division == c.division
        assert c.birth_date < DEFAULT_AS_OF
        assert c.index == sor.citizens.index(c)
    ethnicities = Counter(c.ethnicity for c in sor.citizens)
    assert ethnicities.most_common(1)[0][0] == "汉族"
    assert {"维吾尔族", "土家族"} <= set(ethnicities)
    assert {c.division for c in sor.citizens} >= {"430102", "430103", "430104", "430105", "430111", "430122"}


def test_every_uscc_is_valid(sor: SystemOfRecord) -> None:
    assert len({o.uscc for o in sor.organisations}) == len(sor.organisations) == 12
    for o in sor.organisations:
        assert validate_uscc(o.uscc) == o.uscc
        rep = sor.citizen(o.legal_representative_id)
        assert rep is not None and rep.name == o.legal_representative
        assert sor.organisation(o.uscc.lower()) == o
    assert sor.organisations[0].legal_representative_id == PERSONAS[3].id_number


def test_lookups(sor: SystemOfRecord) -> None:
    p0 = PERSONAS[0]
    assert sor.citizen(p0.id_number) == sor.citizens[0]
    assert sor.citizen("11010519491231002X") is None
    assert sor.organisation("91350200776049653A") is None
    x_id = next((c.id_number for c in sor.citizens if c.id_number.endswith("X")), None)
    if x_id is not None:
        assert sor.citizen(x_id.lower()) is not None


# -- hard text and personas ------------------------------------------------------------------------------


def test_hard_text_names(sor: SystemOfRecord) -> None:
    names = [c.name for c in sor.citizens]
    for ch in ("\U000201d4", "\u4dae", "\U0002cc56", "\u00b7"):
        assert any(ch in n for n in names), f"U+{ord(ch):04X} missing"
    assert not any("\u30fb" in n for n in names)
    for n in names:
        assert unicodedata.normalize("NFC", n) == n
    assert sor.persona(2).name == "王\U000201d4"
    assert sor.persona(3).name == "刘\u4dae"
    assert sor.persona(4).name == "张\U0002cc56"
    minority = sor.persona(5)
    assert minority.name == "买买提\u00b7艾力" and minority.ethnicity == "维吾尔族"


def test_persona_table(sor: SystemOfRecord) -> None:
    assert [p.index for p in PERSONAS] == list(range(8))
    for p in PERSONAS:
        c = sor.persona(p.index)
        assert (c.index, c.name, c.id_number, c.photo) == (p.index, p.name, p.id_number, p.photo)
    assert sor.persona(6).division == "430122"  # retired 望城县 code
    assert sor.persona(6).residence_division == "430112"
    assert sor.persona(6).age_on(DEFAULT_AS_OF) > 80


@pytest.mark.parametrize("index", [0, 1])
def test_face_personas_have_real_photos(sor: SystemOfRecord, index: int) -> None:
    c = sor.persona(index)
    assert c.face_login
    data = c.photo_jpeg
    assert data.startswith(b"\xff\xd8\xff")
    assert len(data) <= 40 * 1024
    with Image.open(BytesIO(data)) as img:
        assert img.format == "JPEG"
        assert img.size == (360, 450)


def test_other_citizens_have_the_silhouette(sor: SystemOfRecord) -> None:
    assert sor.persona(0).photo_jpeg != sor.persona(1).photo_jpeg
    others = sor.citizens[2:]
    assert all(not c.face_login and c.photo == "silhouette.jpg" for c in others)
    with Image.open(BytesIO(photo_bytes("silhouette.jpg"))) as img:
        assert img.format == "JPEG"
    assert (PHOTO_DIR / "SOURCES.md").is_file()
    with pytest.raises(ValueError):
        photo_bytes("../records.py")


# -- data sources for proofs ------------------------------------------------------------------------------


def test_properties(sor: SystemOfRecord) -> None:
    own0 = sor.properties_of(PERSONAS[0].id_number)
    assert len(own0) == 1 and own0[0].restrictions == ("抵押",) and own0[0].co_ownership == "共同共有"
    spouse = own0[0].owners[1][1]
    assert sor.properties_of(spouse) == own0  # co-owner sees it too
    own1 = sor.properties_of(PERSONAS[1].id_number)
    assert len(own1) == 2 and any("查封" in p.restrictions for p in own1)
    for i in (2, 4, 5):
        assert sor.properties_of(PERSONAS[i].id_number) == ()
    counts = Counter(len(sor.properties_of(c.id_number)) for c in sor.citizens)
    assert counts[0] > 0 and counts[1] > 0 and counts[2] > 0
    assert len({p.unit_number for p in sor.properties}) == len(sor.properties)
    for p in sor.properties:
        assert len(p.unit_number) == 28 and validate_realty_unit_number(p.unit_number) == p.unit_number
        assert p.registered_on <= DEFAULT_AS_OF and p.area_m2 > 0


def test_hpf_accounts(sor: SystemOfRecord) -> None:
    a0 = sor.hpf_account_of(PERSONAS[0].id_number)
    assert a0 is not None and a0.status == "正常" and a0.loan_count == 1 and a0.loan_outstanding > 0
    a1 = sor.hpf_account_of(PERSONAS[1].id_number)
    assert a1 is not None and a1.status == "封存" and a1.paid_until < a0.paid_until
    assert sor.hpf_account_of(PERSONAS[6].id_number) is None
    assert len({a.id_number for a in sor.hpf_accounts}) == len(sor.hpf_accounts)
    for a in sor.hpf_accounts:
        part = (a.base * a.employer_rate / 100).quantize(a.base)
        assert a.monthly_amount == part * 2
        assert a.opened <= a.continuous_from <= a.continuous_to == a.paid_until
        assert a.employer_uscc in {o.uscc for o in sor.organisations}
        assert a.loan_outstanding <= a.loan_total


def test_household_registration(sor: SystemOfRecord) -> None:
    r0 = sor.household_registration_of(PERSONAS[0].id_number)
    assert r0 is not None and r0.relationship == "户主" and r0.changes
    hh = sor.household_of(PERSONAS[0].id_number)
    assert hh is not None and hh.head_id_number == PERSONAS[0].id_number and len(hh.members) == 3
    assert sor.household_registration_of(PERSONAS[5].id_number) is None  # registered in Xinjiang
    collective = sor.household_of(PERSONAS[4].id_number)
    assert collective is not None and collective.household_type == "集体户"
    members = [m.id_number for h in sor.households for m in h.members]
    assert sorted(members) == sorted(c.id_number for c in sor.citizens if c.index != 5)


def test_blood_and_criminal_records(sor: SystemOfRecord) -> None:
    assert len(sor.blood_donations_of(PERSONAS[2].id_number)) == 3
    assert sor.blood_donations_of(PERSONAS[6].id_number) == ()
    rec7 = sor.criminal_record_of(PERSONAS[7].id_number)
    assert rec7 is not None and rec7.has_record
    clean = [sor.criminal_record_of(c.id_number) for c in sor.citizens]
    assert sum(1 for r in clean if r is not None and r.has_record) == 1
    assert sor.criminal_record_of("11010519491231002X") is None


def test_records_are_frozen(sor: SystemOfRecord) -> None:
    c = sor.citizens[0]
    with pytest.raises(AttributeError):
        c.name = "x"  # type: ignore[misc]
    assert [f.name for f in dc_fields(LicenceDraft)][:6] == [
        "type_key", "department_id", "holder_code", "holder_name", "licence_no", "serial",
    ]  # fmt: skip


# -- licence drafts --------------------------------------------------------------------------------------


def test_every_draft_validates(drafts: list[LicenceDraft]) -> None:
    for d in drafts:
        lt = CAT.licence_types[d.type_key]
        assert lt.validate_fields(d.fields) == [], (d.type_key, d.serial)
        assert CAT.may_issue(d.department_id, d.type_key)
        assert d.holder_code == d.fields[lt.holder_code_field]
        assert d.holder_name == d.fields[lt.holder_name_field]
        assert d.licence_no == d.fields[lt.licence_no_field]
        assert d.valid_until == lt.validity_until(d.issued_on, d.fields)
        assert d.issued_on <= DEFAULT_AS_OF and d.valid_from == d.issued_on
        assert d.valid_until is None or d.valid_until > DEFAULT_AS_OF, (d.type_key, d.valid_until)
        make_licence_identifier(lt.code, CAT.departments[d.department_id].uscc, d.serial)


def test_drafts_cover_the_catalogue(drafts: list[LicenceDraft]) -> None:
    counts = Counter(d.type_key for d in drafts)
    assert set(counts) == set(CAT.licence_types)
    assert len({d.serial for d in drafts}) == len(drafts)
    assert counts["resident_id_card"] == 119  # everyone but the Xinjiang-registered persona
    ids = [d for d in drafts if d.type_key == "resident_id_card"]
    assert all(d.fields["photo"] for d in ids)


def test_persona_zero_holds(drafts: list[LicenceDraft]) -> None:
    held = Counter(d.type_key for d in drafts if d.holder_code == PERSONAS[0].id_number)
    for key in (
        "resident_id_card", "household_register", "realty_certificate", "marriage_certificate",
        "teacher_qualification", "diploma", "blood_donation", "social_security_card", "birth_certificate",
        "driving_licence",
    ):  # fmt: skip
        assert held[key] >= 1, key
    card = next(
        d for d in drafts if d.type_key == "resident_id_card" and d.holder_code == PERSONAS[0].id_number
    )
    assert card.fields["name"] == "李建华"
    assert card.fields["photo"] and card.fields["sex"] == "女"


def test_long_term_id_card_for_elderly(drafts: list[LicenceDraft]) -> None:
    card = next(
        d for d in drafts if d.type_key == "resident_id_card" and d.holder_code == PERSONAS[6].id_number
    )
    assert card.valid_until is None


def test_as_of_moves_dates() -> None:
    s = SystemOfRecord.generate(seed=2024, as_of=date(2025, 3, 1))
    assert all(d.issued_on <= date(2025, 3, 1) for d in s.licences())


# -- bulk ------------------------------------------------------------------------------------------------


def test_bulk_drafts_distinct_valid_and_deterministic() -> None:
    n = 30_000  # speed is measured in bench/bench_import.py, not asserted here (no timing assertions)
    ds = list(bulk_drafts(n, seed=11))
    assert len(ds) == n
    assert len({d.serial for d in ds}) == n
    assert len({(d.type_key, d.licence_no) for d in ds}) == n
    assert len({d.holder_code for d in ds}) == n
    counts = Counter(d.type_key for d in ds)
    assert counts == {"blood_donation": n // 2, "social_security_card": n * 3 // 10, "diploma": n // 5}
    for d in ds[:: n // 300]:
        lt = CAT.licence_types[d.type_key]
        assert lt.validate_fields(d.fields) == []
        assert d.valid_until == lt.validity_until(d.issued_on, d.fields)
        assert d.holder_code == d.fields[lt.holder_code_field]
        assert CAT.may_issue(d.department_id, d.type_key)
    assert list(bulk_drafts(50, seed=11)) == ds[:50]
    assert list(bulk_drafts(50, seed=12)) != ds[:50]
    assert not {d.holder_code for d in ds} & {p.id_number for p in PERSONAS}
