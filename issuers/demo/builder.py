"""The generator's working state: adds people, households, property, accounts … deterministically."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from schemas.identifiers import normalise_name, uscc_check_char

from .model import (
    PERSONAS,
    SILHOUETTE,
    BirthCertificate,
    BloodDonation,
    BloodType,
    Citizen,
    CriminalEntry,
    Diploma,
    DrivingLicence,
    Household,
    HouseholdMember,
    HouseholdRegistration,
    HpfAccount,
    Marriage,
    Organisation,
    Property,
    RegistrationChange,
    ResidencePermit,
    Sex,
    SocialSecurityCard,
    TeacherQualification,
    Vehicle,
    _add_months,
    _add_years,
    _district_name,
    _make_id,
    _month,
    _org_code_check,
    _police_branch,
    _q2,
)
from .words import (
    _BANKS,
    _COMMUNITIES,
    _COMPANY_TRADES,
    _COMPANY_WORDS,
    _DRIVING_CLASSES,
    _GIVEN_F,
    _GIVEN_M,
    _MAJORS,
    _MINORITIES,
    _PLATE_CHARS,
    _SCHOOLS,
    _STATION_SUFFIX,
    _SURNAMES,
    _VEHICLE_MODELS,
    _VIN_CHARS,
    DISTRICTS,
)


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


