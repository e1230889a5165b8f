"""The demo system of record's records (frozen dataclasses), the personas and small shared helpers."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Final, Literal, TypeVar

from schemas.identifiers import citizen_id_check_char, normalise_name, parse_citizen_id

from .words import (
    DISTRICTS,
    PERSONA_DATA,
    RETIRED_DIVISIONS,
)

Sex = Literal["男", "女"]
BloodType = Literal["A", "B", "AB", "O"]
_T = TypeVar("_T")

#: The data is "as of" this day unless ``generate(as_of=...)`` says otherwise: every issue date is on or
#: before it and every licence is valid on it (and for about a year after; the residence permit is the
#: shortest, one year from as_of - 40 days).
DEFAULT_AS_OF: Final = date(2026, 11, 1)

PHOTO_DIR: Final = Path(__file__).resolve().parent.parent / "data" / "photos"
PHOTO_A: Final = "person_a.jpg"
PHOTO_B: Final = "person_b.jpg"
SILHOUETTE: Final = "silhouette.jpg"


@cache
def photo_bytes(name: str) -> bytes:
    """The shipped JPEG ``name`` (``person_a.jpg``, ``person_b.jpg`` or ``silhouette.jpg``)."""
    if name not in (PHOTO_A, PHOTO_B, SILHOUETTE):
        raise ValueError(f"unknown photo {name!r}")
    return (PHOTO_DIR / name).read_bytes()


@cache
def _photo_b64(name: str) -> str:
    return base64.b64encode(photo_bytes(name)).decode("ascii")



def _district_name(division: str) -> str:
    if division in DISTRICTS:
        return DISTRICTS[division][0]
    return RETIRED_DIVISIONS[division][0]


def _current_division(division: str) -> str:
    return RETIRED_DIVISIONS[division][1] if division in RETIRED_DIVISIONS else division


def _police_branch(division: str) -> str:
    name = _district_name(_current_division(division))
    return f"长沙市公安局{name.removesuffix('区').removesuffix('县')}分局"


def _make_id(division: str, birth: date, seq: int) -> str:
    first17 = f"{division}{birth:%Y%m%d}{seq:03d}"
    return first17 + citizen_id_check_char(first17)


# --------------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PersonaSpec:
    """A fixed demo persona (seed-independent)."""

    index: int
    name: str
    id_number: str
    ethnicity: str
    photo: str
    note: str


@dataclass(frozen=True, slots=True)
class Citizen:
    """A resident.  ``division`` is the one in the ID number (may be retired or outside the city);
    ``residence_division`` is where they live now.  ``photo`` is a file name under :data:`PHOTO_DIR`."""

    index: int
    id_number: str
    name: str
    sex: Sex
    ethnicity: str
    birth_date: date
    division: str
    residence_division: str
    address: str
    phone: str
    photo: str
    face_login: bool
    native_place: str
    birthplace: str
    former_name: str | None
    id_card_issued_on: date | None  # None: the card was issued outside 长沙 (no 长沙 licence)
    id_card_authority: str

    @property
    def photo_jpeg(self) -> bytes:
        return photo_bytes(self.photo)

    def age_on(self, day: date) -> int:
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


@dataclass(frozen=True, slots=True)
class HouseholdMember:
    id_number: str
    name: str
    relationship: str  # 与户主关系: 户主 / 配偶 / 子 / 女 / 孙子 / 集体户成员 …


@dataclass(frozen=True, slots=True)
class Household:
    """A 户 in the household register (户口簿)."""

    household_no: str
    household_type: Literal["家庭户", "集体户"]
    address: str
    division: str
    head_name: str
    head_id_number: str | None  # None for a 集体户 (its 户主 is the unit)
    members: tuple[HouseholdMember, ...]
    police_station: str
    issued_on: date


@dataclass(frozen=True, slots=True)
class RegistrationChange:
    """One entry of a person's 变更记录."""

    on: date
    item: str
    detail: str


@dataclass(frozen=True, slots=True)
class HouseholdRegistration:
    """What 户籍证明 prints for one person."""

    id_number: str
    name: str
    sex: Sex
    ethnicity: str
    birth_date: date
    address: str
    household_no: str
    household_nature: str  # 户口性质
    relationship: str
    registered_on: date  # 登记日期 (into this household)
    changes: tuple[RegistrationChange, ...]
    police_station: str


@dataclass(frozen=True, slots=True)
class Organisation:
    """An enterprise holding a 营业执照.  ``operating_until`` None = 长期."""

    uscc: str
    name: str
    company_type: str
    legal_representative: str
    legal_representative_id: str
    business_scope: str
    registered_capital: str
    established_on: date
    operating_until: date | None
    domicile: str
    registration_authority: str
    division: str
    licence_issued_on: date


