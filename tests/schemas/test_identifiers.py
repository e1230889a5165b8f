"""Unit and property tests for schemas.identifiers."""

from __future__ import annotations

import pickle
import warnings
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.identifiers import (
    PROVINCE_PREFIXES,
    USCC_CHARSET,
    IdentifierError,
    LicenceIdentifier,
    UsccCheckWarning,
    citizen_id_check_char,
    make_licence_identifier,
    mask_citizen_id,
    mask_name,
    mod37_36_check,
    normalise_name,
    parse_citizen_id,
    parse_licence_identifier,
    uscc_check_char,
    validate_uscc,
)

REAL = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
SYNTHETIC = "1.2.156.3005.2.11100000MB03271699022.11330100MB0000000N.2024000123.001.7"

# -- strategies ------------------------------------------------------------------------------------

divisions = st.builds(
    lambda p, rest: p + rest,
    st.sampled_from(sorted(PROVINCE_PREFIXES)),
    st.text("0123456789", min_size=4, max_size=4),
)
births = st.dates(min_value=date(1800, 1, 1), max_value=date.today() - timedelta(days=1))
sequences = st.text("0123456789", min_size=3, max_size=3)


@st.composite
def citizen_ids(draw: st.DrawFn) -> str:
    first17: str = draw(divisions) + draw(births).strftime("%Y%m%d") + draw(sequences)
    return first17 + citizen_id_check_char(first17)


uscc_chars = st.sampled_from(USCC_CHARSET)


@st.composite
def usccs(draw: st.DrawFn) -> str:
    first17: str = (
        draw(st.sampled_from("123456789ANY"))
        + draw(uscc_chars)
        + draw(divisions)
        + "".join(draw(st.lists(uscc_chars, min_size=9, max_size=9)))
    )
    return first17 + uscc_check_char(first17)


serials = st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=32)


# -- citizen ID ------------------------------------------------------------------------------------


def test_citizen_id_fields() -> None:
    cid = parse_citizen_id("11010519491231002x")
    assert cid.number == "11010519491231002X"
    assert (cid.division, cid.birth, cid.sequence, cid.sex) == ("110105", date(1949, 12, 31), "002", "F")
    assert str(cid) == cid.number


def test_citizen_id_field_name_and_message_do_not_echo_value() -> None:
    with pytest.raises(IdentifierError) as info:
        parse_citizen_id("430102199003071235", field="owner_id")
    assert info.value.field == "owner_id"
    assert info.value.code == "BAD_CHECK_DIGIT"
    assert "430102199003071235" not in str(info.value)
    assert "公民身份号码" in str(info.value)


def test_citizen_id_today_parameter() -> None:
    with pytest.raises(IdentifierError) as info:
        parse_citizen_id("430102199003071234", today=date(1990, 3, 6))
    assert info.value.code == "BAD_DATE"
    assert parse_citizen_id("430102199003071234", today=date(1990, 3, 7)).birth == date(1990, 3, 7)


def test_identifier_error_is_value_error_and_picklable() -> None:
    err = IdentifierError("BAD_LENGTH", "x", field="f")
    assert isinstance(err, ValueError)
    again = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own object
    assert (again.code, again.field) == ("BAD_LENGTH", "f")


@given(citizen_ids())
def test_any_valid_citizen_id_parses(number: str) -> None:
    cid = parse_citizen_id(number)
    assert cid.number == number
    assert cid.sex == ("M" if int(number[16]) % 2 else "F")


@given(citizen_ids(), st.integers(0, 17), st.integers(1, 9))
def test_single_digit_change_detected(number: str, pos: int, delta: int) -> None:
    chars = list(number)
    if chars[pos] == "X":
        chars[pos] = str(delta)
    else:
        chars[pos] = str((int(chars[pos]) + delta) % 10)
    with pytest.raises(IdentifierError):
        parse_citizen_id("".join(chars))


@given(citizen_ids())
def test_mask_never_reveals_the_middle(number: str) -> None:
    masked = mask_citizen_id(number)
    assert len(masked) == 18
    assert masked[:4] == number[:4] and masked[-4:] == number[-4:]
    assert masked[4:14] == "*" * 10


@given(st.text(max_size=40))
def test_mask_any_string_hides_middle(s: str) -> None:
    masked = mask_citizen_id(s)
    assert len(masked) == len(s)
    if len(s) >= 12:
        assert set(masked[4:-4]) == {"*"}
    else:
        assert set(masked) <= {"*"}


def test_mask_citizen_id_example() -> None:
    assert mask_citizen_id("430102199003071234") == "4301**********1234"


# -- names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("张三丰", "张**"),
        ("欧阳娜娜", "欧***"),
        ("王", "*"),
        ("", ""),
        ("𠇔三", "𠇔*"),
        ("䶮", "*"),
        ("李𬱖", "李*"),
        ("阿依古丽·买买提", "阿*******"),
        ("e\u0301mile", "é****"),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@given(st.text(min_size=2, max_size=20))
