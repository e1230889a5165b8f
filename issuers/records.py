"""A department's system of record, synthesised: deterministic demo and test data for 长沙市.

``SystemOfRecord.generate(seed=2024, citizens=120, organisations=12)`` builds the same data for the same
arguments, on any machine and any ``PYTHONHASHSEED`` (one :class:`random.Random`, no set iteration).
Everything is synthetic except the two demo face photos (public domain, see
``issuers/data/photos/SOURCES.md``).

The first citizens are fixed personas whose names and ID numbers do not depend on the seed, so docs and tests
can name them (:data:`PERSONAS`):

== ================ ================== ==============================================================
#  name             ID number          what makes them useful
== ================ ================== ==============================================================
0  李建华           430102197805120625 person A's face photo; teacher, married, one mortgaged flat
1  周雅琴           430103196209030481 person B's face photo; two flats (one sealed), HPF account 封存
2  王𠇔 (U+201D4)   430104199003070314 non-BMP name; owns no property
3  刘䶮 (U+4DAE)    430105198511200172 name outside GBK; legal representative of a company
4  张𬱖 (U+2CC56)   430111199602140242 non-BMP name; collective household (集体户), no property
5  买买提·艾力       650102198807220537 维吾尔族, U+00B7; household in Xinjiang, Changsha residence permit
6  陈桂英           430122193812010069 retired division code 430122 (望城县); elderly, long-term ID card
7  赵志强           430121198304090716 has a criminal record (for the reviewed-proof flow)
== ================ ================== ==============================================================

Only personas 0 and 1 can log in by face; every other citizen carries a neutral silhouette as the ID-card
photo and ``face_login=False``.

The query methods (:meth:`SystemOfRecord.properties_of`, :meth:`~SystemOfRecord.hpf_account_of`, …) are the
department data sources the instant-proof service reads.  :meth:`SystemOfRecord.licences` yields the licences
the departments issue (:class:`LicenceDraft`), with face fields matching the catalogue's JSON Schemas.
:func:`bulk_drafts` makes many cheap distinct drafts for import tests and benchmarks.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

from schemas.catalogue import Catalogue, LicenceType, load_catalogue
from schemas.identifiers import citizen_id_check_char, normalise_name, uscc_check_char

__all__ = [
    "DEFAULT_AS_OF",
    "DISTRICTS",
    "PERSONAS",
    "PHOTO_DIR",
    "BirthCertificate",
    "BloodDonation",
    "Citizen",
    "CriminalEntry",
    "CriminalRecord",
    "Diploma",
    "DrivingLicence",
    "Household",
    "HouseholdMember",
    "HouseholdRegistration",
    "HpfAccount",
    "LicenceDraft",
    "Marriage",
    "Organisation",
    "PersonaSpec",
    "Property",
    "RegistrationChange",
    "ResidencePermit",
    "SocialSecurityCard",
    "SystemOfRecord",
    "TeacherQualification",
    "Vehicle",
    "bulk_drafts",
    "photo_bytes",
]

Sex = Literal["男", "女"]
BloodType = Literal["A", "B", "AB", "O"]
_T = TypeVar("_T")

#: The data is "as of" this day unless ``generate(as_of=...)`` says otherwise: every issue date is on or
#: before it and every licence is valid on it (and for about a year after; the residence permit is the
#: shortest, one year from as_of - 40 days).
DEFAULT_AS_OF: Final = date(2026, 11, 1)

PHOTO_DIR: Final = Path(__file__).resolve().parent / "data" / "photos"
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


# --------------------------------------------------------------------------------------------------
# Geography
# --------------------------------------------------------------------------------------------------

#: Current county-level divisions of 长沙市 used for residents: code → (name, police branch, streets).
DISTRICTS: Final[Mapping[str, tuple[str, tuple[str, ...]]]] = {
    "430102": ("芙蓉区", ("五一大道", "解放西路", "韶山北路", "八一路", "人民东路")),
    "430103": ("天心区", ("劳动西路", "书院路", "芙蓉南路", "天心路", "黄兴南路")),
    "430104": ("岳麓区", ("麓山南路", "枫林一路", "岳麓大道", "桐梓坡路", "银盆南路")),
    "430105": ("开福区", ("湘江中路", "芙蓉中路", "三一大道", "营盘东路", "四方坪路")),
    "430111": ("雨花区", ("韶山中路", "劳动东路", "万家丽中路", "曙光中路", "香樟路")),
    "430112": ("望城区", ("郭亮中路", "雷锋大道", "金星北路", "高塘岭大道", "旺旺路")),
    "430121": ("长沙县", ("星沙大道", "开元东路", "板仓路", "东六路", "望仙路")),
}
_DIVISIONS: Final = tuple(DISTRICTS)
#: 望城县, replaced by 望城区 (430112) in 2011: retired, never reused, still in old ID numbers.
RETIRED_DIVISIONS: Final[Mapping[str, tuple[str, str]]] = {"430122": ("望城县", "430112")}
_COMMUNITIES: Final = (
    "枫林苑",
    "金色家园",
    "湘江花园",
    "阳光新城",
    "书香名邸",
    "麓谷小区",
    "锦绣华庭",
    "桂花园",
    "东方明珠小区",
    "芙蓉新村",
    "南湖雅苑",
    "清水塘小区",
)
_STATION_SUFFIX: Final = ("东街", "西湖", "南门", "新河", "望月湖", "车站", "左家塘", "城南")

_SURNAMES: Final = (
    "王",
    "李",
    "张",
    "刘",
    "陈",
    "杨",
    "黄",
    "赵",
    "吴",
    "周",
    "徐",
    "孙",
    "马",
    "朱",
    "胡",
    "郭",
    "何",
    "罗",
    "高",
    "林",
    "谭",
    "彭",
    "曾",
    "邓",
    "唐",
    "欧阳",
)
_GIVEN_M: Final = (
    "伟",
    "强",
    "磊",
    "军",
    "勇",
    "杰",
    "涛",
    "斌",
    "超",
    "明",
    "建军",
    "志刚",
    "海波",
    "国庆",
    "浩然",
    "子轩",
    "宇航",
    "俊杰",
    "文博",
    "建新",
)
_GIVEN_F: Final = (
    "芳",
    "娟",
    "敏",
    "静",
    "丽",
    "艳",
    "霞",
    "玲",
    "秀英",
    "桂兰",
    "丽华",
    "晓燕",
    "雨涵",
    "梓萱",
    "欣怡",
    "思琪",
    "婷婷",
    "雅婷",
    "慧敏",
    "红梅",
)
_MINORITIES: Final = (("回族", 3), ("土家族", 6), ("苗族", 4), ("维吾尔族", 1))


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


# --------------------------------------------------------------------------------------------------
# Personas
# --------------------------------------------------------------------------------------------------


def _persona(
    index: int, name: str, division: str, birth: date, seq: int, ethnicity: str, photo: str, note: str
) -> PersonaSpec:
    return PersonaSpec(index, normalise_name(name), _make_id(division, birth, seq), ethnicity, photo, note)


PERSONAS: Final[tuple[PersonaSpec, ...]] = (
    _persona(
        0,
        "李建华",
        "430102",
        date(1978, 5, 12),
        62,
        "汉族",
        PHOTO_A,
        "person A's face; teacher; married with a child; one mortgaged flat; HPF with a loan",
    ),
    _persona(
        1,
        "周雅琴",
        "430103",
        date(1962, 9, 3),
        48,
        "汉族",
        PHOTO_B,
        "person B's face; two flats, one sealed (查封); HPF account 封存",
    ),
    _persona(
        2,
        "王\U000201d4",
        "430104",
        date(1990, 3, 7),
        31,
        "汉族",
        SILHOUETTE,
        "non-BMP name (U+201D4); no property; blood donor",
    ),
    _persona(
        3,
        "刘\u4dae",
        "430105",
        date(1985, 11, 20),
        17,
        "汉族",
        SILHOUETTE,
        "name outside GBK (U+4DAE); legal representative of organisation 0; one flat",
    ),
    _persona(
        4,
        "张\U0002cc56",
        "430111",
        date(1996, 2, 14),
        24,
        "土家族",
        SILHOUETTE,
        "non-BMP name (U+2CC56); collective household; no property",
    ),
    _persona(
        5,
        "买买提\u00b7艾力",
        "650102",
        date(1988, 7, 22),
        53,
        "维吾尔族",
        SILHOUETTE,
        "U+00B7 middle dot; household registered in 乌鲁木齐; 长沙 residence permit; no property",
    ),
    _persona(
        6,
        "陈桂英",
        "430122",
        date(1938, 12, 1),
        6,
        "汉族",
        SILHOUETTE,
        "retired division code 430122 (望城县); long-term ID card; one old house",
    ),
    _persona(7, "赵志强", "430121", date(1983, 4, 9), 71, "汉族", SILHOUETTE, "has a criminal record"),
)


# --------------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------------

_DRIVING_CLASSES: Final = ("C1", "C1", "C1", "C1", "C2", "B2", "A1", "C1E", "C1D")
_BANKS: Final = ("中国工商银行长沙分行", "中国建设银行长沙分行", "长沙银行", "中国农业银行长沙分行")
_SCHOOLS: Final = (
    ("10532", "湖南大学"),
    ("10533", "中南大学"),
    ("10542", "湖南师范大学"),
    ("10536", "长沙理工大学"),
    ("11535", "湖南工商大学"),
    ("12303", "长沙民政职业技术学院"),
)
_MAJORS: Final = (
    "计算机科学与技术",
    "汉语言文学",
    "会计学",
    "土木工程",
    "临床医学",
    "法学",
    "英语",
    "数学与应用数学",
)
_COMPANY_WORDS: Final = ("湘", "麓", "星", "岳", "楚", "橘洲", "芙蓉", "天心", "开福", "梅溪")
_COMPANY_TRADES: Final = (
    ("科技", "软件开发；信息技术咨询服务；数据处理服务"),
    ("餐饮管理", "餐饮服务；食品销售；餐饮管理"),
    ("建筑工程", "房屋建筑工程施工；市政工程；建筑装饰"),
    ("商贸", "日用百货、五金交电、文具用品销售"),
    ("文化传媒", "文化活动策划；广告设计、制作、发布"),
    ("物流", "普通货物道路运输；仓储服务（不含危险品）"),
)
_VEHICLE_MODELS: Final = (
    "大众汽车牌SVW7155",
    "比亚迪牌BYD7006BEV",
    "丰田牌TV7180",
    "吉利牌MR7152",
    "长安牌SC7164",
)
_VIN_CHARS: Final = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_PLATE_CHARS: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


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


class _Builder:
    """Mutable state while generating; produces a :class:`SystemOfRecord`."""

    def __init__(self, seed: int, as_of: date) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - synthetic demo data, reproducible by design
        self.seed = seed
        self.as_of = as_of
        self.citizens: list[Citizen] = []
        self.used_ids: dict[str, None] = {p.id_number: None for p in PERSONAS}
        self.households: list[Household] = []
        self.registrations: list[HouseholdRegistration] = []
        self.organisations: list[Organisation] = []
        self.properties: list[Property] = []
        self.hpf: list[HpfAccount] = []
        self.driving: list[DrivingLicence] = []
        self.vehicles: list[Vehicle] = []
        self.marriages: list[Marriage] = []
        self.teachers: list[TeacherQualification] = []
        self.diplomas: list[Diploma] = []
        self.donations: list[BloodDonation] = []
        self.ss_cards: list[SocialSecurityCard] = []
        self.births: list[BirthCertificate] = []
        self.permits: list[ResidencePermit] = []
        self.criminal: dict[str, tuple[CriminalEntry, ...]] = {}
        self.counters: dict[str, int] = {}
        self.hpf_ids: dict[str, None] = {}

    # -- small helpers ------------------------------------------------------------------------------
    def next(self, what: str) -> int:
        self.counters[what] = self.counters.get(what, 0) + 1
        return self.counters[what]

    def day_between(self, start: date, end: date) -> date:
        if end <= start:
            return start
        return start + timedelta(days=self.rng.randrange((end - start).days + 1))

    def address(self, division: str) -> str:
        name, streets = DISTRICTS[division]
        r = self.rng
        return (
            f"湖南省长沙市{name}{r.choice(streets)}{r.randrange(1, 400)}号"
            f"{r.choice(_COMMUNITIES)}{r.randrange(1, 30)}栋{r.randrange(1, 33)}{r.randrange(1, 5):02d}室"
        )

    def name(self, sex: Sex, surname: str | None = None) -> str:
        given = self.rng.choice(_GIVEN_M if sex == "男" else _GIVEN_F)
        return normalise_name((surname or self.rng.choice(_SURNAMES)) + given)

    def ethnicity(self) -> str:
        x = self.rng.randrange(100)
        for name, share in _MINORITIES:
            if x < share:
                return name
            x -= share
        return "汉族"

    def new_id(self, division: str, birth: date, sex: Sex) -> str:
        while True:
            seq = self.rng.randrange(500) * 2 + (1 if sex == "男" else 0)
            number = _make_id(division, birth, seq)
            if number not in self.used_ids:
                self.used_ids[number] = None
                return number

    def phone(self) -> str:
        return (
            self.rng.choice(("139", "138", "135", "186", "177", "150")) + f"{self.rng.randrange(10**8):08d}"
        )

    def id_card_issue(self, birth: date) -> date:
        # within the last four years (every age band gives ≥ 5 years): valid on as_of and a year after
        earliest = max(birth + timedelta(days=30), self.as_of - timedelta(days=4 * 365))
        return self.day_between(earliest, self.as_of - timedelta(days=20))

    # -- people ---------------------------------------------------------------------------------------
    def add_citizen(
        self,
        *,
        name: str,
        id_number: str,
        sex: Sex,
        birth: date,
        division: str,
        residence: str,
        ethnicity: str,
        photo: str = SILHOUETTE,
        local_id_card: bool = True,
        former_name: str | None = None,
        address: str | None = None,
    ) -> Citizen:
        born_in = _district_name(division) if division[:4] == "4301" else "新疆维吾尔自治区乌鲁木齐市"
        native = "湖南省长沙市" if division[:4] == "4301" else "新疆维吾尔自治区乌鲁木齐市"
        c = Citizen(
            index=len(self.citizens),
            id_number=id_number,
            name=normalise_name(name),
            sex=sex,
            ethnicity=ethnicity,
            birth_date=birth,
            division=division,
            residence_division=residence,
            address=address or self.address(residence),
            phone=self.phone(),
            photo=photo,
            face_login=photo != SILHOUETTE,
            native_place=native,
            birthplace=born_in if born_in.endswith("市") else f"湖南省长沙市{born_in}",
            former_name=former_name,
            id_card_issued_on=self.id_card_issue(birth) if local_id_card else None,
            id_card_authority=_police_branch(division) if local_id_card else "乌鲁木齐市公安局天山区分局",
        )
        self.citizens.append(c)
        return c

    def random_person(
        self, *, sex: Sex, birth: date, division: str, surname: str | None = None, address: str | None = None
    ) -> Citizen:
        return self.add_citizen(
            name=self.name(sex, surname),
            id_number=self.new_id(division, birth, sex),
            sex=sex,
            birth=birth,
            division=division,
            residence=division,
            ethnicity=self.ethnicity(),
            address=address,
        )

    # -- households ----------------------------------------------------------------------------------
    def household(
        self,
        members: list[tuple[Citizen, str]],
        *,
        collective: str | None = None,
        nature: str = "非农业家庭户口",
    ) -> Household:
        head = members[0][0]
        division = head.residence_division
        n = self.next("household")
        station = f"{_police_branch(division)}{self.rng.choice(_STATION_SUFFIX)}派出所"
        hh = Household(
            household_no=f"{division[2:]}{n:06d}",
            household_type="集体户" if collective else "家庭户",
            address=head.address,
            division=division,
            head_name=collective or head.name,
            head_id_number=None if collective else head.id_number,
            members=tuple(HouseholdMember(c.id_number, c.name, rel) for c, rel in members),
            police_station=station,
            issued_on=self.day_between(self.as_of - timedelta(days=3 * 365), self.as_of - timedelta(days=10)),
        )
        self.households.append(hh)
        for c, rel in members:
            changes: list[RegistrationChange] = []
            if c.birth_date >= date(2000, 1, 1) and rel in ("子", "女", "孙子", "孙女"):
                registered = c.birth_date + timedelta(days=self.rng.randrange(10, 60))
                changes.append(RegistrationChange(registered, "出生登记", f"出生申报，登记于{station}"))
            else:
                registered = self.day_between(
                    max(c.birth_date + timedelta(days=18 * 365), date(1990, 1, 1)),
                    self.as_of - timedelta(days=400),
                )
                origin = self.rng.choice(("湖南省邵阳市", "湖南省衡阳市", "湖南省常德市", "湖南省长沙市"))
                changes.append(RegistrationChange(registered, "迁入", f"由{origin}迁入"))
            if rel in ("户主", "配偶") and not collective and self.rng.random() < 0.5:
                changes.append(
                    RegistrationChange(
                        self.day_between(registered, self.as_of - timedelta(days=30)),
                        "婚姻状况变更",
                        "未婚 → 已婚",
                    )
                )
            nature_now = "居民家庭户口" if registered >= date(2016, 1, 1) else nature
            if collective:
                nature_now = "居民集体户口"
            self.registrations.append(
                HouseholdRegistration(
                    id_number=c.id_number,
                    name=c.name,
                    sex=c.sex,
                    ethnicity=c.ethnicity,
                    birth_date=c.birth_date,
                    address=hh.address,
                    household_no=hh.household_no,
                    household_nature=nature_now,
                    relationship=rel,
                    registered_on=registered,
                    changes=tuple(changes),
                    police_station=station,
                )
            )
        return hh

    # -- holdings --------------------------------------------------------------------------------------
    def marriage(self, husband: Citizen, wife: Citizen, on: date | None = None) -> Marriage:
        youngest = max(husband.birth_date, wife.birth_date)
        latest = self.as_of - timedelta(days=30)
        day = on or self.day_between(
            min(_add_years(youngest, 23), latest), min(_add_years(youngest, 32), latest)
        )
        div = husband.residence_division
        m = Marriage(
            cert_no=f"J{div}-{day.year}-{self.next('marriage' + div + str(day.year)):06d}",
            husband_id_number=husband.id_number,
            wife_id_number=wife.id_number,
            registered_on=day,
            registration_authority=f"长沙市{_district_name(div)}民政局",
        )
        self.marriages.append(m)
        return m

    def property_(
        self,
        owners: list[Citizen],
        *,
        mortgaged: bool = False,
        sealed: bool = False,
        usage: str = "成套住宅",
        registered_on: date | None = None,
    ) -> Property:
        r = self.rng
        head = owners[0]
        div = head.residence_division
        day = registered_on or self.day_between(
            max(_add_years(head.birth_date, 22), date(2010, 1, 1)), self.as_of - timedelta(days=60)
        )
        n = self.next("property")
        cadastral = f"{r.randrange(1, 20):03d}{r.randrange(1, 20):03d}"
        unit = f"{div}{cadastral}GB{r.randrange(1, 99999):05d}F{n:04d}{r.randrange(1, 3300):04d}"
        name, streets = DISTRICTS[div]
        location = (
            f"长沙市{name}{r.choice(streets)}{r.randrange(1, 400)}号{r.choice(_COMMUNITIES)}"
            f"{r.randrange(1, 30)}栋{r.randrange(1, 33)}{r.randrange(1, 5):02d}"
        )
        start = date(day.year - r.randrange(0, 8), 1, 1)
        p = Property(
            certificate_no=f"湘({day.year})长沙市不动产权第{n + 100000:07d}号",
            unit_number=unit,
            owners=tuple((o.name, o.id_number) for o in owners),
            co_ownership="单独所有" if len(owners) == 1 else "共同共有",
            location=location,
            division=div,
            right_type="国有建设用地使用权/房屋所有权",
            right_nature="出让/市场化商品房",
            usage=f"城镇住宅用地/{usage}",
            area_m2=_q2(Decimal(r.randrange(4500, 16000)) / 100),
            term=f"国有建设用地使用权 {start.year}年01月01日起{start.year + 70}年12月31日止",
            registered_on=day,
            mortgaged=mortgaged,
            sealed=sealed,
        )
        self.properties.append(p)
        return p

    def hpf_account(
        self, c: Citizen, *, status: Literal["正常", "封存"] = "正常", loan: bool = False
    ) -> HpfAccount:
        r = self.rng
        employer = r.choice(self.organisations)
        opened = _month(
            self.day_between(
                max(_add_years(c.birth_date, 22), date(2005, 1, 1)), self.as_of - timedelta(days=400)
            )
        )
        rate = r.choice((5, 8, 10, 12))
        base = Decimal(r.randrange(25, 250) * 100)
        monthly = _q2(base * rate / 100) * 2
        last_month = _add_months(_month(self.as_of), -1)
        paid_until = last_month if status == "正常" else _add_months(last_month, -r.randrange(3, 30))
        paid_until = max(paid_until, opened)
        months = (paid_until.year - opened.year) * 12 + paid_until.month - opened.month + 1
        cont_from = _add_months(paid_until, -min(months - 1, r.randrange(6, 120)))
        loan_total = Decimal(r.randrange(20, 80) * 10000) if loan else Decimal(0)
        acc = HpfAccount(
            account_no=f"4301{self.next('hpf'):010d}",
            id_number=c.id_number,
            name=c.name,
            employer_name=employer.name,
            employer_uscc=employer.uscc,
            opened=opened,
            status=status,
            base=_q2(base),
            employer_rate=rate,
            personal_rate=rate,
            monthly_amount=monthly,
            balance=_q2(monthly * months * Decimal(r.randrange(20, 100)) / 100),
            paid_until=paid_until,
            continuous_from=cont_from,
            continuous_to=paid_until,
            loan_count=1 if loan else 0,
            loan_total=_q2(loan_total),
            loan_outstanding=_q2(loan_total * Decimal(r.randrange(20, 90)) / 100)
            if loan
            else Decimal("0.00"),
        )
        self.hpf.append(acc)
        self.hpf_ids[c.id_number] = None
        return acc

    def driving_licence(self, c: Citizen) -> None:
        r = self.rng
        first = self.day_between(_add_years(c.birth_date, 18), self.as_of - timedelta(days=200))
        years_held = (self.as_of - first).days // 365
        if years_held >= 12 and r.random() < 0.6:
            issued, expires = self.day_between(_add_years(first, 12), self.as_of - timedelta(days=30)), None
        else:
            issued = self.day_between(
                max(first, self.as_of - timedelta(days=4 * 365)), self.as_of - timedelta(days=30)
            )
            expires = _add_years(issued, 6 if issued == first or years_held < 6 else 10)
        self.driving.append(
            DrivingLicence(
                c.id_number, first, r.choice(_DRIVING_CLASSES), issued, expires, f"4301{self.next('dl'):08d}"
            )
        )
        if r.random() < 0.6:
            reg = self.day_between(max(first, date(2012, 1, 1)), self.as_of - timedelta(days=30))
            plate = "湘A" + "".join(r.choice(_PLATE_CHARS) for _ in range(5))
            vin = "L" + "".join(r.choice(_VIN_CHARS) for _ in range(16))
            self.vehicles.append(
                Vehicle(
                    plate,
                    c.id_number,
                    "小型轿车",
                    "非营运",
                    r.choice(_VEHICLE_MODELS),
                    vin,
                    f"{r.randrange(10**7):07d}{r.choice('ABCDEFGH')}",
                    reg,
                    reg,
                )
            )

    def diploma(self, c: Citizen, level: str = "本科") -> None:
        r = self.rng
        code, school = r.choice(_SCHOOLS)
        years = {"本科": 4, "专科": 3, "硕士研究生": 3, "博士研究生": 4}[level]
        entered = date(
            c.birth_date.year + {"本科": 18, "专科": 18, "硕士研究生": 22, "博士研究生": 25}[level], 9, 1
        )
        graduated = date(entered.year + years, 6, 30)
        lvl = {"本科": "05", "专科": "06", "硕士研究生": "02", "博士研究生": "01"}[level]
        self.diplomas.append(
            Diploma(
                f"{code}1{graduated.year}{lvl}{self.next('diploma'):06d}",
                c.id_number,
                school,
                r.choice(_MAJORS),
                level,
                "普通全日制",
                entered,
                graduated,
            )
        )

    def teacher(self, c: Citizen) -> None:
        r = self.rng
        day = self.day_between(
            max(_add_years(c.birth_date, 23), date(1995, 1, 1)), self.as_of - timedelta(days=90)
        )
        kind, qual = r.choice((("2", "小学教师资格"), ("3", "初级中学教师资格"), ("4", "高级中学教师资格")))
        sex_digit = "1" if c.sex == "男" else "2"
        self.teachers.append(
            TeacherQualification(
                f"{day.year}43{kind}{sex_digit}{self.next('teacher'):09d}",
                c.id_number,
                qual,
                r.choice(("语文", "数学", "英语", "物理", "音乐")),
                day,
                f"长沙市{_district_name(c.residence_division)}教育局",
            )
        )

    def donate(self, c: Citizen, count: int) -> None:
        r = self.rng
        blood: BloodType = r.choice(("A", "B", "AB", "O", "O", "A"))
        rh: Literal["阳性", "阴性"] = "阴性" if r.random() < 0.02 else "阳性"
        for _ in range(count):
            day = self.day_between(
                max(_add_years(c.birth_date, 18), self.as_of - timedelta(days=8 * 365)),
                self.as_of - timedelta(days=7),
            )
            platelets = r.random() < 0.2
            self.donations.append(
                BloodDonation(
                    cert_no=f"4300{day.year}{self.next('blood'):08d}",
                    id_number=c.id_number,
                    blood_type=blood,
                    rh=rh,
                    donation_type="单采血小板" if platelets else "全血",
                    volume_ml=400 if platelets else r.choice((200, 300, 400)),
                    donated_on=day,
                    site=r.choice(("湖南省血液中心", "五一广场爱心献血屋", "岳麓山献血屋", "星沙献血点")),
                )
            )
        self.donations.sort(key=lambda d: (d.id_number, d.donated_on, d.cert_no))

    def ss_card(self, c: Citizen) -> None:
        day = self.day_between(
            max(_add_years(c.birth_date, 16), self.as_of - timedelta(days=9 * 365)),
            self.as_of - timedelta(days=15),
        )
        self.ss_cards.append(
            SocialSecurityCard(
                f"A{self.next('ssc') + 43000000:08d}", c.id_number, day, self.rng.choice(_BANKS)
            )
        )

    def birth(self, child: Citizen, mother: Citizen, father: Citizen | None) -> None:
        r = self.rng
        if child.birth_date < date(1996, 1, 1):
            return
        self.births.append(
            BirthCertificate(
                cert_no=f"{'R' if child.birth_date.year >= 2010 else 'P'}43{self.next('birth'):07d}",
                child_id_number=child.id_number,
                mother_id_number=mother.id_number,
                father_id_number=father.id_number if father else None,
                birth_time=f"{r.randrange(24):02d}:{r.randrange(60):02d}",
                gestational_weeks=r.randrange(37, 42),
                birth_weight_g=r.randrange(2600, 4200),
                birth_length_cm=r.randrange(47, 54),
                institution=r.choice(("湖南省妇幼保健院", "中南大学湘雅医院", "长沙市妇幼保健院")),
                issued_on=child.birth_date + timedelta(days=r.randrange(1, 20)),
            )
        )

    def organisation(self, rep: Citizen, *, name: str | None = None) -> Organisation:
        r = self.rng
        div = rep.residence_division
        n = self.next("org")
        body = f"{n * 7919 + 10000000:08d}"[-8:]
        org_code = body + _org_code_check(body)
        first17 = f"91{div}{org_code}"
        word, (trade, scope) = r.choice(_COMPANY_WORDS), r.choice(_COMPANY_TRADES)
        est = self.day_between(date(2003, 1, 1), self.as_of - timedelta(days=100))
        o = Organisation(
            uscc=first17 + uscc_check_char(first17),
            name=normalise_name(name or f"长沙{word}{'云启恒达新锐瑞丰'[n % 8]}{trade}有限公司"),
            company_type="有限责任公司（自然人投资或控股）",
            legal_representative=rep.name,
            legal_representative_id=rep.id_number,
            business_scope=scope + "。（依法须经批准的项目，经相关部门批准后方可开展经营活动）",
            registered_capital=f"{r.choice((50, 100, 200, 500, 1000))}万元人民币",
            established_on=est,
            operating_until=None if r.random() < 0.5 else _add_years(est, r.choice((20, 30, 50))),
            domicile=f"湖南省长沙市{_district_name(div)}{r.choice(DISTRICTS[div][1])}{r.randrange(1, 400)}号",
            registration_authority=f"长沙市{_district_name(div)}市场监督管理局",
            division=div,
            licence_issued_on=self.day_between(est, self.as_of - timedelta(days=30)),
        )
        self.organisations.append(o)
        return o


def _org_code_check(body8: str) -> str:
    """GB 11714 organisation-code check character for 8 body characters (digits here)."""
    total = sum(int(c, 36) * w for c, w in zip(body8, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    c9 = 11 - total % 11
    return {10: "X", 11: "0"}.get(c9, str(c9))


class SystemOfRecord:
    """The synthetic system of record.  Build with :meth:`generate`; read-only afterwards."""

    def __init__(self, b: _Builder) -> None:
        self.seed: Final = b.seed
        self.as_of: Final = b.as_of
        self.citizens: Final = tuple(b.citizens)
        self.households: Final = tuple(b.households)
        self.household_registrations: Final = tuple(b.registrations)
        self.organisations: Final = tuple(b.organisations)
        self.properties: Final = tuple(b.properties)
        self.hpf_accounts: Final = tuple(b.hpf)
        self.driving_licences: Final = tuple(b.driving)
        self.vehicles: Final = tuple(b.vehicles)
        self.marriages: Final = tuple(b.marriages)
        self.teacher_qualifications: Final = tuple(b.teachers)
        self.diplomas: Final = tuple(b.diplomas)
        self.blood_donations: Final = tuple(b.donations)
        self.social_security_cards: Final = tuple(b.ss_cards)
        self.birth_certificates: Final = tuple(b.births)
        self.residence_permits: Final = tuple(b.permits)
        self.criminal_entries: Final = dict(b.criminal)
        self._by_id = {c.id_number: c for c in self.citizens}
        self._orgs = {o.uscc: o for o in self.organisations}
        self._regs = {r.id_number: r for r in self.household_registrations}
        self._hpf = {a.id_number: a for a in self.hpf_accounts}

    # -- building ------------------------------------------------------------------------------------
    @classmethod
    def generate(
        cls, seed: int = 2024, citizens: int = 120, organisations: int = 12, *, as_of: date = DEFAULT_AS_OF
    ) -> SystemOfRecord:
        """Deterministic synthetic data: the 8 :data:`PERSONAS` and their families, then random households
        until there are ``citizens`` people (at least 16), and ``organisations`` companies (at least 3).
        ``as_of`` must not be in the future (ID numbers with future birth dates are invalid)."""
        if citizens < 16:
            raise ValueError("citizens must be at least 16 (the personas and their families)")
        if organisations < 3:
            raise ValueError("organisations must be at least 3")
        b = _Builder(seed, as_of)
        _build(b, citizens, organisations)
        return cls(b)

    # -- queries (department data sources for proofs) -------------------------------------------------
    def citizen(self, id_number: str) -> Citizen | None:
        return self._by_id.get(id_number.upper())

    def organisation(self, uscc: str) -> Organisation | None:
        return self._orgs.get(uscc.upper())

    def persona(self, index: int) -> Citizen:
        """Persona ``index`` (see :data:`PERSONAS`)."""
        return self.citizens[PERSONAS[index].index]

    def properties_of(self, id_number: str) -> tuple[Property, ...]:
        """Every registered property the person is a right holder of (empty: 名下无不动产登记记录)."""
        key = id_number.upper()
        return tuple(p for p in self.properties if any(i == key for _, i in p.owners))

    def hpf_account_of(self, id_number: str) -> HpfAccount | None:
        return self._hpf.get(id_number.upper())

    def household_registration_of(self, id_number: str) -> HouseholdRegistration | None:
        return self._regs.get(id_number.upper())

    def household_of(self, id_number: str) -> Household | None:
        key = id_number.upper()
        return next((h for h in self.households if any(m.id_number == key for m in h.members)), None)

    def blood_donations_of(self, id_number: str) -> tuple[BloodDonation, ...]:
        key = id_number.upper()
        return tuple(d for d in self.blood_donations if d.id_number == key)

    def criminal_record_of(self, id_number: str) -> CriminalRecord | None:
        """The record check for a known citizen (``entries`` empty for most); None for an unknown number."""
        c = self.citizen(id_number)
        if c is None:
            return None
        return CriminalRecord(c.id_number, c.name, self.criminal_entries.get(c.id_number, ()))

    def marriages_of(self, id_number: str) -> tuple[Marriage, ...]:
        key = id_number.upper()
        return tuple(m for m in self.marriages if key in (m.husband_id_number, m.wife_id_number))

    # -- licences --------------------------------------------------------------------------------------
    def licences(self, catalogue: Catalogue | None = None) -> Iterator[LicenceDraft]:
        """Every licence held, as drafts; deterministic order and serials."""
        return _LicenceMaker(self, catalogue or load_catalogue()).drafts()


# --------------------------------------------------------------------------------------------------
# Generation plan
# --------------------------------------------------------------------------------------------------


def _persona_citizen(b: _Builder, p: PersonaSpec, *, residence: str, sex: Sex, local: bool = True) -> Citizen:
    number = p.id_number
    birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    return b.add_citizen(
        name=p.name,
        id_number=number,
        sex=sex,
        birth=birth,
        division=number[:6],
        residence=residence,
        ethnicity=p.ethnicity,
        photo=p.photo,
        local_id_card=local,
    )


def _build(b: _Builder, n_citizens: int, n_orgs: int) -> None:
    r = b.rng
    # 1. the personas themselves (indexes 0..7)
    p = [
        _persona_citizen(b, PERSONAS[0], residence="430102", sex="女"),
        _persona_citizen(b, PERSONAS[1], residence="430103", sex="女"),
        _persona_citizen(b, PERSONAS[2], residence="430104", sex="男"),
        _persona_citizen(b, PERSONAS[3], residence="430105", sex="男"),
        _persona_citizen(b, PERSONAS[4], residence="430111", sex="女"),
        _persona_citizen(b, PERSONAS[5], residence="430104", sex="男", local=False),
        _persona_citizen(b, PERSONAS[6], residence="430112", sex="女"),
        _persona_citizen(b, PERSONAS[7], residence="430121", sex="男"),
    ]
    for spec, c in zip(PERSONAS, p, strict=True):
        assert spec.index == c.index  # noqa: S101 - construction invariant
    # 2. their families
    husband0 = b.random_person(sex="男", birth=date(1976, 8, 19), division="430102", address=p[0].address)
    child0 = b.random_person(
        sex="女", birth=date(2008, 4, 2), division="430102", address=p[0].address, surname=husband0.name[0]
    )
    son1 = b.random_person(sex="男", birth=date(1989, 1, 15), division="430103", address=p[1].address)
    wife3 = b.random_person(sex="女", birth=date(1987, 6, 30), division="430105", address=p[3].address)
    grandson6 = b.random_person(
        sex="男", birth=date(1995, 10, 8), division="430112", address=p[6].address, surname="陈"
    )
    # organisations need legal representatives: persona 3 first, then random adults later
    b.organisation(p[3])

    b.household([(p[0], "户主"), (husband0, "配偶"), (child0, "女")])
    b.household([(p[1], "户主"), (son1, "子")])
    b.household([(p[2], "户主")])
    b.household([(p[3], "户主"), (wife3, "配偶")])
    b.household([(p[4], "集体户成员")], collective="长沙星城科技有限公司集体户")
    b.household([(p[6], "户主"), (grandson6, "孙子")], nature="农业家庭户口")
    b.household([(p[7], "户主")])
    b.permits.append(
        ResidencePermit(
            f"430104{b.next('permit'):010d}",
            p[5].id_number,
            p[5].address,
            b.as_of - timedelta(days=40),
            "长沙市公安局岳麓分局",
        )
    )
    b.marriage(husband0, p[0], date(2006, 10, 1))
    b.marriage(p[3], wife3)
    b.birth(child0, p[0], husband0)
    b.criminal[p[7].id_number] = (
        CriminalEntry(date(2012, 5, 18), "长沙县人民法院", "盗窃罪", "有期徒刑一年，缓刑一年"),
    )

    # 3. random households until the population is reached
    while len(b.citizens) < n_citizens:
        room = n_citizens - len(b.citizens)
        div = r.choice(_DIVISIONS)
        head_sex: Sex = r.choice(("男", "女"))
        head_birth = b.day_between(date(1950, 1, 1), date(2000, 12, 31))
        head = b.random_person(sex=head_sex, birth=head_birth, division=div)
        members: list[tuple[Citizen, str]] = [(head, "户主")]
        spouse = None
        if room >= 2 and r.random() < 0.7:
            other: Sex = "女" if head_sex == "男" else "男"
            spouse = b.random_person(
                sex=other,
                birth=head_birth + timedelta(days=r.randrange(-1500, 1500)),
                division=div,
                address=head.address,
            )
            members.append((spouse, "配偶"))
            husband, wife = (head, spouse) if head_sex == "男" else (spouse, head)
            b.marriage(husband, wife)
            kids = min(room - 2, r.choice((0, 1, 1, 2)))
            for _ in range(kids):
                lo = _add_years(max(head.birth_date, spouse.birth_date), 22)
                kid_birth = b.day_between(lo, min(_add_years(lo, 15), b.as_of - timedelta(days=60)))
                if kid_birth >= b.as_of - timedelta(days=60):
                    break
                ksex: Sex = r.choice(("男", "女"))
                kid = b.random_person(
                    sex=ksex, birth=kid_birth, division=div, address=head.address, surname=husband.name[0]
                )
                members.append((kid, "子" if ksex == "男" else "女"))
                b.birth(kid, wife, husband)
        b.household(members)

    # 4. organisations (legal representatives: adults, deterministic picks)
    adults = [c for c in b.citizens if c.age_on(b.as_of) >= 25 and c.index >= len(PERSONAS)]
    while len(b.organisations) < n_orgs:
        b.organisation(r.choice(adults))

    # 5. holdings of the personas
    b.property_([p[0], husband0], mortgaged=True)
    b.property_([p[1]])
    b.property_([p[1]], sealed=True)
    b.property_([p[3], wife3])
    b.property_([p[6]], usage="住宅", registered_on=date(2011, 3, 15))
    b.hpf_account(p[0], loan=True)
    b.hpf_account(p[1], status="封存")
    b.hpf_account(p[2])
    b.hpf_account(p[3])
    b.hpf_account(p[5])
    b.hpf_account(p[7])
    for c in (p[0], husband0, p[3], p[7]):
        b.driving_licence(c)
    b.teacher(p[0])
    b.diploma(p[0])
    b.diploma(p[1], "硕士研究生")
    b.diploma(p[2])
    b.diploma(p[4], "专科")
    b.donate(p[0], 1)
    b.donate(p[2], 3)
    b.donate(p[4], 1)
    for c in p[:6]:
        b.ss_card(c)
    b.ss_card(p[7])

    # 6. holdings of everyone else
    for hh in b.households[len(PERSONAS) - 1 :]:
        head_c = next(c for c in b.citizens if c.id_number == hh.members[0].id_number)
        if head_c.age_on(b.as_of) >= 22:
            x = r.random()
            spouse_ids = [m.id_number for m in hh.members if m.relationship == "配偶"]
            owners = [head_c] + [c for c in b.citizens if c.id_number in spouse_ids]
            if x < 0.5:
                b.property_(owners, mortgaged=r.random() < 0.3, sealed=r.random() < 0.03)
            elif x < 0.65:
                b.property_(owners, mortgaged=r.random() < 0.3)
                b.property_([head_c], sealed=r.random() < 0.1)
    for c in b.citizens[len(PERSONAS) :]:
        age = c.age_on(b.as_of)
        if age >= 16 and r.random() < 0.85:
            b.ss_card(c)
        if 22 <= age <= 60 and r.random() < 0.55 and c.id_number not in b.hpf_ids:
            b.hpf_account(c, status="正常" if r.random() < 0.85 else "封存", loan=r.random() < 0.2)
        if 18 <= age <= 70 and r.random() < 0.45 and c is not husband0:
            b.driving_licence(c)
        if 22 <= age <= 65 and r.random() < 0.4:
            b.diploma(c, r.choice(("本科", "本科", "专科", "硕士研究生")))
        if 23 <= age <= 60 and r.random() < 0.06:
            b.teacher(c)
        if 18 <= age <= 60 and r.random() < 0.2:
            b.donate(c, r.randrange(1, 4))


# --------------------------------------------------------------------------------------------------
# Records → licence drafts
# --------------------------------------------------------------------------------------------------


def _iso(d: date | None) -> str:
    return "长期" if d is None else d.isoformat()


#: Licence types whose faces this module builds from its own registers; the rest come from the catalogue.
RECORD_TYPES: Final = frozenset({
    "resident_id_card", "residence_permit", "household_register", "business_licence", "realty_certificate",
    "driving_licence", "vehicle_licence", "marriage_certificate", "teacher_qualification", "diploma",
    "blood_donation", "social_security_card", "birth_certificate",
})


class _LicenceMaker:
    def __init__(self, sor: SystemOfRecord, catalogue: Catalogue) -> None:
        self.sor = sor
        self.cat = catalogue
        self.serial = 0

    def draft(self, type_key: str, fields: dict[str, Any], issued_on: date) -> LicenceDraft:
        lt: LicenceType = self.cat.licence_types[type_key]
        self.serial += 1
        return LicenceDraft(
            type_key=type_key,
            department_id=lt.issuing_departments[0],
            holder_code=str(fields[lt.holder_code_field]),
            holder_name=str(fields[lt.holder_name_field]),
            licence_no=str(fields[lt.licence_no_field]),
            serial=f"{self.sor.seed % 100000:05d}{self.serial:07d}",
            fields=fields,
            issued_on=issued_on,
            valid_from=issued_on,
            valid_until=lt.validity_until(issued_on, fields),
        )

    def drafts(self) -> Iterator[LicenceDraft]:
        sor = self.sor
        cit = sor.citizen

        def person(c: Citizen) -> dict[str, Any]:
            return {"name": c.name, "sex": c.sex}

        for c in sor.citizens:
            if c.id_card_issued_on is not None:
                yield self.draft(
                    "resident_id_card",
                    {
                        **person(c),
                        "ethnicity": c.ethnicity,
                        "birth_date": c.birth_date.isoformat(),
                        "address": c.address.removeprefix("湖南省"),
                        "id_number": c.id_number,
                        "issuing_authority": c.id_card_authority,
                        "photo": _photo_b64(c.photo),
                    },
                    c.id_card_issued_on,
                )
        for rp in sor.residence_permits:
            c = _need(cit(rp.id_number))
            yield self.draft(
                "residence_permit",
                {
                    **person(c),
                    "ethnicity": c.ethnicity,
                    "birth_date": c.birth_date.isoformat(),
                    "id_number": c.id_number,
                    "residence_address": rp.address,
                    "permit_no": rp.permit_no,
                    "issuing_authority": rp.issuing_authority,
                    "photo": _photo_b64(c.photo),
                },
                rp.issued_on,
            )
        for hh in sor.households:
            for m in hh.members:
                c = _need(cit(m.id_number))
                f: dict[str, Any] = {
                    "household_type": hh.household_type,
                    "household_no": hh.household_no,
                    "household_address": hh.address,
                    "head_name": hh.head_name,
                    **person(c),
                    "relationship": m.relationship,
                    "birthplace": c.birthplace,
                    "ethnicity": c.ethnicity,
                    "native_place": c.native_place,
                    "birth_date": c.birth_date.isoformat(),
                    "id_number": c.id_number,
                    "registered_on": _need(
                        sor.household_registration_of(c.id_number)
                    ).registered_on.isoformat(),
                }
                if c.former_name:
                    f["former_name"] = c.former_name
                yield self.draft("household_register", f, hh.issued_on)
        for dl in sor.driving_licences:
            c = _need(cit(dl.id_number))
            yield self.draft(
                "driving_licence",
                {
                    **person(c),
                    "birth_date": c.birth_date.isoformat(),
                    "nationality": "中国",
                    "address": c.address.removeprefix("湖南省"),
                    "licence_number": c.id_number,
                    "first_issued_on": dl.first_issued_on.isoformat(),
                    "vehicle_classes": dl.vehicle_classes,
                    "expires_on": _iso(dl.expires_on),
                    "file_number": dl.file_number,
                },
                dl.issued_on,
            )
        for v in sor.vehicles:
            c = _need(cit(v.owner_id_number))
            yield self.draft(
                "vehicle_licence",
                {
                    "plate_number": v.plate_number,
                    "vehicle_type": v.vehicle_type,
                    "owner": c.name,
                    "owner_id_number": c.id_number,
                    "address": c.address.removeprefix("湖南省"),
                    "use_character": v.use_character,
                    "model": v.model,
                    "vin": v.vin,
                    "engine_number": v.engine_number,
                    "registered_on": v.registered_on.isoformat(),
                    "certificate_issued_on": v.certificate_issued_on.isoformat(),
                },
                v.certificate_issued_on,
            )
        for p in sor.properties:
            f = {
                "certificate_no": p.certificate_no,
                "right_holder": p.holder_name,
                "right_holder_id_number": p.holder_id_number,
                "co_ownership": p.co_ownership,
                "location": p.location,
                "unit_number": p.unit_number,
                "right_type": p.right_type,
                "right_nature": p.right_nature,
                "usage": p.usage,
                "area": f"房屋建筑面积{p.area_m2}㎡",
                "term": p.term,
                "registered_on": p.registered_on.isoformat(),
            }
            yield self.draft("realty_certificate", f, p.registered_on)
        for o in sor.organisations:
            yield self.draft(
                "business_licence",
                {
                    "uscc": o.uscc,
                    "company_name": o.name,
                    "company_type": o.company_type,
                    "legal_representative": o.legal_representative,
                    "business_scope": o.business_scope,
                    "registered_capital": o.registered_capital,
                    "established_on": o.established_on.isoformat(),
                    "operating_until": _iso(o.operating_until),
                    "domicile": o.domicile,
                    "registration_authority": o.registration_authority,
                },
                o.licence_issued_on,
            )
        for mar in sor.marriages:
            h, w = _need(cit(mar.husband_id_number)), _need(cit(mar.wife_id_number))
            for me, other in ((h, w), (w, h)):
                yield self.draft(
                    "marriage_certificate",
                    {
                        "cert_no": mar.cert_no,
                        **person(me),
                        "nationality": "中国",
                        "birth_date": me.birth_date.isoformat(),
                        "id_number": me.id_number,
                        "spouse_name": other.name,
                        "spouse_sex": other.sex,
                        "spouse_nationality": "中国",
                        "spouse_birth_date": other.birth_date.isoformat(),
                        "spouse_id_number": other.id_number,
                        "registered_on": mar.registered_on.isoformat(),
                        "registration_authority": mar.registration_authority,
                    },
                    mar.registered_on,
                )
        for t in sor.teacher_qualifications:
            c = _need(cit(t.id_number))
            yield self.draft(
                "teacher_qualification",
                {
                    "cert_no": t.cert_no,
                    **person(c),
                    "birth_date": c.birth_date.isoformat(),
                    "id_number": c.id_number,
                    "qualification_type": t.qualification_type,
                    "subject": t.subject,
                    "recognised_on": t.recognised_on.isoformat(),
                    "recognising_authority": t.recognising_authority,
                },
                t.recognised_on,
            )
        for d in sor.diplomas:
            c = _need(cit(d.id_number))
            yield self.draft("diploma", _diploma_fields(d, c.name, c.sex, c.birth_date), d.graduated_on)
        for bd in sor.blood_donations:
            c = _need(cit(bd.id_number))
            yield self.draft("blood_donation", _blood_fields(bd, c.name, c.sex), bd.donated_on)
        for s in sor.social_security_cards:
            c = _need(cit(s.id_number))
            yield self.draft(
                "social_security_card",
                {
                    "card_no": s.card_no,
                    "social_security_number": c.id_number,
                    **person(c),
                    "card_issued_on": s.issued_on.isoformat(),
                    "bank": s.bank,
                },
                s.issued_on,
            )
        for bc in sor.birth_certificates:
            child, mother = _need(cit(bc.child_id_number)), _need(cit(bc.mother_id_number))
            f = {
                "cert_no": bc.cert_no,
                "newborn_name": child.name,
                "newborn_sex": child.sex,
                "birth_date": child.birth_date.isoformat(),
                "birth_time": bc.birth_time,
                "gestational_weeks": bc.gestational_weeks,
                "birth_weight_g": bc.birth_weight_g,
                "birth_length_cm": bc.birth_length_cm,
                "birthplace": f"湖南省长沙市{_district_name(child.division)}",
                "delivery_institution": bc.institution,
                "mother_name": mother.name,
                "mother_nationality": "中国",
                "mother_ethnicity": mother.ethnicity,
                "mother_id_number": mother.id_number,
                "issuing_institution": bc.institution,
            }
            if bc.father_id_number:
                father = _need(cit(bc.father_id_number))
                f |= {
                    "father_name": father.name,
                    "father_nationality": "中国",
                    "father_ethnicity": father.ethnicity,
                    "father_id_number": father.id_number,
                }
            yield self.draft("birth_certificate", f, bc.issued_on)
        yield from self._catalogue_made()

    def _catalogue_made(self) -> Iterator[LicenceDraft]:
        """The licence types this module does not model: faces from the catalogue's examples
        (:mod:`issuers.demo.catalogue_licences`), holders from ``issuers/demo/data/holdings.json``."""
        from issuers.demo import catalogue_licences as made

        issued = self.sor.as_of.replace(year=self.sor.as_of.year - 2)
        for key, index, is_org in made.plan(self.cat, RECORD_TYPES):
            lt = self.cat.licence_types[key]
            c = self.sor.persona(index)
            if is_org:
                o = next(o for o in self.sor.organisations if o.legal_representative_id == c.id_number)
                ident = made.org_identity(lt, uscc=o.uscc, name=o.name, legal_representative=o.legal_representative,
                                          legal_representative_id=c.id_number)
            else:
                ident = made.person_identity(lt, id_number=c.id_number, name=c.name, sex=c.sex,
                                             birth=c.birth_date, ethnicity=c.ethnicity)
            yield self.draft(key, made.face_fields(lt, ident), issued)


def _need(x: _T | None) -> _T:
    if x is None:
        raise LookupError("inconsistent system of record")
    return x


def _diploma_fields(d: Diploma, name: str, sex: Sex, birth: date) -> dict[str, Any]:
    return {
        "cert_no": d.cert_no,
        "name": name,
        "sex": sex,
        "birth_date": birth.isoformat(),
        "id_number": d.id_number,
        "school": d.school,
        "major": d.major,
        "education_level": d.education_level,
        "study_form": d.study_form,
        "entered_on": d.entered_on.isoformat(),
        "graduated_on": d.graduated_on.isoformat(),
        "graduation_status": "毕业",
    }


def _blood_fields(d: BloodDonation, name: str, sex: Sex) -> dict[str, Any]:
    return {
        "cert_no": d.cert_no,
        "name": name,
        "sex": sex,
        "id_number": d.id_number,
        "blood_type": d.blood_type,
        "rh": d.rh,
        "donation_type": d.donation_type,
        "volume_ml": d.volume_ml,
        "donated_on": d.donated_on.isoformat(),
        "donation_site": d.site,
    }


# --------------------------------------------------------------------------------------------------
# Bulk drafts (import tests and benchmarks)
# --------------------------------------------------------------------------------------------------

_BULK_DAYS: Final = 14600  # birth dates spread over 40 years from 1960-01-01
_BULK_EPOCH: Final = date(1960, 1, 1)
_BULK_TYPES: Final = (
    "blood_donation", "social_security_card", "blood_donation", "diploma", "blood_donation",
    "social_security_card", "blood_donation", "diploma", "blood_donation", "social_security_card",
)  # fmt: skip


def bulk_drafts(
    n: int, seed: int = 1, *, as_of: date = DEFAULT_AS_OF, catalogue: Catalogue | None = None
) -> Iterator[LicenceDraft]:
    """``n`` distinct valid drafts (50 % 电子献血证, 30 % 社会保障卡, 20 % 学历证书) for synthetic citizens
    that are not in any :class:`SystemOfRecord` (ID numbers derived from the draft index, so unique for
    ``n`` up to 7 × 14 600 × 500 ≈ 51 million; diploma numbers unique for ``n`` ≤ 1 000 000).  Serials are
    ``B`` + 5-digit seed + 9-digit index, distinct from :meth:`SystemOfRecord.licences` serials.  Cheap: no
    schema validation here (the tests sample it).
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if n >= 10**9:
        raise ValueError("n must be below 10**9")
    cat = catalogue or load_catalogue()
    types = {k: cat.licence_types[k] for k in dict.fromkeys(_BULK_TYPES)}
    dept = {k: lt.issuing_departments[0] for k, lt in types.items()}
    until = {k: lt.validity_until(as_of, {}) for k, lt in types.items() if k != "social_security_card"}
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible by design
    getrandbits = rng.getrandbits
    prefix = f"B{seed % 100000:05d}"
    surnames, given_m, given_f = _SURNAMES, _GIVEN_M, _GIVEN_F
    n_sur, n_m, n_f = len(surnames), len(given_m), len(given_f)
    blood_types: tuple[BloodType, ...] = ("A", "B", "AB", "O")
    check = _CID_CHECK_TABLE
    for i in range(n):
        j, div = divmod(i, len(_DIVISIONS))
        seq_idx, day_idx = divmod(j, _BULK_DAYS)
        birth = _BULK_EPOCH + timedelta(days=(day_idx * 7919) % _BULK_DAYS)
        bits = getrandbits(24)
        male = bits & 1
        seq = seq_idx * 2 + male
        first17 = f"{_DIVISIONS[div]}{birth:%Y%m%d}{seq:03d}"
        total = sum(int(d) * w for d, w in zip(first17, _CID_WEIGHTS, strict=True))
        id_number = first17 + check[total % 11]
        sex: Sex = "男" if male else "女"
        given = given_m[(bits >> 1) % n_m] if male else given_f[(bits >> 1) % n_f]
        name = surnames[(bits >> 8) % n_sur] + given
        issued = as_of - timedelta(days=(bits >> 12) % 3000 + 7)
        serial = f"{prefix}{i:09d}"
        key = _BULK_TYPES[i % 10]
        fields: dict[str, Any]
        if key == "blood_donation":
            licence_no = f"43B{seed % 10000:04d}{i:09d}"
            fields = {
                "cert_no": licence_no, "name": name, "sex": sex, "id_number": id_number,
                "blood_type": blood_types[(bits >> 16) & 3], "rh": "阳性", "donation_type": "全血",
                "volume_ml": 200 + 100 * ((bits >> 18) % 3), "donated_on": issued.isoformat(),
                "donation_site": "湖南省血液中心",
            }  # fmt: skip
            valid_until = until[key]
        elif key == "social_security_card":
            licence_no = f"B{seed % 1000:03d}{i:09d}"
            fields = {
                "card_no": licence_no, "social_security_number": id_number, "name": name, "sex": sex,
                "card_issued_on": issued.isoformat(), "bank": _BANKS[(bits >> 16) & 3],
            }  # fmt: skip
            valid_until = _add_years(issued, 10)
        else:
            code, school = _SCHOOLS[(bits >> 16) % len(_SCHOOLS)]
            year = min(birth.year + 22, as_of.year - 1)
            licence_no = f"{code}1{year}05{i % 10**6:06d}"
            graduated = date(year, 6, 30)
            fields = {
                "cert_no": licence_no, "name": name, "sex": sex, "birth_date": birth.isoformat(),
                "id_number": id_number, "school": school, "major": _MAJORS[(bits >> 19) % len(_MAJORS)],
                "education_level": "本科", "study_form": "普通全日制",
                "entered_on": date(year - 4, 9, 1).isoformat(), "graduated_on": graduated.isoformat(),
                "graduation_status": "毕业",
            }  # fmt: skip
            issued = graduated
            valid_until = until[key]
        yield LicenceDraft(
            type_key=key,
            department_id=dept[key],
            holder_code=id_number,
            holder_name=name,
            licence_no=licence_no,
            serial=serial,
            fields=fields,
            issued_on=issued,
            valid_from=issued,
            valid_until=valid_until,
        )


_CID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CID_CHECK_TABLE: Final = "10X98765432"
