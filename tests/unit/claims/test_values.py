"""Tolerant value readers: liberal in format, strict in content."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from services.claims.domain import values
from services.claims.parsing.safexml import prolog_has_dtd


@pytest.mark.parametrize("text, expected", [
    ("34500", Decimal("34500.00")), ("34500.0", Decimal("34500.00")), ("34500.00", Decimal("34500.00")),
    ("0", Decimal("0.00")), ("-12.5", Decimal("-12.50")), ("+7", Decimal("7.00")), (".5", Decimal("0.50")),
    ("1050.125", Decimal("1050.13")), ("1050.124", Decimal("1050.12")),
])
def test_money_reads_and_quantizes_half_up(text, expected):
    value = values.money(text)
    assert value == expected and value.as_tuple().exponent == -2
    assert values.money_c(text) == expected


@pytest.mark.parametrize("text", [
    "NaN", "nan", "Infinity", "-inf", "undefined", "null", "12,5", "1,234.50", "1e5", "1_000", "١٢", "",
    ".", "-", "12.5.1", "+-5", "0x10", "1" * 16, "١٢٣.٤٥",
])
def test_money_junk_raises_badvalue(text):
    with pytest.raises(values.BadValue) as info:
        values.money(text)
    assert info.value.detail
    with pytest.raises(values.BadValue):
        values.money_c(text)


def test_decimal_comma_is_named():
    with pytest.raises(values.BadValue, match="dấu phẩy"):
        values.money("12,5")


def test_timestamps_and_days():
    assert values.timestamp("202407150845") == datetime(2024, 7, 15, 8, 45)
    junks = ("202402311200", "20240715", "2024071508450", "2024-07-15 08:45", "202407152460",
             "２０２４０７１５０８４５")
    for junk in junks:
        with pytest.raises(values.BadValue):
            values.timestamp(junk)
    assert values.day("20240229") == date(2024, 2, 29)
    with pytest.raises(values.BadValue):
        values.day("20230229")


def test_birth_dates_full_partial_and_4210():
    assert values.birth_date("198005050000") == (date(1980, 5, 5), False)
    assert values.birth_date("19800505") == (date(1980, 5, 5), False)
    assert values.birth_date("198000000000") == (date(1980, 1, 1), True)
    # QĐ 4210 exporters write a partly known birth date as yyyy or yyyymm (issue 14).
    assert values.birth_date("1980") == (date(1980, 1, 1), True)
    assert values.birth_date("198007") == (date(1980, 7, 1), True)
    for junk in ("198013010000", "198002300000", "198", "198013", "19800", "198005052500"):
        with pytest.raises(values.BadValue):
            values.birth_date(junk)


@pytest.mark.parametrize("text, expected", [
    ("J06.9", "J06.9"), ("J069", "J06.9"), ("j06.9", "J06.9"), ("J06.9*", "J06.9"), (" I10 ", "I10"),
    ("I10", "I10"), ("J06", "J06"), ("A17.0†", "A17.0"), ("M54.16", "M54.16"),
])
def test_icd_normalisation(text, expected):
    assert values.icd(text) == expected


def test_icd_lists():
    assert values.icd_list("J06.9;I10") == ["J06.9", "I10"]
    assert values.icd_list("J069; I10 ;;E119*") == ["J06.9", "I10", "E11.9"]
    assert values.icd_list("J06.9,K29") == ["J06.9", "K29"]


def test_small_codes():
    assert values.code2("1") == "01" and values.code2("07") == "07"
    with pytest.raises(values.BadValue):
        values.code2("A")
    assert values.integer("7") == 7
    with pytest.raises(values.BadValue):
        values.integer("7.0")
    assert values.facility_code("91060") == "91060"
    with pytest.raises(values.BadValue):
        values.facility_code("9106")


@pytest.mark.parametrize("head, verdict", [
    (b'<?xml version="1.0"?><A/>', False),
    (b"\xef\xbb\xbf<A/>", False),
    (b"  \r\n<!-- c --><A/>", False),
    (b"<!DOCTYPE A><A/>", True),
    (b"<?xml version='1.0'?>\n<!-- <!DOCTYPE in a comment> --><A/>", False),
    (b"<?xml version='1.0'?>\n<!-- c --><!ENTITY x 'y'>", True),
    (b"<?xml version='1.0'", None),
    (b"<!-", None),
    ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE A>'.encode("utf-16"), True),
    ('<A/>'.encode("utf-16-le"), False),
])
def test_prolog_scan(head, verdict):
    assert prolog_has_dtd(head) is verdict
