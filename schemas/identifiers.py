"""Identifier codecs: citizen ID numbers, USCCs, GB/T 36904 licence identifiers and a few licence numbers.

Every parser raises :class:`IdentifierError` with a stable ``code`` and the ``field`` it was checking. Error
messages never echo the full value (it is personal data); they say what is wrong and where.

Case: identifiers are upper-case.  Parsers accept lower-case input and return the upper-case form
(``x`` → ``X`` in a citizen ID, ``91350200776049653a`` → ``…653A``).
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import date
from operator import mul
from typing import Final, Literal

__all__ = [
    "LICENCE_ID_ROOT",
    "CitizenId",
    "IdentifierError",
    "LicenceIdentifier",
    "UsccCheckWarning",
    "citizen_id_check_char",
    "make_licence_identifier",
    "mask_citizen_id",
    "mask_name",
    "mod37_36_check",
    "normalise_name",
    "parse_citizen_id",
    "parse_licence_identifier",
    "uscc_check_char",
    "validate_marriage_cert_no",
    "validate_realty_unit_number",
    "validate_teacher_cert_no",
    "validate_uscc",
]

ErrorCode = Literal[
    "BAD_LENGTH", "BAD_CHARSET", "BAD_CHECK_DIGIT", "BAD_DATE", "BAD_DIVISION", "BAD_STRUCTURE", "BAD_VERSION"
]


class IdentifierError(ValueError):
    """A malformed identifier.  ``code`` is stable (see :data:`ErrorCode`); ``field`` names the input."""

    def __init__(self, code: ErrorCode, message: str, *, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.code: ErrorCode = code
        self.field: str = field
        self.detail: str = message

    def __reduce__(self) -> tuple[object, ...]:  # keep picklable despite keyword-only args
        return (_rebuild_error, (self.code, self.detail, self.field))


def _rebuild_error(code: ErrorCode, message: str, field: str) -> IdentifierError:
    return IdentifierError(code, message, field=field)


class UsccCheckWarning(UserWarning):
    """A USCC whose check character is wrong was accepted (``validate_uscc(..., strict=False)``)."""


# --------------------------------------------------------------------------------------------------
# Division codes (GB/T 2260)
# --------------------------------------------------------------------------------------------------

#: First two digits of province-level divisions, including retired or special ones: 83 (Taiwan residents,
#: residence permits since 2018), 81/82 (Hong Kong, Macao), 71 (Taiwan), 91 (2023 foreigners' permanent
#: residence ID cards).  Codes below province level are NOT checked against a list: GB/T 2260 codes are
#: retired, not reused, and old ID numbers legitimately carry retired codes.
PROVINCE_PREFIXES: Final[frozenset[str]] = frozenset(
    [str(n) for n in range(11, 16)]
    + [str(n) for n in range(21, 24)]
    + [str(n) for n in range(31, 38)]
    + [str(n) for n in range(41, 47)]
    + [str(n) for n in range(50, 55)]
    + [str(n) for n in range(61, 66)]
    + ["71", "81", "82", "83", "91"]
)

#: The national-level code used in the USCCs of central authorities (e.g. 公安部 ``11100000…``).
NATIONAL_DIVISION: Final = "100000"


def _check_division(div: str, *, field: str, what: str, allow_national: bool = False) -> None:
    if len(div) != 6 or not div.isascii() or not div.isdigit():
        raise IdentifierError("BAD_DIVISION", f"{what}: division code must be 6 digits", field=field)
    if allow_national and div == NATIONAL_DIVISION:
        return
    if div[:2] not in PROVINCE_PREFIXES:
        raise IdentifierError(
            "BAD_DIVISION", f"{what}: {div[:2]!r} is not a province-level division code", field=field
        )


# --------------------------------------------------------------------------------------------------
# 公民身份号码, GB 11643-1999
# --------------------------------------------------------------------------------------------------

_CID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CID_CHECK: Final = "10X98765432"
_CID_NAME: Final = "公民身份号码 (citizen ID number)"


@dataclass(frozen=True, slots=True)
class CitizenId:
    """A parsed 公民身份号码.  ``number`` is the normalised 18-character form."""

    number: str
    division: str
    birth: date
    sequence: str
    sex: Literal["M", "F"]

    def __str__(self) -> str:
        return self.number


def citizen_id_check_char(first17: str, *, field: str = "id_number") -> str:
    """The ISO 7064 MOD 11-2 check character ('0'-'9' or 'X') for the first 17 digits of a citizen ID."""
    if len(first17) != 17:
        raise IdentifierError("BAD_LENGTH", f"{_CID_NAME}: need exactly 17 digits", field=field)
    if not first17.isascii() or not first17.isdigit():
        raise IdentifierError(
            "BAD_CHARSET", f"{_CID_NAME}: the first 17 characters must be digits", field=field
        )
    total = sum(map(mul, map(int, first17), _CID_WEIGHTS))  # 17 digits, 17 weights (checked above)
    return _CID_CHECK[total % 11]


def parse_citizen_id(s: str, *, field: str = "id_number", today: date | None = None) -> CitizenId:
    """Parse and check an 18-character citizen ID number (GB 11643-1999).

    Checks, in order: length 18 (BAD_LENGTH); 17 digits + digit/X (BAD_CHARSET); province-level prefix of the
    division code (BAD_DIVISION; retired lower-level codes are accepted); birth date real, year ≥ 1800 and not
    after ``today`` (BAD_DATE); check character (BAD_CHECK_DIGIT).  A lower-case ``x`` is normalised to ``X``.
    The 15-digit first-generation numbers are not accepted.
    """
    if not isinstance(s, str):
        raise IdentifierError("BAD_STRUCTURE", f"{_CID_NAME}: expected a string", field=field)
    if len(s) != 18:
        raise IdentifierError("BAD_LENGTH", f"{_CID_NAME}: must be 18 characters, got {len(s)}", field=field)
    number = s[:17] + s[17].upper()
    if not number.isascii() or not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise IdentifierError(
            "BAD_CHARSET", f"{_CID_NAME}: must be 17 digits followed by a digit or X", field=field
        )
    division = number[:6]
    _check_division(division, field=field, what=_CID_NAME)
    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    try:
        birth = date(year, month, day)
    except ValueError:
        raise IdentifierError(
            "BAD_DATE", f"{_CID_NAME}: birth date is not a calendar date", field=field
        ) from None
    if year < 1800:
        raise IdentifierError("BAD_DATE", f"{_CID_NAME}: birth year before 1800", field=field)
    if birth > (today or date.today()):
        raise IdentifierError("BAD_DATE", f"{_CID_NAME}: birth date is in the future", field=field)
    expected = citizen_id_check_char(number[:17], field=field)
    if number[17] != expected:
        raise IdentifierError("BAD_CHECK_DIGIT", f"{_CID_NAME}: check character does not match", field=field)
    sequence = number[14:17]
    return CitizenId(
        number=number,
        division=division,
        birth=birth,
        sequence=sequence,
        sex="M" if int(sequence) % 2 else "F",
    )


def mask_citizen_id(s: str) -> str:
    """Mask for display: ``4301**********1234`` (first 4 and last 4 kept).

    Never raises; values too short to keep both ends (fewer than 12 characters) are fully starred so that the
    middle is never shown.
    """
    if len(s) < 12:
        return "*" * len(s)
    return s[:4] + "*" * (len(s) - 8) + s[-4:]


# --------------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------------

MIDDLE_DOT: Final = "\u00b7"
#: Look-alikes of the middle dot found in minority names typed on various keyboards.
_DOT_LOOKALIKES: Final = {
    "\u30fb": MIDDLE_DOT,
    "\u2022": MIDDLE_DOT,
    "\uff65": MIDDLE_DOT,
    "\u2027": MIDDLE_DOT,
}
_NAME_MAX: Final = 64


def normalise_name(s: str, *, field: str = "name") -> str:
    """Normalise a personal or organisation name: NFC (never NFKC), strip, unify middle dots to U+00B7.

    Rejects (BAD_CHARSET) control and format characters (Unicode categories Cc, Cf, Cs) and (BAD_LENGTH) empty
    names or names longer than 64 characters.  Private-use characters are kept: some registries encode rare
    characters there.  Non-BMP characters (e.g. 𠇔 U+201D4) are kept as they are.
    """
    if not isinstance(s, str):
        raise IdentifierError("BAD_STRUCTURE", "name: expected a string", field=field)
    out = unicodedata.normalize("NFC", s).strip()
    out = "".join(_DOT_LOOKALIKES.get(ch, ch) for ch in out)
    for ch in out:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs"):
            raise IdentifierError(
                "BAD_CHARSET", f"name: contains a control/format character U+{ord(ch):04X}", field=field
            )
    if not out:
        raise IdentifierError("BAD_LENGTH", "name: empty", field=field)
    if len(out) > _NAME_MAX:
        raise IdentifierError("BAD_LENGTH", f"name: longer than {_NAME_MAX} characters", field=field)
    return out


def _graphemes(s: str) -> list[str]:
    """Split into user-perceived characters: a base character with its combining marks / variation selectors.

    Python strings index code points, so a non-BMP character such as 𠇔 is already one unit.
    """
    out: list[str] = []
    for ch in s:
        if out and (
            unicodedata.category(ch).startswith("M")
            or 0xFE00 <= ord(ch) <= 0xFE0F
            or 0xE0100 <= ord(ch) <= 0xE01EF
        ):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def mask_name(name: str) -> str:
    """Mask a name for display: ``张三`` → ``张*``, ``欧阳娜娜`` → ``欧***``, ``王`` → ``*``.

    Keeps the first character (grapheme) and replaces every other one, including any middle dot, with ``*``
    (``阿依古丽·买买提`` → ``阿*******``).
    """
    g = _graphemes(unicodedata.normalize("NFC", name.strip()))
    if len(g) <= 1:
        return "*" * len(g)
    return g[0] + "*" * (len(g) - 1)


# --------------------------------------------------------------------------------------------------
# 统一社会信用代码, GB 32100-2015
# --------------------------------------------------------------------------------------------------

USCC_CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE: Final = {c: i for i, c in enumerate(USCC_CHARSET)}
_USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
#: 登记管理部门代码.  GB 32100-2015 and its amendment assign 1 机构编制, 2 外交, 3 司法行政, 4 文化, 5 民政,
#: 6 旅游, 7 宗教, 8 工会, 9 工商 (市场监管), A 中央军委改革和编制办公室, N 农业, Y 其他.  B–G are accepted as
#: well (tolerance for later assignments); the check is a plausibility filter, not a registry lookup.
USCC_AUTHORITIES: Final = "123456789ABCDEFGNY"
_USCC_NAME: Final = "统一社会信用代码 (USCC)"


def uscc_check_char(first17: str, *, field: str = "uscc") -> str:
    """The GB 32100-2015 check character for the first 17 characters of a USCC."""
    if len(first17) != 17:
        raise IdentifierError("BAD_LENGTH", f"{_USCC_NAME}: need exactly 17 characters", field=field)
    try:
        total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    except KeyError:
        raise IdentifierError(
            "BAD_CHARSET", f"{_USCC_NAME}: characters must be from {USCC_CHARSET}", field=field
        ) from None
    return USCC_CHARSET[(31 - total % 31) % 31]


def _check_uscc_shape(s: str, *, field: str) -> str:
    if not isinstance(s, str):
        raise IdentifierError("BAD_STRUCTURE", f"{_USCC_NAME}: expected a string", field=field)
    if len(s) != 18:
        raise IdentifierError("BAD_LENGTH", f"{_USCC_NAME}: must be 18 characters, got {len(s)}", field=field)
    up = s.upper() if s.isascii() else s
    bad = [c for c in up if c not in _USCC_VALUE]
    if bad:
        raise IdentifierError(
            "BAD_CHARSET",
            f"{_USCC_NAME}: {bad[0]!r} is not allowed (alphabet {USCC_CHARSET}; no I O S V Z)",
            field=field,
        )
    return up


def validate_uscc(s: str, *, strict: bool = True, field: str = "uscc") -> str:
    """Check a USCC and return it upper-cased.

    Checks length (BAD_LENGTH), alphabet (BAD_CHARSET), registration-authority code (BAD_STRUCTURE), the
    division code in positions 3–8 (BAD_DIVISION; ``100000`` allowed for central authorities) and the check
    character (BAD_CHECK_DIGIT).  With ``strict=False`` a wrong check character only emits
    :class:`UsccCheckWarning` (some real historical codes fail their check); the other checks still raise.
    """
    up = _check_uscc_shape(s, field=field)
    if up[0] not in USCC_AUTHORITIES:
        raise IdentifierError(
            "BAD_STRUCTURE", f"{_USCC_NAME}: {up[0]!r} is not a registration-authority code", field=field
        )
    _check_division(up[2:8], field=field, what=_USCC_NAME, allow_national=True)
    expected = uscc_check_char(up[:17], field=field)
    if up[17] != expected:
        if strict:
            raise IdentifierError(
                "BAD_CHECK_DIGIT", f"{_USCC_NAME}: check character does not match", field=field
            )
        warnings.warn(
            UsccCheckWarning(
                f"{field}: {_USCC_NAME} check character does not match; accepted (strict=False)"
            ),
            stacklevel=2,
        )
    return up


# --------------------------------------------------------------------------------------------------
# ISO/IEC 7064 MOD 37,36 and the GB/T 36904-2018 licence identifier
# --------------------------------------------------------------------------------------------------

_MOD36_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MOD36_VALUE: Final = {c: i for i, c in enumerate(_MOD36_ALPHABET)}
#: character -> the next state p' = 2·((p + value) mod 36 or 36) mod 37 for every state p (1..36; index 0 unused).
_MOD37_36_STEP: Final = {
    c: tuple((2 * ((p + v) % 36 or 36)) % 37 for p in range(37)) for c, v in _MOD36_VALUE.items()
}


def mod37_36_check(s: str, *, field: str = "licence_id") -> str:
    """ISO/IEC 7064 MOD 37,36 (hybrid system, M = 36) check character over ``s`` (alphabet 0-9A-Z).

    p₀ = 36; for each character c: t = (p + value(c)) mod 36, t = 36 if t == 0, p = 2t mod 37;
    the check character is the alphabet symbol of (37 − p) mod 36.  Input is upper-cased first.
    """
    p = 36
    for ch in s.upper():
        step = _MOD37_36_STEP.get(ch)
        if step is None:
            raise IdentifierError("BAD_CHARSET", f"MOD 37,36: {ch!r} is not in 0-9A-Z", field=field)
        p = step[p]
    return _MOD36_ALPHABET[(37 - p) % 36]


LICENCE_ID_ROOT: Final = "1.2.156.3005.2."
_LID_NAME: Final = "电子证照标识 (licence identifier)"
_SERIAL_RE: Final = re.compile(r"[0-9A-Z]{1,32}")


@dataclass(frozen=True, slots=True)
class LicenceIdentifier:
    """A parsed GB/T 36904 licence identifier.  ``str()`` gives the full dotted form."""

    type_code: str
    issuer_uscc: str
    serial: str
    version: int
    check: str

    @property
    def defining_authority_uscc(self) -> str:
        return self.type_code[:18]

    def __str__(self) -> str:
        parts = (self.type_code, self.issuer_uscc, self.serial, f"{self.version:03d}", self.check)
        return LICENCE_ID_ROOT + ".".join(parts)


def _check_type_code(code: str, *, field: str) -> str:
    if not isinstance(code, str) or len(code) != 21:
        raise IdentifierError(
            "BAD_LENGTH", f"{_LID_NAME}: licence-type code must be 18-char USCC + 3 digits", field=field
        )
    if not code.isascii():
        raise IdentifierError("BAD_CHARSET", f"{_LID_NAME}: licence-type code must be ASCII", field=field)
    up = code.upper()
    _check_uscc_shape(up[:18], field=field)
    if not up[18:].isascii() or not up[18:].isdigit():
        raise IdentifierError("BAD_CHARSET", f"{_LID_NAME}: type sequence must be 3 digits", field=field)
    return up


def _check_serial(serial: str, *, field: str) -> str:
    if not isinstance(serial, str) or not 1 <= len(serial) <= 32:
        raise IdentifierError("BAD_LENGTH", f"{_LID_NAME}: serial must be 1-32 characters", field=field)
    up = serial.upper() if serial.isascii() else serial
    if not _SERIAL_RE.fullmatch(up):
        raise IdentifierError("BAD_CHARSET", f"{_LID_NAME}: serial must be [0-9A-Z]", field=field)
    return up


def parse_licence_identifier(s: str, *, field: str = "licence_id") -> LicenceIdentifier:
    """Parse a licence identifier ``1.2.156.3005.2.<type code>.<issuer USCC>.<serial>.<version>.<check>``.

    The check character is ISO 7064 MOD 37,36 over everything after the root ``1.2.156.3005.2.`` with the dots
    removed, excluding the check character itself, i.e. over ``type_code + issuer_uscc + serial + version``.
    This interpretation reproduces both checked vectors (``…2430599.001.F`` and ``…2024000123.001.7``);
    including the root, or leaving out the version, does not.  The embedded USCCs are only checked for length
    and alphabet (real ones may fail their GB 32100 check).  Version is 3 digits, 001–999 (BAD_VERSION).
    """
    if not isinstance(s, str):
        raise IdentifierError("BAD_STRUCTURE", f"{_LID_NAME}: expected a string", field=field)
    if not s.startswith(LICENCE_ID_ROOT):
        raise IdentifierError("BAD_STRUCTURE", f"{_LID_NAME}: must start with {LICENCE_ID_ROOT}", field=field)
    parts = s[len(LICENCE_ID_ROOT) :].split(".")
    if len(parts) != 5:
        raise IdentifierError(
            "BAD_STRUCTURE",
            f"{_LID_NAME}: expected 5 dot-separated parts after the root, got {len(parts)}",
            field=field,
        )
    type_code_raw, issuer_raw, serial_raw, version_raw, check_raw = parts
    type_code = _check_type_code(type_code_raw, field=field)
    issuer = _check_uscc_shape(issuer_raw, field=field)
    serial = _check_serial(serial_raw, field=field)
    if (
        len(version_raw) != 3
        or not version_raw.isascii()
        or not version_raw.isdigit()
        or version_raw == "000"
    ):
        raise IdentifierError("BAD_VERSION", f"{_LID_NAME}: version must be 3 digits, 001-999", field=field)
    if len(check_raw) != 1:
        raise IdentifierError("BAD_LENGTH", f"{_LID_NAME}: check must be one character", field=field)
    check = check_raw.upper() if check_raw.isascii() else check_raw
    if check not in _MOD36_VALUE:
        raise IdentifierError("BAD_CHARSET", f"{_LID_NAME}: check must be 0-9A-Z", field=field)
    expected = mod37_36_check(type_code + issuer + serial + version_raw, field=field)
    if check != expected:
        raise IdentifierError("BAD_CHECK_DIGIT", f"{_LID_NAME}: check character does not match", field=field)
    return LicenceIdentifier(
        type_code=type_code, issuer_uscc=issuer, serial=serial, version=int(version_raw), check=check
    )


def make_licence_identifier(
    type_code: str, issuer_uscc: str, serial: str, version: int = 1, *, field: str = "licence_id"
) -> str:
    """Build a licence identifier (see :func:`parse_licence_identifier`); parts are upper-cased."""
    tc = _check_type_code(type_code, field=field)
    issuer = _check_uscc_shape(issuer_uscc, field=field)
    ser = _check_serial(serial, field=field)
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 999:
        raise IdentifierError("BAD_VERSION", f"{_LID_NAME}: version must be 1-999", field=field)
    v = f"{version:03d}"
    return f"{LICENCE_ID_ROOT}{tc}.{issuer}.{ser}.{v}.{mod37_36_check(tc + issuer + ser + v, field=field)}"


# --------------------------------------------------------------------------------------------------
# Licence numbers with a known shape
# --------------------------------------------------------------------------------------------------

_RUN_NAME: Final = "不动产单元号 (realty unit number)"
#: 宗地/宗海特征码, first letter: G 国家所有, J 集体所有, Z 所有权未确定或有争议.
_RUN_OWNER: Final = "GJZ"
#: 定着物特征码: F 房屋等建筑物/构筑物, L 森林/林木, Q 其他, W 无定着物.
_RUN_FIXTURE: Final = "FLQW"
_RUN_RE: Final = re.compile(r"(\d{6})(\d{6})([A-Z]{2})(\d{5})([A-Z])(\d{8})")


def validate_realty_unit_number(s: str, *, field: str = "unit_number") -> str:
    """Check a 28-character 不动产单元号 (GB/T 37346 style) and return it upper-cased.

    Layout: 6-digit county-level division + 6 digits 地籍区(3)/地籍子区(3) + 2 letters 宗地/宗海特征码 (first
    letter G/J/Z) + 5-digit parcel number + 1 letter 定着物特征码 (F/L/Q/W) + 8-digit unit number
    (``00000000`` when the letter is W: no fixture).  There is no check character in this code, so only the
    structure is checked (BAD_LENGTH, BAD_CHARSET, BAD_DIVISION, BAD_STRUCTURE).
    """
    if not isinstance(s, str):
        raise IdentifierError("BAD_STRUCTURE", f"{_RUN_NAME}: expected a string", field=field)
    if len(s) != 28:
        raise IdentifierError("BAD_LENGTH", f"{_RUN_NAME}: must be 28 characters, got {len(s)}", field=field)
    if not s.isascii() or not s.isalnum():
        raise IdentifierError("BAD_CHARSET", f"{_RUN_NAME}: must be digits and letters only", field=field)
    up = s.upper()
    if not up.isalnum():
        raise IdentifierError("BAD_CHARSET", f"{_RUN_NAME}: must be digits and letters only", field=field)
    m = _RUN_RE.fullmatch(up)
    if m is None:
        raise IdentifierError(
            "BAD_STRUCTURE",
            f"{_RUN_NAME}: expected 12 digits, 2 letters, 5 digits, 1 letter, 8 digits",
            field=field,
        )
    _check_division(m.group(1), field=field, what=_RUN_NAME)
    if m.group(3)[0] not in _RUN_OWNER:
        raise IdentifierError(
            "BAD_STRUCTURE", f"{_RUN_NAME}: parcel feature code must start G/J/Z", field=field
        )
    if m.group(5) not in _RUN_FIXTURE:
        raise IdentifierError("BAD_STRUCTURE", f"{_RUN_NAME}: fixture code must be F/L/Q/W", field=field)
    if m.group(5) == "W" and m.group(6) != "00000000":
        raise IdentifierError("BAD_STRUCTURE", f"{_RUN_NAME}: with W the unit number must be 0", field=field)
    return up


_MC_NAME: Final = "结婚证字号 (marriage certificate number)"
_MC_RE: Final = re.compile(r"J(\d{6})-?(\d{4})-?(\d{4,8})")


def validate_marriage_cert_no(s: str, *, field: str = "cert_no", today: date | None = None) -> str:
    """Check a 结婚证字号 ``J`` + 6-digit division + 4-digit year + 4–8 serial digits; return it upper-cased.

    Hyphens between the parts (``J430102-2020-001234``) are accepted and kept as given.  Year 1950 (the first
    Marriage Law) up to the current year (BAD_DATE); province prefix of the division (BAD_DIVISION).
    """
    if not isinstance(s, str):
        raise IdentifierError("BAD_STRUCTURE", f"{_MC_NAME}: expected a string", field=field)
    if not 15 <= len(s) <= 21:
        raise IdentifierError("BAD_LENGTH", f"{_MC_NAME}: wrong length {len(s)}", field=field)
    up = s.upper() if s.isascii() else s
    if not up.isascii() or not all(c.isalnum() or c == "-" for c in up):
        raise IdentifierError("BAD_CHARSET", f"{_MC_NAME}: only J, digits and hyphens", field=field)
    m = _MC_RE.fullmatch(up)
    if m is None:
        raise IdentifierError(
            "BAD_STRUCTURE", f"{_MC_NAME}: expected J + 6-digit division + 4-digit year + serial", field=field
        )
    _check_division(m.group(1), field=field, what=_MC_NAME)
    year = int(m.group(2))
    if not 1950 <= year <= (today or date.today()).year:
        raise IdentifierError("BAD_DATE", f"{_MC_NAME}: year out of range", field=field)
    return up


_TC_NAME: Final = "教师资格证书编号 (teacher qualification certificate number)"


def validate_teacher_cert_no(s: str, *, field: str = "cert_no", today: date | None = None) -> str:
    """Check a 17-digit 教师资格证书编号: 4-digit year of recognition (1993 (Teachers Law) … this year;
    BAD_DATE) + 2-digit province code (BAD_DIVISION) + 11 further digits (kind, sex, serial; not checked).
    No check digit exists, so only the structure is verified.
    """
    if not isinstance(s, str):
        raise IdentifierError("BAD_STRUCTURE", f"{_TC_NAME}: expected a string", field=field)
    if len(s) != 17:
        raise IdentifierError("BAD_LENGTH", f"{_TC_NAME}: must be 17 digits, got {len(s)}", field=field)
    if not s.isascii() or not s.isdigit():
        raise IdentifierError("BAD_CHARSET", f"{_TC_NAME}: digits only", field=field)
    if not 1993 <= int(s[:4]) <= (today or date.today()).year:
        raise IdentifierError("BAD_DATE", f"{_TC_NAME}: year out of range", field=field)
    if s[4:6] not in PROVINCE_PREFIXES:
        raise IdentifierError("BAD_DIVISION", f"{_TC_NAME}: {s[4:6]!r} is not a province code", field=field)
    return s
