"""Records → licence drafts (the hand-modelled types), and cheap bulk drafts for import tests and benchmarks."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Final

from issuers.drafts import LicenceDraft
from schemas.catalogue import Catalogue, LicenceType, load_catalogue
from schemas.identifiers import citizen_id_check_char

from .model import (
    _T,
    DEFAULT_AS_OF,
    BloodDonation,
    BloodType,
    Citizen,
    Diploma,
    Sex,
    _add_years,
    _district_name,
    _photo_b64,
)
from .words import _BANKS, _DIVISIONS, _GIVEN_F, _GIVEN_M, _MAJORS, _SCHOOLS, _SURNAMES

if TYPE_CHECKING:
    from .system import SystemOfRecord


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
    for i in range(n):
        j, div = divmod(i, len(_DIVISIONS))
        seq_idx, day_idx = divmod(j, _BULK_DAYS)
        birth = _BULK_EPOCH + timedelta(days=(day_idx * 7919) % _BULK_DAYS)
        bits = getrandbits(24)
        male = bits & 1
        seq = seq_idx * 2 + male
        first17 = f"{_DIVISIONS[div]}{birth:%Y%m%d}{seq:03d}"
        id_number = first17 + citizen_id_check_char(first17)  # schemas' GB 11643 codec
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


