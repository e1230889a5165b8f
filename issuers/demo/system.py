"""``SystemOfRecord``: the synthetic departments' records, built by the generation plan."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Final

from issuers.drafts import LicenceDraft
from schemas.catalogue import Catalogue, load_catalogue

from .builder import _Builder
from .model import (
    DEFAULT_AS_OF,
    PERSONAS,
    BloodDonation,
    Citizen,
    CriminalEntry,
    CriminalRecord,
    Household,
    HouseholdRegistration,
    HpfAccount,
    Marriage,
    Organisation,
    PersonaSpec,
    Property,
    ResidencePermit,
    Sex,
    _add_years,
)
from .words import _DIVISIONS


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
        from .licences import _LicenceMaker  # licences → system for types only

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


