"""Tolerant readers for the typed values of the claim tables.

Liberal in format, strict in content (docs/domain.md §6): surrounding whitespace, months without a
leading zero, ICD codes with or without the dot or with a trailing '*' are all read; a value that
is not of its type (NaN, 'undefined', a decimal comma, 20240231) raises ``BadValue`` with a short
Vietnamese reason, which the decoder turns into a ``value_invalid`` issue.

These run for every field of every record: plain ``str`` methods, no regular expressions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from services.common import facility_code as facility_code_rule
from services.common.money import CENT

# QĐ 130 types amounts as "Số 15": at most 15 digits before the decimal point.
_MONEY_LIMIT = Decimal(10) ** 15
_CACHE_LIMIT = 50_000  # entries per converter: bounded, so memory stays flat on any file


class BadValue(ValueError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def decimal(text: str) -> Decimal:
    """A plain decimal number with a '.' separator: '12', '-3', '0.5', '1050.125'."""
    body = text[1:] if text[:1] in "+-" else text
    if not (body.isascii() and body.replace(".", "", 1).isdigit()):
        if "," in body and body.replace(",", "", 1).replace(".", "").isdigit():
            raise BadValue("có dấu phẩy; chuẩn dùng dấu chấm thập phân, không có dấu phân cách hàng nghìn")
        raise BadValue("không phải là số")
    try:
        value = Decimal(text)
    except InvalidOperation:  # e.g. a lone '.'
        raise BadValue("không phải là số") from None
    if abs(value) >= _MONEY_LIMIT:
        raise BadValue("vượt quá 15 chữ số")
    return value


def money(text: str) -> Decimal:
    """An amount in đồng, quantized to 2 places (half up, as the standard rounds)."""
    value = decimal(text)
    if text[-3:-2] == ".":
        return value  # already 2 places, as the standard writes it
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def integer(text: str) -> int:
    if text.isascii() and text.isdigit():
        return int(text)
    raise BadValue("không phải là số nguyên")


def _digits(text: str, size: int, what: str) -> None:
    if len(text) != size or not (text.isascii() and text.isdigit()):
        raise BadValue(f"phải gồm {size} chữ số theo dạng {what}")


def timestamp(text: str) -> datetime:
    """yyyymmddHHMM."""
    _digits(text, 12, "yyyymmddHHMM")
    try:
        return datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]), int(text[10:12]))
    except ValueError:
        raise BadValue("ngày giờ không tồn tại") from None


def day(text: str) -> date:
    """yyyymmdd."""
    _digits(text, 8, "yyyymmdd")
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise BadValue("ngày không tồn tại") from None


def birth_date(text: str) -> tuple[date, bool]:
    """NGAY_SINH: yyyymmddHHMM (QĐ 130), yyyymmdd, or as QĐ 4210 exporters write a partly known date,
    yyyymm or yyyy. QĐ 130 allows 00 for an unknown day or month. A partial date falls on the first day of
    its year or month (for age checks), flagged partial: the decoder keeps the text as written."""
    if len(text) not in (4, 6, 8, 12) or not (text.isascii() and text.isdigit()):
        raise BadValue("phải gồm 12 chữ số (yyyymmddHHMM), hoặc 8 (yyyymmdd), 6 (yyyymm), 4 (yyyy)")
    year, month, dom = int(text[:4]), int(text[4:6] or 0), int(text[6:8] or 0)
    partial = month == 0 or dom == 0
    try:
        born = date(year, month or 1, dom or 1)
        if len(text) == 12 and (int(text[8:10]) > 23 or int(text[10:12]) > 59):
            raise ValueError
    except ValueError:
        raise BadValue("ngày không tồn tại") from None
    return born, partial


def code2(text: str) -> str:
    """Two-digit codes written with or without the leading zero: '2' -> '02' (MA_LOAI_KCB)."""
    if text.isascii() and text.isdigit() and len(text) <= 2:
        return text.zfill(2)
    raise BadValue("phải là mã 2 chữ số")


def facility_code(text: str) -> str:
    """MA_CSKCB / MA_DKBD: the one facility-code rule (services/common/facility_code.py), lower case forgiven."""
    code = facility_code_rule.normalise(text)
    if code is not None:
        return code
    raise BadValue("mã cơ sở KCB phải gồm 5 ký tự chữ hoặc số")


_ICD_STRIP = " *†+!"


def icd(text: str) -> str:
    """'j06.9' / 'J069' / 'J06.9*' -> 'J06.9'; 'I10' stays 'I10'. Shape is not judged here:
    a code outside the QĐ 4469 list is icd10_invalid, not value_invalid."""
    code = text.strip(_ICD_STRIP).upper().replace(".", "").replace(" ", "")
    return code[:3] + "." + code[3:] if len(code) > 3 else code


def icd_list(text: str) -> list[str]:
    """MA_BENH_KT: codes joined by ';' (a ',' is read too)."""
    out = []
    for part in text.replace(",", ";").split(";"):
        code = icd(part)
        if code:
            out.append(code)
    return out


class Memo:
    """A memoised converter: amounts, rates and times repeat across a file ("0.00", "100", the exam
    fee), and a dict lookup is 20 times cheaper than building a Decimal. Junk is not cached: it
    raises. The decoder reads ``cache`` directly on its hot path."""

    __slots__ = ("conv", "cache")

    def __init__(self, conv: Callable[[str], object]) -> None:
        self.conv = conv
        self.cache: dict[str, object] = {}

    def __call__(self, text: str) -> object:
        value = self.cache.get(text)
        if value is None:
            value = self.conv(text)
            self.remember(text, value)
        return value

    def remember(self, text: str, value: object) -> None:
        if len(self.cache) >= _CACHE_LIMIT:
            self.cache.clear()
        self.cache[text] = value


decimal_c = Memo(decimal)
money_c = Memo(money)
integer_c = Memo(integer)
timestamp_c = Memo(timestamp)


def field_text(fields: dict[str, str | None], name: str) -> str | None:
    """A field of a record as written, trimmed; None when absent or blank."""
    raw = fields.get(name)
    if raw is None:
        return None
    return raw.strip() or None