def test_mask_name_keeps_at_most_first_char(name: str) -> None:
    masked = mask_name(name)
    assert set(masked[1:]) <= {"*"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  张三 ", "张三"),
        ("阿依古丽・买买提", "阿依古丽·买买提"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),
        ("e\u0301", "\u00e9"),
        ("ＡＢ", "ＡＢ"),  # full width kept: NFC, never NFKC
        ("𠇔", "𠇔"),
    ],
)
def test_normalise_name(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"), [("张\u0000三", "BAD_CHARSET"), ("张\u200b三", "BAD_CHARSET"), ("   ", "BAD_LENGTH")]
)
def test_normalise_name_rejects(raw: str, code: str) -> None:
    with pytest.raises(IdentifierError) as info:
        normalise_name(raw)
    assert info.value.code == code
    assert info.value.field == "name"


# -- USCC ------------------------------------------------------------------------------------------


@given(usccs())
def test_any_valid_uscc_passes(code: str) -> None:
    assert validate_uscc(code) == code


@given(usccs(), st.integers(0, 17), st.integers(1, 30))
def test_uscc_single_char_change_detected(code: str, pos: int, delta: int) -> None:
    chars = list(code)
    chars[pos] = USCC_CHARSET[(USCC_CHARSET.index(chars[pos]) + delta) % 31]
    with pytest.raises(IdentifierError):
        validate_uscc("".join(chars))


def test_uscc_non_strict_warns() -> None:
    with pytest.warns(UsccCheckWarning):
        assert validate_uscc("91350200776049653B", strict=False) == "91350200776049653B"
    with pytest.raises(IdentifierError) as info:
        validate_uscc("9135020077604965IA", strict=False)
    assert info.value.code == "BAD_CHARSET"


def test_uscc_valid_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate_uscc("91350200776049653A", strict=False)


def test_uscc_field_name() -> None:
    with pytest.raises(IdentifierError) as info:
        validate_uscc("91350200776049653B", field="issuer_uscc")
    assert info.value.field == "issuer_uscc"


# -- licence identifier ----------------------------------------------------------------------------


def test_domain_vectors_parse() -> None:
    real = parse_licence_identifier(REAL)
    assert real == LicenceIdentifier("11100000000013338W032", "11220000013544541J", "2430599", 1, "F")
    assert real.defining_authority_uscc == "11100000000013338W"
    assert str(real) == REAL
    assert str(parse_licence_identifier(SYNTHETIC)) == SYNTHETIC


def test_make_reproduces_domain_vectors() -> None:
    assert make_licence_identifier("11100000000013338W032", "11220000013544541J", "2430599") == REAL
    assert (
        make_licence_identifier("11100000MB03271699022", "11330100MB0000000N", "2024000123", 1) == SYNTHETIC
    )


@given(usccs(), st.text("0123456789", min_size=3, max_size=3), usccs(), serials, st.integers(1, 999))
def test_licence_identifier_round_trip(auth: str, seq: str, issuer: str, serial: str, version: int) -> None:
    lid = make_licence_identifier(auth + seq, issuer, serial, version)
    parsed = parse_licence_identifier(lid)
    assert (parsed.type_code, parsed.issuer_uscc, parsed.serial, parsed.version) == (
        auth + seq,
        issuer,
        serial,
        version,
    )
    assert str(parsed) == lid


@settings(max_examples=200)
@given(usccs(), usccs(), serials, st.data())
def test_licence_identifier_single_char_change_detected(
    auth: str, issuer: str, serial: str, data: st.DataObject
) -> None:
    lid = make_licence_identifier(auth + "001", issuer, serial)
    body_start = len("1.2.156.3005.2.")
    positions = [i for i in range(body_start, len(lid)) if lid[i] != "."]
    pos = data.draw(st.sampled_from(positions))
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    new = data.draw(st.sampled_from([c for c in alphabet if c != lid[pos]]))
    with pytest.raises(IdentifierError):
        parse_licence_identifier(lid[:pos] + new + lid[pos + 1 :])


@pytest.mark.parametrize("version", [0, 1000, -1, True])
def test_make_rejects_bad_version(version: int) -> None:
    with pytest.raises(IdentifierError) as info:
        make_licence_identifier("11100000000013338W032", "11220000013544541J", "1", version)
    assert info.value.code == "BAD_VERSION"


def test_mod37_36_alphabet_and_case() -> None:
    for s in ["", "0", "A", "ZZZ", "11100000000013338W03211220000013544541J2430599001"]:
        c = mod37_36_check(s)
        assert len(c) == 1 and c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert mod37_36_check("abc") == mod37_36_check("ABC")
