"""The demo city's departments: a synthetic system of record for 长沙市, kept as **data files** under
``issuers/demo/data/`` (places, people and personas, word lists, which persona holds which catalogue-made licence,
the departments' registers behind proofs and checks) plus small generators:

* :mod:`.words` reads the data files; :mod:`.model` holds the records (frozen dataclasses) and the personas;
* :mod:`.builder` and :mod:`.system` generate ``SystemOfRecord.generate(seed=2024, citizens=120,
  organisations=12)`` — the same data for the same arguments on any machine (one :class:`random.Random`);
* :mod:`.licences` turns records into licence drafts for the 13 hand-modelled types; every other catalogue type
  gets its face from the catalogue's own ``examples`` (:mod:`.catalogue_licences`); :func:`bulk_drafts` makes
  many cheap drafts for import tests and benchmarks;
* :mod:`.registers` answers proofs and department checks (部门核验) the records do not model.

Nothing in the production path imports this package: the exchange reaches it only in demo mode (the demo data
source for proofs and checks, :mod:`exchange.proofs.datasource`, and ``licex init --demo``). What a department
signs, :class:`issuers.drafts.LicenceDraft`, is production code.

The fixed personas (``data/people.json``; names and ID numbers do not depend on the seed):

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

Only personas 0 and 1 can log in by face (public-domain photos, ``issuers/data/photos/SOURCES.md``).
"""

from issuers.drafts import LicenceDraft

from .licences import RECORD_TYPES, bulk_drafts
from .model import (
    DEFAULT_AS_OF,
    PERSONAS,
    PHOTO_DIR,
    BirthCertificate,
    BloodDonation,
    Citizen,
    CriminalEntry,
    CriminalRecord,
    Diploma,
    DrivingLicence,
    Household,
    HouseholdMember,
    HouseholdRegistration,
    HpfAccount,
    Marriage,
    Organisation,
    PersonaSpec,
    Property,
    RegistrationChange,
    ResidencePermit,
    SocialSecurityCard,
    TeacherQualification,
    Vehicle,
    photo_bytes,
)
from .system import SystemOfRecord
from .words import DISTRICTS

__all__ = [
    "DEFAULT_AS_OF",
    "DISTRICTS",
    "PERSONAS",
    "PHOTO_DIR",
    "RECORD_TYPES",
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