@dataclass(frozen=True, slots=True)
class Property:
    """A registered property (不动产).  ``owners`` are (name, ID number), the certificate holder first."""

    certificate_no: str
    unit_number: str
    owners: tuple[tuple[str, str], ...]
    co_ownership: Literal["单独所有", "共同共有", "按份共有"]
    location: str
    division: str
    right_type: str
    right_nature: str
    usage: str
    area_m2: Decimal
    term: str
    registered_on: date
    mortgaged: bool
    sealed: bool

    @property
    def holder_name(self) -> str:
        return self.owners[0][0]

    @property
    def holder_id_number(self) -> str:
        return self.owners[0][1]

    @property
    def restrictions(self) -> tuple[str, ...]:
        """限制状态: ``("抵押",)``, ``("查封",)``, both or none."""
        return tuple(r for r, on in (("抵押", self.mortgaged), ("查封", self.sealed)) if on)


@dataclass(frozen=True, slots=True)
class HpfAccount:
    """A housing-provident-fund account (住房公积金).  Year-month values are the first day of that month;
    rates are percentages; amounts are yuan."""

    account_no: str
    id_number: str
    name: str
    employer_name: str
    employer_uscc: str
    opened: date
    status: Literal["正常", "封存"]
    base: Decimal
    employer_rate: int
    personal_rate: int
    monthly_amount: Decimal
    balance: Decimal
    paid_until: date
    continuous_from: date
    continuous_to: date
    loan_count: int
    loan_total: Decimal
    loan_outstanding: Decimal


@dataclass(frozen=True, slots=True)
class DrivingLicence:
    id_number: str
    first_issued_on: date
    vehicle_classes: str
    issued_on: date
    expires_on: date | None  # None = 长期
    file_number: str


@dataclass(frozen=True, slots=True)
class Vehicle:
    plate_number: str
    owner_id_number: str
    vehicle_type: str
    use_character: str
    model: str
    vin: str
    engine_number: str
    registered_on: date
    certificate_issued_on: date


@dataclass(frozen=True, slots=True)
class Marriage:
    cert_no: str
    husband_id_number: str
    wife_id_number: str
    registered_on: date
    registration_authority: str


@dataclass(frozen=True, slots=True)
class TeacherQualification:
    cert_no: str
    id_number: str
    qualification_type: str
    subject: str
    recognised_on: date
    recognising_authority: str


@dataclass(frozen=True, slots=True)
class Diploma:
    cert_no: str
    id_number: str
    school: str
    major: str
    education_level: str
    study_form: str
    entered_on: date
    graduated_on: date


@dataclass(frozen=True, slots=True)
class BloodDonation:
    cert_no: str
    id_number: str
    blood_type: BloodType
    rh: Literal["阳性", "阴性"]
    donation_type: Literal["全血", "单采血小板", "单采血浆"]
    volume_ml: int
    donated_on: date
    site: str


@dataclass(frozen=True, slots=True)
class SocialSecurityCard:
    card_no: str
    id_number: str
    issued_on: date
    bank: str


@dataclass(frozen=True, slots=True)
class BirthCertificate:
    """出生医学证明; the licence is held by the mother."""

    cert_no: str
    child_id_number: str
    mother_id_number: str
    father_id_number: str | None
    birth_time: str
    gestational_weeks: int
    birth_weight_g: int
    birth_length_cm: int
    institution: str
    issued_on: date


@dataclass(frozen=True, slots=True)
class ResidencePermit:
    permit_no: str
    id_number: str
    address: str
    issued_on: date
    issuing_authority: str


@dataclass(frozen=True, slots=True)
class CriminalEntry:
    judged_on: date
    court: str
    offence: str
    sentence: str


@dataclass(frozen=True, slots=True)
class CriminalRecord:
    """The criminal-record check result for one citizen: ``entries`` empty = 无犯罪记录."""

    id_number: str
    name: str
    entries: tuple[CriminalEntry, ...]

    @property
    def has_record(self) -> bool:
        return bool(self.entries)



def _persona_spec(index: int, p: Mapping[str, str]) -> PersonaSpec:
    number = parse_citizen_id(p["id_number"], field=f"personas[{index}].id_number").number
    return PersonaSpec(index, normalise_name(p["name"]), number, p["ethnicity"], p["photo"], p["note"])


#: The fixed demo personas, from ``data/people.json``.
PERSONAS: Final[tuple[PersonaSpec, ...]] = tuple(_persona_spec(i, p) for i, p in enumerate(PERSONA_DATA))


def _q2(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def _month(d: date) -> date:
    return d.replace(day=1)


def _add_months(d: date, months: int) -> date:
    m = d.year * 12 + d.month - 1 + months
    return date(m // 12, m % 12 + 1, 1)


def _org_code_check(body8: str) -> str:
    """GB 11714 organisation-code check character for 8 body characters (digits here)."""
    total = sum(int(c, 36) * w for c, w in zip(body8, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    c9 = 11 - total % 11
    return {10: "X", 11: "0"}.get(c9, str(c9))


